"""Builders: the only place where settings turn into objects. Classes below take flat, typed parameters."""

from __future__ import annotations

from typing import TYPE_CHECKING

from assistant.calibration import CALIBRATION_FILE, read_threshold
from assistant.device import resolve_device
from assistant.engine import Assistant
from assistant.settings import Settings
from assistant.storage import Storage
from ingest.embeddings import Embedder, SentenceTransformerEmbedder
from ingest.knowledge_base import KnowledgeBase
from ingest.retriever import KnowledgeBaseRetriever

if TYPE_CHECKING:  # torch and transformers load only when a generator is built
    from assistant.generation import Generator
    from finetune.adapters import AdapterInfo


def build_embedder(settings: Settings) -> Embedder:
    device = resolve_device(settings.device)
    return SentenceTransformerEmbedder(
        settings.embedding.model,
        device=device.name,
        dtype=device.dtype,
        batch_size=settings.embedding.batch_size,
    )


def open_knowledge_base(
    settings: Settings, *, embedder: Embedder | None = None, with_model: bool = True
) -> KnowledgeBase:
    """The knowledge base in `settings.index_dir`; `with_model=False` skips loading the embedding model
    (enough to list and remove documents)."""
    if embedder is None and with_model:
        embedder = build_embedder(settings)
    return KnowledgeBase(
        settings.index_dir,
        embedder,
        chunk_tokens=settings.chunking.chunk_tokens,
        overlap_tokens=settings.chunking.overlap_tokens,
        max_file_bytes=int(settings.ingest.max_file_mb * 2**20),
        parse_timeout_s=settings.ingest.parse_timeout_s,
        lock_timeout_s=settings.ingest.lock_timeout_s,
    )


def build_retriever(settings: Settings, *, k: int = 5) -> KnowledgeBaseRetriever:
    return KnowledgeBaseRetriever(knowledge_base=open_knowledge_base(settings), k=k)


# --- Assistant engine: generator, assistant facade, conversation storage -------------------------------


def peft_adapters(settings: Settings) -> list[AdapterInfo]:
    """The adapters a tuned mode can switch to; full fine-tunes are whole models, not adapters."""
    from finetune.adapters import list_adapters

    return [info for info in list_adapters(settings.adapters_dir) if info.method != "full"]


def default_adapter(settings: Settings) -> str | None:
    """The configured adapter, else the most recently trained one, else None."""
    if settings.assistant.adapter:
        return settings.assistant.adapter
    adapters = sorted(peft_adapters(settings), key=lambda info: info.created)
    return adapters[-1].name if adapters else None


def build_generator(settings: Settings) -> Generator:
    """The local model (base once, adapters loaded on first use) or an OpenAI-compatible server."""
    adapters = {info.name: info.path for info in peft_adapters(settings)}
    generation = settings.generation
    options = {
        "max_new_tokens": generation.max_new_tokens,
        "temperature": generation.temperature,
        "top_p": generation.top_p,
        "repetition_penalty": generation.repetition_penalty,
    }
    match settings.assistant.backend:
        case "transformers":
            from assistant.generation import TransformersGenerator
            from finetune.base_model import load_base_model, load_tokenizer

            device = resolve_device(settings.device)
            model = load_base_model(settings.model.base, settings.models_dir, device)
            tokenizer = load_tokenizer(settings.model.base, settings.models_dir)
            return TransformersGenerator(model, tokenizer, adapters=adapters, **options)
        case "http":
            from assistant.http_generator import HttpGenerator

            return HttpGenerator(
                settings.assistant.http_base_url,
                model=settings.assistant.http_model or settings.model.base,
                adapters=sorted(adapters),
                api_key=settings.assistant.http_api_key,
                timeout_s=settings.assistant.http_timeout_s,
                **options,
            )


def abstention_threshold(settings: Settings) -> float:
    """The threshold `tunedesk calibrate` wrote into the home, else the `assistant.min_score` setting."""
    calibrated = read_threshold(settings.home / CALIBRATION_FILE)
    return settings.assistant.min_score if calibrated is None else calibrated


def build_assistant(
    settings: Settings, *, generator: Generator | None = None, retrieval: bool = True
) -> Assistant:
    """The facade; `retrieval=False` skips the knowledge base (and its embedding model) for base/tuned only.
    An empty knowledge base gives an assistant without a retriever, which refuses the rag modes."""
    retriever = None
    if retrieval:
        with open_knowledge_base(settings, with_model=False) as listing:
            has_documents = bool(listing.documents())
        retriever = open_knowledge_base(settings) if has_documents else None
    options = settings.assistant
    return Assistant(
        generator or build_generator(settings),
        retriever,
        top_k=options.top_k,
        min_score=abstention_threshold(settings),
        context_tokens=options.context_tokens,
        max_new_tokens=settings.generation.max_new_tokens,
        history_turns=options.history_turns,
        domain=options.domain,
        abstain_message=options.abstain_message,
        default_adapter=default_adapter(settings),
    )


def open_storage(settings: Settings) -> Storage:
    return Storage(settings.assistant.database or settings.home / "chat.sqlite3")
