"""Builders: the only place where settings turn into objects. Classes below take flat, typed parameters."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from assistant.abstention import Thresholds
from assistant.adapter_choice import choose_adapter, stored_choice, switchable
from assistant.answer import Mode, uses_examples, uses_retrieval
from assistant.availability import no_examples, unavailable
from assistant.calibration import read_precedent_threshold, read_thresholds
from assistant.engine import Assistant, AssistantError
from assistant.fewshot_store import (
    ExamplesOnFirstUse,
    ExampleStore,
    ExampleStoreError,
    StoreManifest,
    build_store,
    read_manifest,
)
from assistant.ranked_retrieval import RankedRetrieval
from assistant.storage import Storage
from core.device import resolve_device
from core.settings import Settings, override
from ingest.embeddings import Embedder, SentenceTransformerEmbedder
from ingest.knowledge_base import KnowledgeBase, KnowledgeBaseError
from ingest.manifest import load_manifest

if TYPE_CHECKING:  # torch and transformers load only when a generator is built
    from assistant.generation import Generator
    from assistant.training_prompt import AnswerTimePrompt
    from finetune.adapters import AdapterInfo
    from finetune.formats import Problem
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
    settings: Settings,
    *,
    embedder: Embedder | None = None,
    with_model: bool = True,
    read_only: bool = False,
    directory: Path | None = None,
) -> KnowledgeBase:
    """The knowledge base in `settings.index_dir` (or `directory`); `with_model=False` skips loading the
    embedding model (enough to list and remove documents); `read_only=True` writes nothing (works on
    read-only storage)."""
    if embedder is None and with_model:
        embedder = build_embedder(settings)
    return KnowledgeBase(
        directory or settings.index_dir,
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
        max_chunks_per_document=settings.retrieval.max_chunks_per_document,
    )


def open_ranking_index(settings: Settings) -> KnowledgeBase | None:
    """The index `retrieval.ranking_index` names, read-only, with the embedding model it was built with;
    None when the setting is empty."""
    folder = settings.retrieval.ranking_index
    if folder is None:
        return None
    manifest = load_manifest(folder)
    if manifest is None:
        raise KnowledgeBaseError(
            f"retrieval.ranking_index {folder}: no index there; ingest the documents into another --home "
            "with the tuned embedding model and give that home's index folder"
        )
    tuned = override(settings, **{"embedding.model": manifest.embedding_model})
    return open_knowledge_base(tuned, read_only=True, directory=folder)


def has_documents(settings: Settings) -> bool:
    """Whether the knowledge base holds any document (without loading the embedding model)."""
    with open_knowledge_base(settings, with_model=False) as listing:
        return bool(listing.documents())


def build_training_context(settings: Settings) -> RaftContext:
    """The knowledge base and the tuned+rag prompt that `tunedesk train --context rag` builds examples from.
    The caller calls `context.close()` when training is done."""
    from finetune.batched_search import BatchedSearch, RememberingEmbedder
    from finetune.raft import RaftContext

    embedder = RememberingEmbedder(build_embedder(settings))
    knowledge_base = open_knowledge_base(settings, embedder=embedder)

    def prompt_format(tokenizer) -> AnswerTimePrompt:
        return answer_time_prompt(settings, tokenizer)

    return RaftContext(
        BatchedSearch(knowledge_base.search, embedder),
        prompt_format,
        knowledge_base.generation(),
        embedder.name,
        close=knowledge_base.close,
    )


# --- Assistant engine: generator, assistant facade, conversation storage -------------------------------


def peft_adapters(settings: Settings) -> list[AdapterInfo]:
    """The adapters a tuned mode can switch to; full fine-tunes are whole models, not adapters."""
    from finetune.adapters import list_adapters

    return switchable(list_adapters(settings.adapters_dir))


def default_adapter(settings: Settings) -> str | None:
    """The adapter tuned modes use when a question names none, by the one rule of adapter_choice.py."""
    from finetune.adapters import list_adapters

    return choose_adapter(
        list_adapters(settings.adapters_dir),
        configured=settings.assistant.adapter,
        active=stored_choice(settings.layout.active_adapter_file),
    )


def unavailable_reason(settings: Settings, mode: Mode) -> str | None:
    """Why `mode` cannot run with these settings (availability.py, in the CLI's words), found without
    loading a model; None when it can."""
    if uses_examples(mode) and fewshot_unavailable(settings):
        return no_examples(mode)
    return unavailable(
        mode,
        adapter=default_adapter(settings),
        adapters=[info.name for info in peft_adapters(settings)],
        has_documents=uses_retrieval(mode) and has_documents(settings),  # only then worth opening the index
    )


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


def abstention_thresholds(settings: Settings) -> Thresholds:
    """The thresholds `tunedesk calibrate` wrote into the home, else the `assistant.min_score` and
    `assistant.min_coverage` settings."""
    calibrated = read_thresholds(settings.layout.calibration_file)
    options = settings.assistant
    return Thresholds(options.min_score, options.min_coverage) if calibrated is None else calibrated


def build_assistant(
    settings: Settings,
    *,
    generator: Generator | None = None,
    knowledge_base: KnowledgeBase | None = None,
    retrieval: bool = True,
    held_out: Sequence[str] = (),
    embedder: Embedder | None = None,
    examples: ExamplesOnFirstUse | None = None,
    ranking: KnowledgeBase | None = None,
) -> Assistant:
    """The facade, complete: the generator, the retriever and the adapter tuned modes use (the rule in
    adapter_choice.py), for the CLI, the API and the app alike.

    `generator` and `knowledge_base` hand in objects the caller already holds (the app's cached ones, the
    API's shared knowledge base); a knowledge base handed in is the retriever even while it is empty, and the
    rag modes run once it has documents. Without one, the home's knowledge base is opened when it has
    documents; `retrieval=False` skips it (and its embedding model) for base/tuned only. The fewshot modes'
    examples load on first use (with `embedder` when given, to share one model; `examples` hands in the
    caller's cached ones); `held_out` questions (an evaluation's) are never shown. With
    `retrieval.ranking_index` set, that index orders the chunks and the knowledge base judges relevance
    (assistant/ranked_retrieval.py); `ranking` hands in the caller's cached copy of it."""
    if knowledge_base is None and retrieval and has_documents(settings):
        knowledge_base = open_knowledge_base(settings)
    if knowledge_base is None:
        ranking = None
    elif ranking is None:
        ranking = open_ranking_index(settings)
    options = settings.assistant
    thresholds = abstention_thresholds(settings)
    return Assistant(
        generator or build_generator(settings),
        knowledge_base if ranking is None else RankedRetrieval(knowledge_base, ranking),
        top_k=options.top_k,
        min_score=thresholds.score,
        min_coverage=thresholds.coverage,
        context_tokens=options.context_tokens,
        max_new_tokens=settings.generation.max_new_tokens,
        history_turns=options.history_turns,
        domain=options.domain,
        abstain_message=options.abstain_message,
        unconfirmed_message=options.unconfirmed_message,
        default_adapter=default_adapter(settings),
        flag_invented_figures=options.flag_invented_figures,
        flag_contradictions=options.flag_contradictions,
        quote_sentences=options.quote_sentences,
        precedent_min_similarity=precedent_threshold(settings),
        examples=examples or build_examples(settings, embedder=embedder, held_out=held_out),
        fewshot_k=options.fewshot_k,
        judge=None if ranking is None else knowledge_base,
    )


def precedent_threshold(settings: Settings) -> float | None:
    """The similarity a past exchange needs to be shown under an answer: the one `tunedesk calibrate` wrote
    into the home, else `assistant.precedent_min_similarity`; None when none is ever shown (off, or no example
    store to pick from: the tuned modes work without one)."""
    options = settings.assistant
    if not options.show_precedent or fewshot_unavailable(settings) is not None:
        return None
    calibrated = read_precedent_threshold(settings.layout.calibration_file)
    return options.precedent_min_similarity if calibrated is None else calibrated


# --- Fewshot examples: exchanges from the transcripts, cached in <home>/fewshot -----------------------


def fewshot_unavailable(settings: Settings) -> str | None:
    """Why the fewshot modes cannot run (checked without loading anything); None when they can."""
    data = settings.assistant.fewshot_data
    if data is not None and Path(data).exists():
        return None  # a missing or unusable store is rebuilt from it
    try:
        if read_manifest(settings.fewshot_dir) is not None:
            return None
    except ExampleStoreError as error:
        return str(error)
    where = f"assistant.fewshot_data {data} does not exist" if data else "assistant.fewshot_data is not set"
    return (
        f"the fewshot modes need example exchanges: {settings.fewshot_dir} has none and {where}; "
        "build them with `tunedesk fewshot-index TRANSCRIPTS`"
    )


def build_example_store(
    settings: Settings, paths: Sequence[Path], *, embedder: Embedder | None = None
) -> tuple[StoreManifest, list[Problem], int]:
    """Build <home>/fewshot from the transcripts under `paths`, replacing the old store. Returns its manifest,
    the lines that could not be read, and how many exchanges resemble an evaluation question (never shown)."""
    from assistant.fewshot_exchanges import exchanges_of, held_out
    from finetune.eval_leaks import questions_at
    from finetune.formats import load_all

    conversations, problems = load_all(paths)
    data = settings.data
    exchanges = exchanges_of(
        conversations,
        scrub_pii=data.scrub_pii,
        pii_keep=frozenset(data.pii_keep),
        pii_ner_model=data.pii_ner_model,
        near_duplicate_threshold=data.near_duplicate_threshold,
    )
    excluded = held_out(exchanges, questions_at(data.eval_questions), data.eval_leak_threshold)
    manifest = build_store(
        settings.fewshot_dir,
        exchanges,
        embedder or build_embedder(settings),
        sources=[str(path) for path in paths],
    )
    return manifest, problems, len(excluded)


def build_examples(
    settings: Settings, *, embedder: Embedder | None = None, held_out: Sequence[str] = ()
) -> ExamplesOnFirstUse | None:
    """The fewshot modes' examples, opened on first use (built from assistant.fewshot_data when the home has
    none, or when they were embedded with another model); None when there are none to be had. Exchanges
    resembling `held_out` or data.eval_questions are never picked."""
    if fewshot_unavailable(settings) is not None:
        return None

    def open_store() -> ExampleStore:
        from finetune.eval_leaks import EvalQuestionsError, questions_at

        model = embedder or build_embedder(settings)
        data = settings.assistant.fewshot_data
        try:
            if data is not None and Path(data).exists() and not _store_matches(settings, model.name):
                build_example_store(settings, [Path(data)], embedder=model)
            questions = [*questions_at(settings.data.eval_questions), *held_out]
            return ExampleStore.open(
                settings.fewshot_dir,
                model,
                held_out_questions=questions,
                leak_threshold=settings.data.eval_leak_threshold,
            )
        except (ExampleStoreError, EvalQuestionsError) as error:
            raise AssistantError(str(error)) from None

    return ExamplesOnFirstUse(open_store)


def fewshot_store_version(settings: Settings) -> str | None:
    """What the store in the home holds (its data hash), None when there is none or it is unreadable: a
    long-lived process keyed by it picks up a store built or rebuilt after it started."""
    try:
        manifest = read_manifest(settings.fewshot_dir)
    except ExampleStoreError:
        return None
    return manifest.data_hash if manifest else None


def _store_matches(settings: Settings, embedding_model: str) -> bool:
    """Whether the home holds a readable store embedded with `embedding_model`."""
    try:
        manifest = read_manifest(settings.fewshot_dir)
    except ExampleStoreError:
        return False
    return manifest is not None and manifest.embedding_model == embedding_model


def open_storage(settings: Settings) -> Storage:
    return Storage(settings.assistant.database or settings.layout.chat_database)


def answer_time_prompt(settings: Settings, tokenizer) -> AnswerTimePrompt:
    """The prompt the engine builds at answer time (budget, domain, history), for building training examples."""
    from assistant.training_prompt import AnswerTimePrompt

    options = settings.assistant
    return AnswerTimePrompt(
        tokenizer,
        context_tokens=options.context_tokens,
        max_new_tokens=settings.generation.max_new_tokens,
        history_turns=options.history_turns,
        domain=options.domain,
    )
