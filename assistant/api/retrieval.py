"""`/v1/embeddings` (the knowledge base's embedding model), `/v1/search` (chunks, best first) and
`/v1/documents` (multipart upload into the knowledge base; needs an admin key, see auth.py).

Embeddings and searches run the embedding model one request at a time behind a bounded queue (429 when
full), and an embeddings request carries at most `api.max_embedding_inputs` texts (400 above it).

Uploads go through the same checks as the app's (safe relative names, supported types, size limit), are
kept under the uploads folder and ingested one file at a time: one bad file never stops the rest.
Model work runs in worker threads so the event loop keeps serving.
"""

from __future__ import annotations

import base64
from dataclasses import asdict
from typing import Any

from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile

from assistant.api.auth import require_admin
from assistant.api.errors import APIError
from assistant.api.schemas import EmbeddingRequest, SearchRequest
from assistant.api.state import Served, served_of
from ingest.embeddings import Embedder
from ingest.knowledge_base import KnowledgeBase, KnowledgeBaseError
from ingest.uploads import FileResult, Upload, ingest_uploads

router = APIRouter()
MAX_UPLOAD_FILES = 100


@router.post("/v1/embeddings")
async def embeddings(body: EmbeddingRequest, request: Request) -> dict[str, Any]:
    served = served_of(request)
    embedder = served.embedder
    if embedder is None:
        raise APIError(
            404, "this server has no embedding model loaded", param="model", code="model_not_found"
        )
    if body.model != embedder.name:
        raise APIError(
            404,
            f"embedding model {body.model!r} is not served; use {embedder.name!r} (the knowledge base's model)",
            param="model",
            code="model_not_found",
        )
    texts = body.texts()
    cap = served.max_embedding_inputs
    if len(texts) > cap:
        raise APIError(
            400,
            f"input: {len(texts)} texts, more than the {cap} one request may embed "
            f"(api.max_embedding_inputs); send them in batches of at most {cap}",
            param="input",
            code="too_many_inputs",
        )
    async with served.embedding_limit.slot():
        vectors, tokens = await run_in_threadpool(_embed, embedder, texts)
    data = [
        {"object": "embedding", "index": index, "embedding": _encoded(vector, body.encoding_format)}
        for index, vector in enumerate(vectors)
    ]
    return {
        "object": "list",
        "data": data,
        "model": embedder.name,
        "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
    }


@router.post("/v1/search")
async def search(body: SearchRequest, request: Request) -> dict[str, Any]:
    """Tunedesk extension: the k chunks closest to `query`, as the rag modes retrieve them."""
    served = served_of(request)
    knowledge_base = _knowledge_base(served)
    try:
        async with served.embedding_limit.slot():
            hits = await run_in_threadpool(knowledge_base.search, body.query, body.k)
    except KnowledgeBaseError as error:
        raise APIError(500, str(error), code="knowledge_base_error") from None
    return {"object": "list", "data": [{"object": "search.hit", **asdict(hit)} for hit in hits]}


@router.post("/v1/documents")
async def upload_documents(request: Request) -> dict[str, Any]:
    """Tunedesk extension: multipart form with one or more `file` fields; one result per file."""
    served = served_of(request)
    refusal = require_admin(served.keys, request.scope)
    if refusal:
        raise APIError(403, refusal, code="admin_key_required")
    knowledge_base = _knowledge_base(served)
    if not request.headers.get("content-type", "").startswith("multipart/form-data"):
        raise APIError(400, "send the documents as multipart/form-data with `file` fields", param="file")
    async with request.form(max_files=MAX_UPLOAD_FILES, max_fields=MAX_UPLOAD_FILES) as form:
        files = [item for item in form.getlist("file") if isinstance(item, UploadFile)]
        if not files:
            raise APIError(400, "no `file` field in the form; attach the documents as `file`", param="file")
        uploads = [Upload(item.filename or "", await item.read()) for item in files]
    results = await run_in_threadpool(_ingest, served, knowledge_base, uploads)
    return {"object": "list", "data": [asdict(result) for result in results]}


def _knowledge_base(served: Served) -> KnowledgeBase:
    if served.knowledge_base is None:
        raise APIError(404, "this server has no knowledge base opened", code="knowledge_base_missing")
    return served.knowledge_base


def _embed(embedder: Embedder, texts: list[str]) -> tuple[Any, int]:
    tokens = sum(min(len(ids), embedder.max_tokens) for ids in embedder.tokenizer(texts)["input_ids"])
    return embedder.encode(texts), tokens


def _encoded(vector: Any, encoding_format: str) -> list[float] | str:
    """float32 values as a list, or OpenAI's base64 of the little-endian float32 bytes."""
    if encoding_format == "base64":
        return base64.b64encode(vector.astype("<f4").tobytes()).decode("ascii")
    return [float(value) for value in vector]


def _ingest(served: Served, knowledge_base: KnowledgeBase, uploads: list[Upload]) -> list[FileResult]:
    # The assistant searches this knowledge base, so the rag modes run as soon as it has documents.
    return ingest_uploads(knowledge_base, uploads, served.upload_dir, max_bytes=served.max_file_bytes)
