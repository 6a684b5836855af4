"""Ranks with one knowledge base while another judges relevance: an embedding model tuned on the team's data
orders the chunks, the home's own knowledge base decides whether anything relevant exists.

`tunedesk tune-embedder` teaches the embedding model to draw a customer's question close to the chunk that
answered it, which orders chunks better (hit@1), but it draws every support-like question close to some
chunk, unanswerable ones too, so its best score no longer tells them apart. The home keeps its own index,
built with the general model, as the judge: the abstention thresholds are calibrated on it and read from it
(`Assistant(judge=...)`), while the answer shows what the ranking index ranks first.

The ranking index is a second home's index built over the same documents. It is used only while it holds
exactly the judge's documents (compared by content, again whenever either commits), so a document added to
the home and not to it is never silently missing from answers: the judge then ranks too. Knows nothing
about settings, files or models.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any, Protocol

log = logging.getLogger(__name__)


class Index(Protocol):
    """What this needs of a knowledge base (`ingest.knowledge_base.KnowledgeBase` is one)."""

    def generation(self) -> int: ...

    def documents(self) -> Sequence[Any]: ...

    def search(self, query: str, k: int) -> Sequence[Any]: ...

    def coverage(self, query: str, hits: Sequence[Any]) -> Any: ...

    def similarity(self, query: str, texts: Sequence[str]) -> Sequence[float]: ...


def same_documents(first: Sequence[Any], second: Sequence[Any]) -> bool:
    """Whether two knowledge bases' document records hold the same contents (wherever each was read from)."""
    return sorted(record.content_hash for record in first) == sorted(record.content_hash for record in second)


class RankedRetrieval:
    """A retriever (see `assistant.engine.Retriever`) that searches `ranking` while it holds `judge`'s
    documents, else `judge`; `judge` is what the assistant's abstention reads."""

    def __init__(self, judge: Index, ranking: Index) -> None:
        self.judge = judge
        self._ranking = ranking
        self._checked: tuple[int, int, bool] | None = None  # (judge generation, ranking generation, agree)

    def ranking_in_use(self) -> bool:
        """Whether searches use the ranking index now: both hold the same documents."""
        generations = (self.judge.generation(), self._ranking.generation())
        if self._checked is None or self._checked[:2] != generations:
            agree = same_documents(self.judge.documents(), self._ranking.documents())
            if not agree:
                log.warning(
                    "the ranking index holds other documents than the knowledge base; the knowledge base "
                    "ranks until both hold the same (ingest the documents into the ranking index's home too)"
                )
            self._checked = (*generations, agree)
        return self._checked[2]

    def _active(self) -> Index:
        return self._ranking if self.ranking_in_use() else self.judge

    def documents(self) -> Sequence[Any]:
        return self.judge.documents()

    def search(self, query: str, k: int) -> Sequence[Any]:
        return self._active().search(query, k)

    def coverage(self, query: str, hits: Sequence[Any]) -> Any:
        return self._active().coverage(query, hits)

    def similarity(self, query: str, texts: Sequence[str]) -> Sequence[float]:
        return self._active().similarity(query, texts)
