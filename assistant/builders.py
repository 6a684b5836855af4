"""Builders: the only place where settings turn into objects. Classes below take flat, typed parameters."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

from assistant.calibration import CALIBRATION_FILE, read_threshold
from assistant.engine import Assistant
from assistant.storage import Storage
from core.device import resolve_device
from core.settings import Settings
from ingest.embeddings import Embedder, SentenceTransformerEmbedder
from ingest.knowledge_base import KnowledgeBase
from ingest.retriever import KnowledgeBaseRetriever

if TYPE_CHECKING:  # torch and transformers load only when a generator is built
    from assistant.generation import Generator
    from finetune.adapters import AdapterInfo
    from finetune.raft import RaftContext


def build_embedder(settings: Settings) -> Embedder:
    device = resolve_device(settings.device)
    return SentenceTransformerEmbedder(
        settings.embedding.model,
        device=device.name,
        dtype=device.dtype,
        batch_size=settings.embedding.batch_size,
    )


def open_knowledge_base(
    settings: Settings, *, embedder: Embedder | None = None, with_model: bool = True, read_only: bool = False
) -> KnowledgeBase:
    """The knowledge base in `settings.index_dir`; `with_model=False` skips loading the embedding model
    (enough to list and remove documents); `read_only=True` writes nothing (works on read-only storage)."""
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
        commit_every=settings.ingest.commit_every,
        read_only=read_only,
        retrieval=settings.retrieval.mode,
        candidates=settings.retrieval.candidates,
        duplicate_similarity=settings.retrieval.duplicate_similarity,
    )


def has_documents(settings: Settings) -> bool:
    """Whether the knowledge base holds any document (without loading the embedding model)."""
    with open_knowledge_base(settings, with_model=False) as listing:
        return bool(listing.documents())


def build_training_context(settings: Settings) -> RaftContext:
    """The knowledge base and the tuned+rag prompt that `tunedesk train --context rag` builds examples from.
    The caller calls `context.close()` when training is done."""
    from assistant.training_prompt import AnswerTimePrompt
    from finetune.batched_search import BatchedSearch, RememberingEmbedder
    from finetune.raft import RaftContext

    embedder = RememberingEmbedder(build_embedder(settings))
    knowledge_base = open_knowledge_base(settings, embedder=embedder)
    options = settings.assistant

    def prompt_format(tokenizer) -> AnswerTimePrompt:
        return AnswerTimePrompt(
            tokenizer,
            context_tokens=options.context_tokens,
            max_new_tokens=settings.generation.max_new_tokens,
            history_turns=options.history_turns,
            domain=options.domain,
        )

    return RaftContext(
        BatchedSearch(knowledge_base.search, embedder),
        prompt_format,
        knowledge_base.generation(),
        embedder.name,
        close=knowledge_base.close,
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


def gguf_base_model(settings: Settings) -> Path | None:
    """The base model as one GGUF file (the packaged model, or a `.gguf` path), else None."""
    from finetune.base_model import PACKAGED_MODELS, packaged_gguf

    base = settings.model.base
    if base in PACKAGED_MODELS:
        return packaged_gguf(base)
    path = Path(base).expanduser()
    return path if path.suffix == ".gguf" else None


def generation_backend(settings: Settings) -> str:
    """The backend `auto` stands for: llama.cpp on the CPU for a GGUF base model, else transformers."""
    backend = settings.generation.backend
    if backend != "auto":
        return backend
    on_cpu = resolve_device(settings.device).name == "cpu"
    return "llama_cpp" if on_cpu and gguf_base_model(settings) is not None else "transformers"


def build_generator(settings: Settings) -> Generator:
    """llama.cpp on the GGUF base (adapters found again while running), the transformers model (adapters
    loaded on first use), or an OpenAI-compatible server."""
    generation = settings.generation
    options = {
        "max_new_tokens": generation.max_new_tokens,
        "temperature": generation.temperature,
        "top_p": generation.top_p,
        "repetition_penalty": generation.repetition_penalty,
    }
    match generation_backend(settings):
        case "llama_cpp":
            from assistant.generation import GenerationError
            from assistant.llama_cpp_generator import LlamaCppGenerator
            from finetune.gguf_lora import GGUF_NAME

            model_path = gguf_base_model(settings)
            if model_path is None:
                raise GenerationError(
                    f"generation.backend = llama_cpp needs a GGUF base model; model.base "
                    f"{settings.model.base!r} is not one: set generation.backend = transformers"
                )
            from assistant.routed_generator import RoutedGenerator
            from finetune.methods import runs_on_llama_cpp

            llama_cpp = LlamaCppGenerator(
                model_path,
                find_adapters=lambda: {
                    info.name: info.path / GGUF_NAME
                    for info in peft_adapters(settings)
                    if runs_on_llama_cpp(info.method)
                },
                threads=generation.threads or os.cpu_count() or 1,
                slots=generation.slots,
                context_tokens=settings.assistant.context_tokens,
                **options,
            )
            # Adapters of other methods (DoRA, IA3, prefix, prompt tuning) are answered by transformers.
            return RoutedGenerator(
                llama_cpp,
                find_fallback=lambda: {
                    info.name: info.method
                    for info in peft_adapters(settings)
                    if not runs_on_llama_cpp(info.method)
                },
                build_fallback=lambda: _transformers_generator(settings, options),
            )
        case "transformers":
            return _transformers_generator(settings, options)
        case "http":
            from assistant.http_generator import HttpGenerator

            return HttpGenerator(
                settings.assistant.http_base_url,
                model=settings.assistant.http_model or settings.model.base,
                adapters=sorted(info.name for info in peft_adapters(settings)),
                api_key=settings.assistant.http_api_key,
                timeout_s=settings.assistant.http_timeout_s,
                **options,
            )


def _transformers_generator(settings: Settings, options: dict) -> Generator:
    from assistant.generation import TransformersGenerator
    from finetune.base_model import load_base_model, load_tokenizer

    adapters = {info.name: info.path for info in peft_adapters(settings)}
    device = resolve_device(settings.device)
    model = load_base_model(settings.model.base, settings.models_dir, device)
    tokenizer = load_tokenizer(settings.model.base, settings.models_dir)
    return TransformersGenerator(model, tokenizer, adapters=adapters, **options)


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
    if retrieval and has_documents(settings):
        retriever = open_knowledge_base(settings)
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
