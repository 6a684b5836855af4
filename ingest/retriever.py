"""LangChain adapter: a `BaseRetriever` over a knowledge base, for users who build their own chains.

Tunedesk's own answering code calls `KnowledgeBase.search` directly; this module only translates
search hits into LangChain `Document`s with their citation metadata.
"""

from __future__ import annotations

from typing import Any

from langchain_core.callbacks import CallbackManagerForRetrieverRun
from langchain_core.documents import Document
from langchain_core.retrievers import BaseRetriever
from pydantic import Field

from ingest.knowledge_base import SearchHit


class KnowledgeBaseRetriever(BaseRetriever):
    """`knowledge_base` is anything with `search(query, k) -> list[SearchHit]`, usually a `KnowledgeBase`."""

    knowledge_base: Any
    k: int = Field(5, gt=0)

    def _get_relevant_documents(
        self, query: str, *, run_manager: CallbackManagerForRetrieverRun
    ) -> list[Document]:
        return [to_document(hit) for hit in self.knowledge_base.search(query, self.k)]


def to_document(hit: SearchHit) -> Document:
    metadata = {
        "chunk_id": hit.chunk_id,
        "doc_id": hit.doc_id,
        "source": hit.source,
        "title": hit.title,
        "page": hit.page,
        "score": hit.score,
        "headings": list(hit.headings),
        "start": hit.start,
        "end": hit.end,
    }
    return Document(page_content=hit.text, metadata=metadata, id=str(hit.chunk_id))
