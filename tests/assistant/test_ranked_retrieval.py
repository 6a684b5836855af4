"""A ranking index orders the chunks while the home's knowledge base judges relevance: two real knowledge
bases over the same documents, each with its own (hashing) embedding model."""

from __future__ import annotations

import shutil

import pytest

from assistant.engine import Assistant
from assistant.ranked_retrieval import RankedRetrieval
from ingest.embeddings import HashingEmbedder, load_packaged_tokenizer
from ingest.knowledge_base import KnowledgeBase

QUESTION = "How many days do I have to return a router for a full refund?"


@pytest.fixture
def docs(tmp_path, documents):
    folder = tmp_path / "docs"
    folder.mkdir()
    for name in ("returns.md", "warranty.md"):
        (folder / name).write_text(documents[name], encoding="utf-8")
    return folder


def indexed(folder, docs, dimension):
    knowledge_base = KnowledgeBase(folder, HashingEmbedder(load_packaged_tokenizer(), dimension=dimension))
    assert not knowledge_base.ingest([docs]).failed
    return knowledge_base


@pytest.fixture
def judge(tmp_path, docs):
    with indexed(tmp_path / "judge", docs, 256) as knowledge_base:
        yield knowledge_base


@pytest.fixture
def ranking(tmp_path, docs):
    # A coarser embedding (16 buckets): other scores, so what reads which index shows.
    with indexed(tmp_path / "ranking", docs, 16) as knowledge_base:
        yield knowledge_base


def chunks(hits):
    return [(hit.source, hit.text, round(hit.score, 6)) for hit in hits]


def test_the_ranking_index_ranks_while_both_hold_the_same_documents(judge, ranking, tmp_path, documents):
    retrieval = RankedRetrieval(judge, ranking)
    assert retrieval.ranking_in_use()
    assert chunks(retrieval.search(QUESTION, 2)) == chunks(ranking.search(QUESTION, 2))
    assert chunks(retrieval.search(QUESTION, 2)) != chunks(judge.search(QUESTION, 2))
    assert retrieval.documents() == judge.documents()

    # A document added to the knowledge base alone: the ranking index would miss it, so the judge ranks.
    more = tmp_path / "more"
    more.mkdir()
    (more / "lights.md").write_text(documents["injection.md"].split("<|im_end|>")[0], encoding="utf-8")
    assert not judge.ingest([more]).failed
    assert not retrieval.ranking_in_use()
    assert chunks(retrieval.search(QUESTION, 3)) == chunks(judge.search(QUESTION, 3))
    # Once the ranking index holds it too, it ranks again.
    assert not ranking.ingest([more]).failed
    assert retrieval.ranking_in_use()
    assert chunks(retrieval.search(QUESTION, 3)) == chunks(ranking.search(QUESTION, 3))


def test_the_judge_decides_abstention_and_the_ranking_what_is_shown(judge, ranking, generator):
    judge_best = judge.search(QUESTION, 2)[0].score
    ranking_best = ranking.search(QUESTION, 2)[0].score
    assert abs(judge_best - ranking_best) > 0.01

    def assistant(min_score):
        return Assistant(
            generator,
            RankedRetrieval(judge, ranking),
            judge=judge,
            top_k=2,
            min_score=min_score,
            max_new_tokens=4,
            default_adapter="alpha",
        )

    # Between the two best scores: only the judge's decides whether the model is asked at all.
    between = (judge_best + ranking_best) / 2
    answer = assistant(between).answer(QUESTION, mode="rag")
    assert (answer.completion_tokens > 0) == (judge_best >= between)
    # Below both: the model is asked, shown the ranking index's chunks in its order, every one of them
    # (what the tiny random model then says is not the point).
    answer = assistant(min(judge_best, ranking_best) - 0.5).answer(QUESTION, mode="rag")
    assert answer.completion_tokens > 0
    assert [(source.source, source.text) for source in answer.sources] == [
        (hit.source, hit.text) for hit in ranking.search(QUESTION, 2)
    ]


def test_while_the_ranking_index_holds_other_documents_the_judge_alone_retrieves(
    judge, ranking, generator, tmp_path, documents
):
    """Searched once, its hits held to the score threshold: as if there were no ranking index."""
    more = tmp_path / "more"
    more.mkdir()
    (more / "lights.md").write_text(documents["injection.md"].split("<|im_end|>")[0], encoding="utf-8")
    assert not judge.ingest([more]).failed
    hits = judge.search(QUESTION, 3)
    # A threshold between the best score and the third: only the hits above it are shown.
    threshold = (hits[0].score + hits[-1].score) / 2
    searched = []
    original = judge.search

    def counted(query, k):
        searched.append(query)
        return original(query, k)

    judge.search = counted
    assistant = Assistant(
        generator,
        RankedRetrieval(judge, ranking),
        judge=judge,
        top_k=3,
        min_score=threshold,
        max_new_tokens=4,
    )
    answer = assistant.answer(QUESTION, mode="rag")
    assert len(searched) == 1
    assert [source.text for source in answer.sources] == [hit.text for hit in hits if hit.score >= threshold]
    assert 0 < len(answer.sources) < 3


def test_without_a_judge_the_retriever_judges_itself(judge, generator):
    best = judge.search(QUESTION, 2)[0].score
    assistant = Assistant(generator, judge, top_k=2, min_score=best + 0.01, max_new_tokens=4)
    answer = assistant.answer(QUESTION, mode="rag")
    assert answer.abstained and answer.completion_tokens == 0


def test_a_copy_with_the_same_contents_counts_as_the_same_documents(judge, tmp_path):
    copy = tmp_path / "copy"
    shutil.copytree(judge.directory, copy)
    with KnowledgeBase(copy, HashingEmbedder(load_packaged_tokenizer(), dimension=256)) as same:
        assert RankedRetrieval(judge, same).ranking_in_use()
