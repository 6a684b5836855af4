"""`create_app`: the FastAPI app of the OpenAI-compatible API, wired from ready-made objects.

    GET  /health                 liveness, never needs a key
    GET  /v1/models              the answer modes as models (see models.py), and the embedding model
    POST /v1/chat/completions    answers, whole or streamed (chat.py)
    POST /v1/embeddings          vectors from the knowledge base's embedding model (retrieval.py)
    POST /v1/search              knowledge-base chunks for a query (retrieval.py)
    POST /v1/documents           upload documents into the knowledge base, admin key only (retrieval.py)

Middleware, outermost first: CORS (only when origins are configured), API keys, body size limit.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.middleware.cors import CORSMiddleware

from assistant.api import chat, retrieval
from assistant.api.auth import KeyStore, RequireKey
from assistant.api.errors import install_error_handlers
from assistant.api.limits import LimitBody, WorkLimit
from assistant.api.state import Served, served_of
from assistant.engine import Assistant
from assistant.storage import Storage
from core.settings import APISettings
from ingest.embeddings import Embedder
from ingest.knowledge_base import KnowledgeBase

UPLOAD_PATH = "/v1/documents"


def create_app(
    assistant: Assistant,
    knowledge_base: KnowledgeBase | None,
    storage: Storage | None,
    api_settings: APISettings,
    *,
    keys: KeyStore,
    embedder: Embedder | None,
    upload_dir: Path,
    max_file_bytes: int,
) -> FastAPI:
    """`storage=None` stores nothing; `knowledge_base=None` turns off search and uploads, `embedder=None`
    embeddings. The assistant answers in the rag modes once its retriever has documents (uploads add them)."""
    app = FastAPI(title="Tunedesk", version="1", summary="OpenAI-compatible API of a Tunedesk assistant")
    app.state.served = Served(
        assistant=assistant,
        knowledge_base=knowledge_base,
        embedder=embedder,
        storage=storage if api_settings.store_conversations else None,
        keys=keys,
        limit=WorkLimit(
            concurrent=api_settings.max_concurrent,
            queued=api_settings.max_queued,
            work="generations",
            settings="api.max_concurrent + api.max_queued",
        ),
        # One at a time: the encoder already uses every core for one batch.
        embedding_limit=WorkLimit(
            concurrent=1,
            queued=api_settings.max_queued_embeddings,
            work="embedding requests",
            settings="1 + api.max_queued_embeddings",
        ),
        max_tokens=api_settings.max_tokens,
        max_embedding_inputs=api_settings.max_embedding_inputs,
        upload_dir=upload_dir,
        max_file_bytes=max_file_bytes,
    )
    install_error_handlers(app)
    app.include_router(chat.router)
    app.include_router(retrieval.router)
    app.add_api_route("/health", health, methods=["GET"])
    app.add_api_route("/v1/models", list_models, methods=["GET"])
    # add_middleware wraps: the last added runs first.
    app.add_middleware(
        LimitBody,
        max_bytes=int(api_settings.max_body_mb * 2**20),
        upload_path=UPLOAD_PATH,
        max_upload_bytes=int(api_settings.max_upload_mb * 2**20),
    )
    app.add_middleware(RequireKey, keys=keys)
    if api_settings.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=list(api_settings.cors_origins),
            allow_methods=["GET", "POST"],
            allow_headers=["Authorization", "Content-Type"],
        )
    return app


async def health() -> dict[str, str]:
    return {"status": "ok"}


async def list_models(request: Request) -> dict[str, Any]:
    served = served_of(request)
    created = int(time.time())
    names = served.models() + ([served.embedder.name] if served.embedder else [])
    return {
        "object": "list",
        "data": [
            {"id": name, "object": "model", "created": created, "owned_by": "tunedesk"} for name in names
        ],
    }
