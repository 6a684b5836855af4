"""Feedback export round trip through the real SQLite storage: votes and thumbs -> DPO pairs, KTO rows and
SFT chats, each prompt rebuilt as the model read it (sources included) with the real tokenizer."""

from __future__ import annotations

import json

import pytest

from assistant.answer import Answer, Source
from assistant.preferences import collect_feedback, export_feedback
from assistant.prompts import SOURCE_OPEN
from assistant.storage import Storage
from assistant.training_prompt import AnswerTimePrompt

WARRANTY = "The Halo Router warranty lasts two years and covers manufacturing defects."


def answer(text: str, mode: str = "base", sources: tuple[str, ...] = (), **details) -> Answer:
    shown = [
        Source(number, f"doc{number}", f"policies/doc{number}.md", "Warranty", None, 0.8, body)
        for number, body in enumerate(sources, 1)
    ]
    return Answer(
        text=text, mode=mode, adapter=None, sources=shown, prompt_tokens=50, completion_tokens=9, **details
    )


@pytest.fixture(scope="module")
def prompt(chat_tokenizer):
    return AnswerTimePrompt(
        chat_tokenizer, context_tokens=2048, max_new_tokens=256, history_turns=2, domain="Brightwave"
    )


def read_jsonl(path):
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def test_votes_and_thumbs_round_trip_to_dpo_and_sft(tmp_path, prompt):
    storage = Storage(tmp_path / "chat.sqlite3")
    storage.record_vote(
        "How long is the warranty?", answer("Two years [1].", "tuned"), answer("Forever.", "base"), "A"
    )
    storage.record_vote("Return window?", answer("Ask a shop.", "base"), answer("30 days.", "tuned+rag"), "B")
    storage.record_vote("Colour?", answer("Blue.", "base"), answer("Red.", "rag"), "tie")
    storage.record_vote("Size?", answer("Big.", "base"), answer("Small.", "rag"), "both_bad")

    first = storage.new_conversation("lights")
    liked = storage.add_exchange(
        first, "What does amber mean? I'm jo@example.com", answer("No internet [1].")
    )
    storage.record_feedback(liked, "up")
    follow = storage.add_exchange(first, "And white?", answer("All good."))
    storage.record_feedback(follow, "down")
    storage.record_feedback(follow, "up")  # the latest rating counts
    second = storage.new_conversation("lights again")
    disliked = storage.add_exchange(
        second, "what does AMBER mean?  i'm jo@example.com", answer("Pizza time.")
    )
    storage.record_feedback(disliked, "down")
    storage.add_exchange(second, "Unrated question", answer("Unrated answer."))

    counts = export_feedback(
        storage, prompt, dpo=tmp_path / "prefs.jsonl", kto=tmp_path / "kto.jsonl", sft=tmp_path / "sft.jsonl"
    )
    assert (
        counts.pairs_from_votes,
        counts.pairs_from_thumbs,
        counts.votes_skipped,
        counts.rated_answers,
        counts.sft_conversations,
    ) == (2, 1, 2, 3, 2)
    rated = read_jsonl(tmp_path / "kto.jsonl")
    assert [(row["completion"][0]["content"], row["label"]) for row in rated] == [
        ("No internet [1].", True),
        ("All good.", True),
        ("Pizza time.", False),
    ]

    pairs = read_jsonl(tmp_path / "prefs.jsonl")
    assert pairs[0] == {
        "prompt": [{"role": "user", "content": "How long is the warranty?"}],
        "chosen": [{"role": "assistant", "content": "Two years [1]."}],
        "rejected": [{"role": "assistant", "content": "Forever."}],
    }
    assert (
        pairs[1]["chosen"][0]["content"] == "30 days." and pairs[1]["rejected"][0]["content"] == "Ask a shop."
    )
    # Thumbs up and down on the same question (case and spacing aside) make a pair; the e-mail is scrubbed.
    assert pairs[2]["prompt"][0]["content"] == "What does amber mean? I'm <EMAIL>"
    assert (pairs[2]["chosen"][0]["content"], pairs[2]["rejected"][0]["content"]) == (
        "No internet [1].",
        "Pizza time.",
    )

    chats = read_jsonl(tmp_path / "sft.jsonl")
    assert chats[0]["messages"] == [
        {"role": "user", "content": "What does amber mean? I'm <EMAIL>"},
        {"role": "assistant", "content": "No internet [1]."},
    ]
    # The follow-up keeps the conversation before it.
    assert [m["content"] for m in chats[1]["messages"]] == [
        "What does amber mean? I'm <EMAIL>",
        "No internet [1].",
        "And white?",
        "All good.",
    ]
    assert (
        "jo@example.com" not in (tmp_path / "prefs.jsonl").read_text() + (tmp_path / "sft.jsonl").read_text()
    )


