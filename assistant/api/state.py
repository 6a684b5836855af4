"""What the routes share: the engine, knowledge base, storage, keys and limits of one running app.

Built once by `create_app` and kept on `app.state`; routes reach it with `served_of(request)`.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from fastapi import Request

from assistant.api.auth import KeyStore
from assistant.api.limits import WorkLimit
from assistant.api.models import served_models
from assistant.engine import Assistant
from assistant.storage import Storage
from ingest.embeddings import Embedder
from ingest.knowledge_base import KnowledgeBase


@dataclass
class Served:
    assistant: Assistant
    knowledge_base: KnowledgeBase | None  # None: no search, no uploads
    embedder: Embedder | None  # None: no /v1/embeddings
    storage: Storage | None  # None: exchanges are not stored
    keys: KeyStore
    limit: WorkLimit  # generations
    embedding_limit: WorkLimit  # embeddings and searches: the same CPU, so bounded too
    max_tokens: int  # cap on a request's max_tokens
    max_embedding_inputs: int  # texts per /v1/embeddings request
    upload_dir: Path  # where uploaded documents are kept; the knowledge base indexes them there
    max_file_bytes: int  # per uploaded file

    def models(self) -> list[str]:
        return served_models(self.assistant.unavailable, list(self.assistant.generator.adapters))


def served_of(request: Request) -> Served:
    return request.app.state.served
