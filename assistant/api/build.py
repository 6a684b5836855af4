"""`build_app`: the API app from settings (the only place in assistant/api/ that reads them)."""

from __future__ import annotations

from fastapi import FastAPI

from assistant.api.app import create_app
from assistant.api.auth import KeyStore
from assistant.builders import build_assistant, build_embedder, open_knowledge_base, open_storage
from core.settings import Settings


def open_key_store(settings: Settings) -> KeyStore:
    return KeyStore(settings.layout.api_keys_file)


def build_app(settings: Settings) -> FastAPI:
    """Loads the model and the embedding model once; the knowledge base is shared by search, uploads and rag."""
    embedder = build_embedder(settings)
    knowledge_base = open_knowledge_base(settings, embedder=embedder)
    assistant = build_assistant(settings, knowledge_base=knowledge_base, embedder=embedder)
    return create_app(
        assistant,
        knowledge_base,
        open_storage(settings),
        settings.api,
        keys=open_key_store(settings),
        embedder=embedder,
        upload_dir=settings.layout.uploads,
        max_file_bytes=int(settings.ingest.max_file_mb * 2**20),
    )