def test_export_of_an_empty_store_writes_empty_files(tmp_path, prompt):
    counts = export_feedback(
        Storage(tmp_path / "chat.sqlite3"), prompt, dpo=tmp_path / "p.jsonl", sft=tmp_path / "s.jsonl"
    )
    assert counts.pairs_from_votes == counts.pairs_from_thumbs == counts.sft_conversations == 0
    assert (tmp_path / "p.jsonl").read_text() == "" and (tmp_path / "s.jsonl").read_text() == ""


def test_cli_exports_feedback_and_checks_dpo_options(tmp_path):
    from typer.testing import CliRunner

    from assistant.cli.app import app

    storage = Storage(tmp_path / "home" / "chat.sqlite3")
    storage.record_vote("Warranty?", answer("Two years."), answer("No idea."), "A")
    runner = CliRunner()
    home = ["--home", str(tmp_path / "home")]
    exported = runner.invoke(
        app, [*home, "feedback", "export", "--dpo", str(tmp_path / "out" / "prefs.jsonl")]
    )
    assert exported.exit_code == 0, exported.output
    assert "1 preference pairs" in exported.stdout
    assert read_jsonl(tmp_path / "out" / "prefs.jsonl")[0]["chosen"][0]["content"] == "Two years."
    nothing = runner.invoke(app, [*home, "feedback", "export"])
    assert nothing.exit_code == 2 and "--dpo" in nothing.stderr

    no_from = runner.invoke(
        app, [*home, "train", "--name", "x", "--dpo", str(tmp_path / "out" / "prefs.jsonl")]
    )
    assert no_from.exit_code == 2 and "--from ADAPTER" in no_from.stderr
    unknown = runner.invoke(
        app,
        [*home, "train", "--name", "x", "--dpo", str(tmp_path / "out" / "prefs.jsonl"), "--from", "ghost"],
    )
    assert unknown.exit_code == 1 and "unknown adapter 'ghost'" in unknown.stderr


def test_prompts_carry_the_sources_the_model_read(tmp_path, prompt):
    storage = Storage(tmp_path / "chat.sqlite3")
    grounded = answer("Two years [1].", "tuned+rag", (WARRANTY,))
    storage.record_vote("How long is the warranty?", grounded, answer("Forever.", "tuned"), "A")
    conversation = storage.new_conversation()
    liked = storage.add_exchange(
        conversation, "Warranty length?", answer("Two years [1].", "rag", (WARRANTY,))
    )
    storage.record_feedback(liked, "up")
    # Nothing was relevant enough: the engine abstained without calling the model, so nothing to learn from.
    refused = storage.add_exchange(
        conversation,
        "Salary?",
        Answer("I couldn't find this.", "rag", None, abstained=True, prompt_tokens=0, completion_tokens=0),
    )
    storage.record_feedback(refused, "down")

    feedback = collect_feedback(storage, prompt)
    expected, _ = prompt.messages("How long is the warranty?", [], [grounded.sources[0]])
    assert feedback.pairs[0]["prompt"] == expected  # exactly the tuned+rag prompt the engine built
    system, user = feedback.pairs[0]["prompt"]
    assert system["role"] == "system" and "Brightwave" in system["content"]
    assert f"{SOURCE_OPEN} [1]" in user["content"] and WARRANTY in user["content"]
    assert user["content"].endswith("Question: How long is the warranty?")

    assert len(feedback.rated) == 1 and feedback.rated[0]["label"] is True
    assert WARRANTY in feedback.rated[0]["prompt"][-1]["content"]
    assert feedback.left_out == ["rated answer to 'Salary?': the engine abstained"]


def test_modes_without_retrieval_and_old_votes_train_on_the_plain_question(tmp_path, prompt):
    storage = Storage(tmp_path / "chat.sqlite3")
    storage.record_vote("Warranty?", answer("Two years."), answer("Forever."), "A")
    pairs = collect_feedback(storage, prompt).pairs
    assert pairs[0]["prompt"] == [{"role": "user", "content": "Warranty?"}]
