"""The one place the app builds heavy objects: each is built once per process with `st.cache_resource`
and shared by every session. Only objects without per-user data live here (models, the index, the
database handle, which opens a connection per call); per-user state lives in `ui.state`.

Settings come from the environment (`tunedesk ui` passes --home/--device/--config through it) and
are read again on every run, which is cheap; the caches are keyed by the settings' JSON.
"""

from __future__ import annotations

import streamlit as st

from assistant.adapter_choice import switchable
from assistant.builders import (
    build_assistant,
    build_embedder,
    build_examples,
    build_generator,
    default_adapter,
    fewshot_store_version,
    fewshot_unavailable,
    has_documents,
    open_knowledge_base,
    open_ranking_index,
    open_storage,
)
from assistant.engine import Assistant
from assistant.fewshot_store import ExamplesOnFirstUse
from assistant.generation import Generator
from assistant.ranked_retrieval import same_documents
from assistant.storage import Storage
from core.settings import Settings, SettingsError, load_settings
from finetune.adapters import AdapterInfo, list_adapters
from ingest.embeddings import Embedder
from ingest.knowledge_base import KnowledgeBase, KnowledgeBaseError
from ui.modes import ModeCheck
from ui.training_runs import list_runs


def settings() -> Settings:
    """This process's settings; a bad setting stops the page with the one-line error."""
    try:
        return load_settings()
    except SettingsError as error:
        st.error(f"Settings problem: {error}")
        st.stop()


def _key(current: Settings) -> str:
    return current.model_dump_json()


@st.cache_resource(show_spinner="Loading the language model…")
def _generator(key: str, adapter_names: tuple[str, ...], _settings: Settings) -> Generator:
    # Keyed by the adapter names too: a newly trained adapter needs a generator that knows it.
    return build_generator(_settings)


@st.cache_resource(show_spinner="Loading the embedding model…")
def _embedder(key: str, _settings: Settings) -> Embedder:
    return build_embedder(_settings)


@st.cache_resource(show_spinner=False)
def _knowledge_base(key: str, _settings: Settings) -> KnowledgeBase:
    return open_knowledge_base(_settings, embedder=_embedder(key, _settings))


@st.cache_resource(show_spinner=False)
def _examples(key: str, store: str | None, _settings: Settings) -> ExamplesOnFirstUse | None:
    # Opened on the first fewshot answer, then kept for every session; keyed by the store's version too,
    # so a store built by `tunedesk fewshot-index` while the app runs is used at once.
    return build_examples(_settings, embedder=_embedder(key, _settings))


@st.cache_resource(show_spinner=False)
def _storage(key: str, _settings: Settings) -> Storage:
    return open_storage(_settings)


def knowledge_base(current: Settings) -> KnowledgeBase:
    return _knowledge_base(_key(current), current)


@st.cache_resource(show_spinner="Loading the ranking index…")
def _ranking_index(key: str, _settings: Settings) -> KnowledgeBase | None:
    return open_ranking_index(_settings)


def ranking_index(current: Settings) -> KnowledgeBase:
    """The ranking index (`retrieval.ranking_index`); only asked for once `ranking_index_in_use` said True."""
    ranking = _ranking_index(_key(current), current)
    if ranking is None:
        raise KnowledgeBaseError("retrieval.ranking_index is not set")
    return ranking


def ranking_index_in_use(current: Settings) -> bool | None:
    """Whether the ranking index (`retrieval.ranking_index`) orders answers now: True while it holds the
    knowledge base's documents, False while it holds others, None without one."""
    ranking = _ranking_index(_key(current), current)
    if ranking is None:
        return None
    return same_documents(knowledge_base(current).documents(), ranking.documents())


def storage(current: Settings) -> Storage:
    return _storage(_key(current), current)


def adapters(current: Settings) -> list[AdapterInfo]:
    return list_adapters(current.adapters_dir)


def chosen_adapter(current: Settings) -> str | None:
    """The adapter tuned modes use now (the rule in assistant/adapter_choice.py)."""
    return default_adapter(current)


def mode_check(current: Settings) -> ModeCheck:
    """What decides which modes the app offers now: adapter, documents, a training run in progress."""
    adapter = chosen_adapter(current)
    return ModeCheck(
        adapter,
        [info.name for info in switchable(adapters(current))],
        has_documents(current),
        None if adapter else training_in_progress(current),
        fewshot_problem(current) is None,
    )


def training_in_progress(current: Settings) -> str | None:
    """The adapter a run in this home is training now, with its step (e.g. "support (step 3 of 24)"), or None."""
    for run in list_runs(current.layout.training):
        if run.active:
            step = f"step {run.step} of {run.max_steps}" if run.max_steps else run.status
            return f"**{run.name}** ({step})"
    return None


def fewshot_problem(current: Settings) -> str | None:
    """Why the fewshot modes cannot run (no example exchanges), or None."""
    return fewshot_unavailable(current)


def assistant(current: Settings) -> Assistant:
    """The answering facade over the cached model and index; itself cheap, so built per run, which picks up
    a newly chosen adapter. The shared knowledge base (and its embedding model) instead of a second copy per
    build; it reloads its index when documents change, so new uploads are searchable at once. An empty one
    is left out, so that the embedding model loads only when there is something to search."""
    names = tuple(info.name for info in adapters(current))
    searchable = has_documents(current)
    try:
        ranking = _ranking_index(_key(current), current) if searchable else None
    except KnowledgeBaseError as error:  # a configuration error: say it in one line and stop the page
        st.error(str(error))
        st.stop()
    return build_assistant(
        current,
        generator=_generator(_key(current), names, current),
        knowledge_base=knowledge_base(current) if searchable else None,
        ranking=ranking,
        retrieval=False,
        examples=_examples(_key(current), fewshot_store_version(current), current),
    )
