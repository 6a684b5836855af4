"""`build_assistant` builds the facade complete: retriever and adapter are set at build time, by the one
builder, and cannot be patched from outside afterwards."""

from __future__ import annotations

import shutil

import pytest

from assistant.adapter_choice import store_choice
from assistant.builders import build_assistant
from assistant.engine import AssistantError
from core.settings import load_settings
from ingest.knowledge_base import KnowledgeBase

QUESTION = "How many days do I have to return a router for a full refund?"


@pytest.fixture
def home(tmp_path, adapters_dir):
    home = tmp_path / "home"
    shutil.copytree(adapters_dir, home / "adapters")
    return home


def test_the_built_assistant_has_its_retriever_and_adapter(home, generator, knowledge_base):
    settings = load_settings(home=home, device="cpu")
    store_choice(settings.layout.active_adapter_file, "alpha")  # the older one, chosen in the app
    assistant = build_assistant(settings, generator=generator, knowledge_base=knowledge_base)
    assert assistant.retriever is knowledge_base and assistant.has_documents()
    assert assistant.default_adapter == "alpha"
    assert assistant.answer(QUESTION, mode="tuned+rag").adapter == "alpha"
    for name, value in (("retriever", None), ("default_adapter", "beta")):
        with pytest.raises(AttributeError):
            setattr(assistant, name, value)


def test_an_empty_home_gives_no_retriever_and_the_newest_adapter(home, generator):
    assistant = build_assistant(load_settings(home=home, device="cpu"), generator=generator)
    assert assistant.retriever is None and not assistant.has_documents()
    assert assistant.default_adapter == "beta"
    with pytest.raises(AssistantError, match="tunedesk ingest"):
        assistant.answer(QUESTION, mode="rag")


def test_a_knowledge_base_handed_in_empty_serves_the_rag_modes_once_it_has_documents(
    home, tmp_path, generator, hashing_embedder, documents
):
    knowledge_base = KnowledgeBase(tmp_path / "index", hashing_embedder)
    assistant = build_assistant(
        load_settings(home=home, device="cpu", **{"assistant.min_score": 0.2}),
        generator=generator,
        knowledge_base=knowledge_base,
    )
    with pytest.raises(AssistantError, match="tunedesk ingest"):
        assistant.answer(QUESTION, mode="rag")
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "returns.md").write_text(documents["returns.md"], encoding="utf-8")
    assert not knowledge_base.ingest([docs]).failed
    answer = assistant.answer(QUESTION, mode="rag")
    assert answer.sources and answer.sources[0].title == "Returns policy"
    knowledge_base.close()


def test_a_ranking_index_ranks_and_the_homes_knowledge_base_judges(full_home, ingested_home, generator):
    from assistant.ranked_retrieval import RankedRetrieval

    settings = load_settings(
        home=full_home, device="cpu", **{"retrieval.ranking_index": ingested_home / "index"}
    )
    assistant = build_assistant(settings, generator=generator)
    assert isinstance(assistant.retriever, RankedRetrieval) and assistant.retriever.ranking_in_use()
    assert assistant.retriever.judge.directory == settings.index_dir
    assert assistant.answer(QUESTION, mode="rag").sources


def test_a_ranking_index_that_is_not_there_is_a_clear_error(home, tmp_path, generator, knowledge_base):
    from ingest.knowledge_base import KnowledgeBaseError

    settings = load_settings(home=home, device="cpu", **{"retrieval.ranking_index": tmp_path / "nowhere"})
    with pytest.raises(KnowledgeBaseError, match=r"retrieval.ranking_index .*nowhere: no index there"):
        build_assistant(settings, generator=generator, knowledge_base=knowledge_base)
