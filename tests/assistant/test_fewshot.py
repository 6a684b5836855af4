"""The fewshot modes: exchanges from transcripts, the example store, held-out questions, the engine."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from assistant.engine import Assistant, AssistantError
from assistant.fewshot_exchanges import Exchange, exchanges_of, held_out
from assistant.fewshot_store import (
    EXCHANGE_VECTORS,
    MANIFEST,
    ExampleStore,
    ExampleStoreError,
    build_store,
    exchange_text,
)
from finetune.formats import load_all
from ingest.vector_index import FlatIndex
from tests.assistant.fewshot_data import (
    EVAL_QUESTION,
    PLANTED_REPLY,
    PLANTED_TURN,
    TRANSCRIPTS,
    distinct_customer_turns,
)


def test_exchanges_pair_each_customer_turn_with_the_reply_scrubbed_and_deduplicated(transcripts_file):
    conversations, _ = load_all([transcripts_file])
    exchanges = exchanges_of(conversations, scrub_pii=True)
    # Eight customer turns, one an exact repeat; the system prompt is never a turn.
    assert len(exchanges) == sum(len(conversation) for conversation in TRANSCRIPTS) - 1
    assert exchanges[0].customer == TRANSCRIPTS[0][0][0] and exchanges[0].agent == TRANSCRIPTS[0][0][1]
    assert exchanges[0].origin.endswith("turn 1")
    personal = next(
        exchange for exchange in exchanges if "refund" in exchange.customer and "mail" in exchange.customer
    )
    assert "dana.k@example.com" not in personal.customer and "<EMAIL>" in personal.customer
    assert "Dana" not in personal.customer
    unscrubbed = exchanges_of(conversations, scrub_pii=False)
    assert any("dana.k@example.com" in exchange.customer for exchange in unscrubbed)


def test_held_out_finds_the_planted_evaluation_question():
    conversations = load_all_exchanges()
    matched = held_out(conversations, [EVAL_QUESTION], 0.5)
    assert [conversations[index].customer for index in matched] == [PLANTED_TURN]
    assert held_out(conversations, [], 0.5) == set()


def load_all_exchanges():
    from assistant.fewshot_exchanges import Exchange

    return [Exchange(customer, agent, "test") for exchanges in TRANSCRIPTS for customer, agent in exchanges]


def test_an_evaluation_question_planted_in_the_transcripts_is_never_picked(
    example_store_dir, hashing_embedder
):
    everything = ExampleStore.open(
        example_store_dir, hashing_embedder, held_out_questions=[], leak_threshold=0.5
    )
    # Without holding it out, the planted turn is the best example for the evaluation question itself.
    assert everything.pick(EVAL_QUESTION, 1)[0].customer == PLANTED_TURN
    guarded = ExampleStore.open(
        example_store_dir, hashing_embedder, held_out_questions=[EVAL_QUESTION], leak_threshold=0.5
    )
    assert len(guarded) == len(everything) - 1
    for query in (EVAL_QUESTION, PLANTED_TURN, PLANTED_REPLY, "refund"):
        picked = guarded.pick(query, len(everything))
        assert len(picked) == len(distinct_customer_turns()) - 1  # every other customer turn, once
        assert all(example.customer != PLANTED_TURN and example.agent != PLANTED_REPLY for example in picked)


def test_one_customer_turn_answered_twice_gives_one_example(examples):
    picked = examples.pick("How long is the Halo warranty?", 3)
    turns = [" ".join(example.customer.lower().split()) for example in picked]
    assert turns[0] == "how long is the halo warranty?" and len(set(turns)) == 3


def test_picks_are_the_most_similar_customer_turns_best_first(examples):
    picked = examples.pick("Is water damage covered by the warranty?", 3)
    assert picked[0].customer == "Is water damage covered by the warranty?"
    assert picked[0].score == pytest.approx(1.0, abs=1e-5)
    assert [example.score for example in picked] == sorted(
        (example.score for example in picked), reverse=True
    )
    assert examples.pick("anything", 0) == []


VAGUE_TURN = "ok so what now"
VAGUE_REPLY = "Tier 2 engineers call you back within 4 business hours with your case number."


def test_an_exchange_whose_reply_says_what_it_was_about_is_found_by_its_topic(tmp_path, hashing_embedder):
    # "ok so what now" says nothing; the exchange as a whole is about a Tier 2 call-back.
    exchanges = [
        Exchange(VAGUE_TURN, VAGUE_REPLY, "a.jsonl:1"),
        Exchange("when will tier 2 call me", "Please hold on.", "a.jsonl:2"),
        Exchange("how do I reset the router", "Hold the reset button for 10 seconds.", "a.jsonl:3"),
    ]
    build_store(tmp_path / "fewshot", exchanges, hashing_embedder, sources=["a.jsonl"])
    store = ExampleStore.open(
        tmp_path / "fewshot", hashing_embedder, held_out_questions=[], leak_threshold=0.9
    )
    question = "how long until tier 2 engineers call me back with a case number"
    best = store.pick(question, 1)[0]
    assert best.customer == VAGUE_TURN
    vectors = hashing_embedder.encode([question, VAGUE_TURN, exchange_text(exchanges[0])])
    assert best.score == pytest.approx(float(vectors[2] @ vectors[0]), abs=1e-5)  # the nearer view
    assert best.score > float(vectors[1] @ vectors[0])


def test_picks_are_the_exact_nearest_by_the_nearer_view(examples, hashing_embedder):
    """Whatever `k`, the picks are the first `k` of every exchange ranked by hand, one per customer turn."""
    query = "my router is broken, can I get a refund or a replacement"
    vector = hashing_embedder.encode([query])[0]
    by_hand = {}
    for i in sorted(int(i) for i in examples.index.ids()):
        exchange = examples.exchanges[i]
        views = hashing_embedder.encode([exchange.customer, exchange_text(exchange)])
        key = " ".join(exchange.customer.lower().split())
        by_hand[key] = max(by_hand.get(key, -1.0), float(max(views @ vector)))
    expected = sorted(by_hand.values(), reverse=True)
    for k in (1, 2, 5, len(by_hand)):
        scores = [example.score for example in examples.pick(query, k)]
        assert scores == pytest.approx(expected[:k], abs=1e-5)


def copied_store(example_store_dir: Path, tmp_path: Path) -> Path:
    """A copy of the built store to break."""
    folder = tmp_path / "fewshot"
    shutil.copytree(example_store_dir, folder)
    return folder


def assert_refused(folder: Path, embedder, match: str) -> None:
    with pytest.raises(ExampleStoreError, match=match):
        ExampleStore.open(folder, embedder, held_out_questions=[], leak_threshold=0.5)


def test_a_store_of_the_earlier_layout_is_refused_with_what_to_do(
    example_store_dir, hashing_embedder, tmp_path
):
    folder = copied_store(example_store_dir, tmp_path)
    manifest = json.loads((folder / MANIFEST).read_text())
    (folder / MANIFEST).write_text(json.dumps(manifest | {"schema_version": 1}))
    assert_refused(folder, hashing_embedder, "schema 1.*rebuild it with `tunedesk fewshot-index`")


def test_a_store_missing_or_short_of_its_exchange_vectors_is_refused_with_what_to_do(
    example_store_dir, hashing_embedder, tmp_path
):
    folder = copied_store(example_store_dir, tmp_path)
    short = FlatIndex(hashing_embedder.dimension)
    short.add(np.array([0]), hashing_embedder.encode(["one exchange"]))
    short.save(folder / EXCHANGE_VECTORS)
    assert_refused(folder, hashing_embedder, r"1 exchange vectors.*tunedesk fewshot-index")
    (folder / EXCHANGE_VECTORS).unlink()
    assert_refused(folder, hashing_embedder, "unreadable example store.*tunedesk fewshot-index")


def test_a_store_of_another_embedding_model_or_a_broken_one_is_refused_with_one_line(
    example_store_dir, hashing_embedder, tmp_path
):
    folder = copied_store(example_store_dir, tmp_path)
    manifest = json.loads((folder / MANIFEST).read_text())
    (folder / MANIFEST).write_text(json.dumps(manifest | {"embedding_model": "other-model"}))
    assert_refused(folder, hashing_embedder, "other-model.*tunedesk fewshot-index")
    (folder / MANIFEST).write_text("{not json")
    assert_refused(folder, hashing_embedder, f"{MANIFEST}: unreadable")
    assert_refused(tmp_path / "none", hashing_embedder, "no example store")


def fewshot_assistant(generator, knowledge_base, examples, **options) -> Assistant:
    defaults = {"top_k": 3, "min_score": 0.2, "context_tokens": 1024, "max_new_tokens": 12, "fewshot_k": 2}
    return Assistant(generator, knowledge_base, examples=examples, **(defaults | options))


def test_fewshot_modes_answer_through_the_engine_with_the_examples_in_the_prompt(
    generator, knowledge_base, examples
):
    assistant = fewshot_assistant(generator, knowledge_base, examples)
    question = "Does the warranty cover water damage?"
    base = assistant.answer(question, mode="base")
    fewshot = assistant.answer(question, mode="fewshot")
    assert fewshot.mode == "fewshot" and fewshot.adapter is None and fewshot.sources == []
    assert fewshot.examples == examples.pick(question, 2)
    assert fewshot.completion_tokens > 0
    # The two example exchanges are in the prompt: it is longer than the base mode's by their tokens.
    shown = [
        {"role": role, "content": text}
        for example in fewshot.examples
        for role, text in (("user", example.customer), ("assistant", example.agent))
    ]
    alone = [{"role": "user", "content": question}]
    assert fewshot.prompt_tokens == generator.count_tokens(shown + alone)
    assert fewshot.prompt_tokens > base.prompt_tokens
    both = assistant.answer(question, mode="fewshot+rag")
    assert both.sources and both.examples == fewshot.examples
    assert both.to_dict()["examples"][0]["customer"] == fewshot.examples[0].customer
    streamed = assistant.stream(question, mode="fewshot")
    assert "".join(streamed) == fewshot.text and streamed.answer.examples == fewshot.examples


def test_the_examples_fit_the_context_budget(generator, knowledge_base, examples):
    question = "Can I return my router?"
    roomy = fewshot_assistant(generator, knowledge_base, examples, fewshot_k=6).answer(
        question, mode="fewshot"
    )
    assert len(roomy.examples) == 6
    # A window too small for all six: the least similar are left out, the prompt and the answer fit.
    budget = (roomy.prompt_tokens + generator.count_tokens([{"role": "user", "content": question}])) // 2 + 12
    tight = fewshot_assistant(generator, knowledge_base, examples, fewshot_k=6, context_tokens=budget)
    answer = tight.answer(question, mode="fewshot")
    assert 0 < len(answer.examples) < 6
    assert answer.examples == roomy.examples[: len(answer.examples)]
    assert answer.prompt_tokens + 12 <= budget


def test_fewshot_modes_without_examples_are_refused_with_what_to_do(generator, knowledge_base):
    assistant = Assistant(generator, knowledge_base)
    with pytest.raises(AssistantError, match="mode fewshot needs example exchanges.*tunedesk fewshot-index"):
        assistant.answer("Can I return my router?", mode="fewshot")
