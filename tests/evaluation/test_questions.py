"""Loading the evaluation questions: bad lines are named and skipped, the rest load; stratified subsets."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest

from assistant.evaluation.questions import QuestionsError, load_questions, stratified

GOOD = {"question": "q?", "answer": "a.", "sources": ["a.md"], "keywords": ["a"], "kind": "doc"}


def test_bad_lines_are_reported_with_line_and_field_and_the_rest_loads(tmp_path):
    lines = [
        json.dumps(GOOD),
        "{not json",
        json.dumps({**GOOD, "kind": "trivia"}),
        json.dumps({**GOOD, "question": ""}),
        "",
        json.dumps({**GOOD, "keywords": "a"}),
        json.dumps({**GOOD, "keywords": []}),
        json.dumps({**GOOD, "kind": "unanswerable", "keywords": [], "sources": []}),
        "[1, 2]",
    ]
    path = tmp_path / "q.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    questions, problems = load_questions(path)
    assert [q.id for q in questions] == ["q.jsonl:1", "q.jsonl:8"]
    assert questions[0].keywords == ("a",) and questions[1].kind == "unanswerable"
    assert [problem.split(": ")[0] for problem in problems] == [
        "q.jsonl:2",
        "q.jsonl:3",
        "q.jsonl:4",
        "q.jsonl:6",
        "q.jsonl:7",
        "q.jsonl:9",
    ]
    assert "not valid JSON" in problems[0]
    assert "field 'kind'" in problems[1] and "'trivia'" in problems[1]
    assert "field 'question'" in problems[2]
    assert "field 'keywords'" in problems[3] and "field 'keywords'" in problems[4]
    assert all("\n" not in problem for problem in problems)


def test_unreadable_file_names_the_file(tmp_path):
    with pytest.raises(QuestionsError, match="missing.jsonl"):
        load_questions(tmp_path / "missing.jsonl")


def test_bundled_questions_load_cleanly():
    questions, problems = load_questions(Path(__file__).parents[2] / "data" / "eval" / "questions.jsonl")
    assert problems == []
    assert Counter(q.kind for q in questions) == {"doc": 55, "procedure": 16, "unanswerable": 14, "both": 13}


def test_stratified_subset_keeps_every_kind_in_proportion_and_file_order():
    questions, _ = load_questions(Path(__file__).parents[2] / "data" / "eval" / "questions.jsonl")
    subset = stratified(questions, 40)
    assert len(subset) == 40
    assert Counter(q.kind for q in subset) == {"doc": 22, "procedure": 7, "unanswerable": 6, "both": 5}
    positions = [questions.index(q) for q in subset]
    assert positions == sorted(positions)
    assert stratified(questions, 40) == subset  # deterministic
    assert Counter(q.kind for q in stratified(questions, 4)) == {
        "doc": 1,
        "procedure": 1,
        "unanswerable": 1,
        "both": 1,
    }
    assert stratified(questions, None) == questions
