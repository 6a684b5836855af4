"""`tunedesk tune-embedder` mines its pairs from the conversations training would use: scrubbed, and
without those resembling a held-out evaluation question (said in one line, the rest still used)."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from assistant.cli.app import app

pytestmark = pytest.mark.slow  # tunes the real embedding model for one epoch

LEAKING_QUESTION = "Can I return an opened router after two weeks and what does it cost?"
CONVERSATIONS = [
    [
        ("user", LEAKING_QUESTION),
        ("assistant", "Opened items returned after 14 days pay a 15% restocking fee."),
    ],
    *[
        [
            ("user", f"Question {number}: how long is the return window for a router bought direct?"),
            ("assistant", "Routers bought direct can be returned within 30 days of delivery for a refund."),
        ]
        for number in range(6)
    ],
    *[
        [
            ("user", f"Case {number}: my router got wet, is that under warranty? Mail me at a{number}@b.co"),
            ("assistant", "Water damage is not covered by the warranty, which covers manufacturing defects."),
        ]
        for number in range(6)
    ],
]


def test_conversations_resembling_an_evaluation_question_are_left_out(full_home, tmp_path, monkeypatch):
    data = tmp_path / "chats.jsonl"
    data.write_text(
        "".join(
            json.dumps({"messages": [{"role": r, "content": t} for r, t in turns]}) + "\n"
            for turns in CONVERSATIONS
        ),
        encoding="utf-8",
    )
    questions = tmp_path / "questions.jsonl"
    questions.write_text(json.dumps({"question": LEAKING_QUESTION}) + "\n", encoding="utf-8")
    monkeypatch.setenv("TUNEDESK_DATA__EVAL_QUESTIONS", str(questions))
    monkeypatch.setenv("TUNEDESK_DATA__VALIDATION_FRACTION", "0.3")
    out = tmp_path / "embedder"

    result = CliRunner().invoke(
        app, ["--home", str(full_home), "--device", "cpu", "tune-embedder", str(data), "--out", str(out)]
    )

    assert result.exit_code == 0, result.output
    assert f"left out 1 conversation(s) resembling an evaluation question, e.g. {data}:1" in result.output
    assert "training pairs" in result.output and any(out.iterdir())
    # How to use it, the README's way; and a word on how little so few held-out pairs say.
    assert "then set retrieval.ranking_index to that home's index folder" in result.stdout
    assert "note: hit@k above comes from only" in result.stderr
