"""Feedback export round trip through the real SQLite storage: votes and thumbs -> DPO pairs and SFT chats."""

from __future__ import annotations

import json

from assistant.answer import Answer
from assistant.preferences import export_feedback
from assistant.storage import Storage


def answer(text: str, mode: str = "rag") -> Answer:
    return Answer(text=text, mode=mode, adapter=None)


def read_jsonl(path):
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def test_votes_and_thumbs_round_trip_to_dpo_and_sft(tmp_path):
    storage = Storage(tmp_path / "chat.sqlite3")
    storage.record_vote(
        "How long is the warranty?", answer("Two years [1].", "rag"), answer("Forever.", "base"), "A"
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

    counts = export_feedback(storage, dpo=tmp_path / "prefs.jsonl", sft=tmp_path / "sft.jsonl")
    assert (
        counts.pairs_from_votes,
        counts.pairs_from_thumbs,
        counts.votes_skipped,
        counts.sft_conversations,
    ) == (2, 1, 2, 2)

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


def test_export_of_an_empty_store_writes_empty_files(tmp_path):
    counts = export_feedback(
        Storage(tmp_path / "chat.sqlite3"), dpo=tmp_path / "p.jsonl", sft=tmp_path / "s.jsonl"
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
