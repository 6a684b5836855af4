"""Held-out evaluation questions never leak into training: planted leaks are found, reported and dropped."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from finetune.cleaning import clean
from finetune.conversation import Conversation, Message
from finetune.dedupe import near_matches
from finetune.eval_leaks import EvalQuestionsError, leaking, load_questions, questions_at

QUESTIONS = [
    "how long do i have to send back a blender i bought online if i do not like it",
    "can i pause my gym membership while i am travelling abroad for two months",
    "why does the thermostat app say the device is offline after a power cut",
]


def _conv(origin: str, *turns: tuple[str, str]) -> Conversation:
    return Conversation(tuple(Message(role, content) for role, content in turns), origin)


def test_near_matches_finds_a_lightly_edited_copy_and_nothing_else() -> None:
    texts = [
        "How long do I have to send back a blender I bought online if I don't like it?",
        "can i pause my gym membership while i am travelling overseas for two months",
        "my thermostat shows a red light",
    ]
    assert near_matches(texts, QUESTIONS, 0.5) == {0: 0, 1: 1}


def test_a_leak_in_any_user_turn_drops_the_conversation_and_is_reported() -> None:
    conversations = [
        _conv(
            "c:1", ("user", "hello"), ("assistant", "Hi!"), ("user", QUESTIONS[2]), ("assistant", "Reset it.")
        ),
        _conv("c:2", ("user", "Is the blender dishwasher safe?"), ("assistant", "Yes, the jar is.")),
        _conv("c:3", ("user", QUESTIONS[1].upper() + "?"), ("assistant", "Yes, up to three months.")),
        # The agent repeating the question is not a leak of the customer's wording.
        _conv("c:4", ("user", "question about gyms"), ("assistant", QUESTIONS[1])),
    ]
    assert leaking(conversations, QUESTIONS, 0.5) == {0: 2, 2: 1}

    kept, report = clean(
        conversations,
        count_tokens=lambda c: 10,
        max_tokens=100,
        over_long="drop",
        near_duplicate_threshold=0.9,
        scrub_pii=False,
        eval_questions=QUESTIONS,
        eval_leak_threshold=0.5,
    )
    assert [c.origin for c in kept] == ["c:2", "c:4"]
    assert report.dropped == {"eval_leak": ["c:1 (like eval question 3)", "c:3 (like eval question 2)"]}
    assert report.eval_questions == 3
    assert "dropped: eval_leak" in report.to_text() and report.to_dict()["eval_questions"] == 3


def test_no_questions_means_nothing_is_dropped() -> None:
    conversation = _conv("c:1", ("user", QUESTIONS[0]), ("assistant", "30 days."))
    kept, report = clean(
        [conversation],
        count_tokens=lambda c: 10,
        max_tokens=100,
        over_long="drop",
        near_duplicate_threshold=0.9,
        scrub_pii=False,
    )
    assert kept == [conversation] and report.eval_questions == 0 and not report.dropped


def test_questions_are_read_and_bad_lines_named(tmp_path: Path) -> None:
    good = tmp_path / "questions.jsonl"
    good.write_text("\n".join(json.dumps({"question": q, "kind": "doc"}) for q in QUESTIONS) + "\n\n")
    assert load_questions(good) == QUESTIONS
    assert questions_at(None) == [] and questions_at(tmp_path / "absent.jsonl") == []
    bad = tmp_path / "bad.jsonl"
    bad.write_text(json.dumps({"question": "ok?"}) + "\n" + json.dumps({"answer": "no question"}) + "\n")
    with pytest.raises(EvalQuestionsError, match=r"bad\.jsonl:2: expected a JSON object with a \"question\""):
        load_questions(bad)
    binary = tmp_path / "binary.jsonl"
    binary.write_bytes(b"\xff\xfe\x00bad")
    with pytest.raises(EvalQuestionsError, match="cannot be read"):
        load_questions(binary)
