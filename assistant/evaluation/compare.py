"""What changed between two evaluation runs: every shared metric per mode, and which answers got better or worse.

An answer's score for the per-question comparison is its keyword accuracy (answerable questions) or
whether it declined (unanswerable ones). Questions are matched by their text. `metric_changes` and
`question_changes` give the data (the app tables and charts it); `compare_runs` writes it as text
lines (the CLI prints them). Knows nothing about models.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from assistant.evaluation.report import ANSWER_METRICS, MODEL_METRICS
from assistant.evaluation.summary import RETRIEVAL_METRICS

SHOWN_QUESTIONS = 5


@dataclass(frozen=True)
class MetricChange:
    mode: str
    metric: str
    before: float  # run A
    after: float  # run B

    @property
    def change(self) -> float:
        return self.after - self.before


@dataclass(frozen=True)
class QuestionChange:
    mode: str
    question: str
    kind: str
    before: float  # the answer's score in run A (see the module docstring)
    after: float

    @property
    def better(self) -> bool:
        return self.after > self.before


def shared_modes(a: dict[str, Any], b: dict[str, Any]) -> list[str]:
    """Modes both runs answered in, in run A's order."""
    return [mode for mode in a.get("modes", {}) if mode in b.get("modes", {})]


def metric_changes(a: dict[str, Any], b: dict[str, Any]) -> list[MetricChange]:
    """Every metric both runs have a number for, per shared mode, in the report's metric order."""
    changes = []
    for mode in shared_modes(a, b):
        for name in (*ANSWER_METRICS, *RETRIEVAL_METRICS, *MODEL_METRICS):
            before, after = a["modes"][mode].get(name), b["modes"][mode].get(name)
            if _number(before) and _number(after):
                changes.append(MetricChange(mode, name, float(before), float(after)))
    return changes


def question_changes(a: dict[str, Any], b: dict[str, Any]) -> list[QuestionChange]:
    """The answers whose score differs between the runs, per shared mode, in run A's question order."""
    questions_a = {record["question"]: record for record in a.get("answers", [])}
    questions_b = {record["question"]: record for record in b.get("answers", [])}
    changes = []
    for mode in shared_modes(a, b):
        for question, record in questions_a.items():
            if question not in questions_b:
                continue
            before, after = _answer_score(record, mode), _answer_score(questions_b[question], mode)
            if before is not None and after is not None and before != after:
                changes.append(QuestionChange(mode, question, record.get("kind", ""), before, after))
    return changes


def compare_runs(a: dict[str, Any], b: dict[str, Any]) -> list[str]:
    """Lines of text: metric changes per mode, then per-question changes; A is the earlier run."""
    lines = []
    modes = shared_modes(a, b)
    only = sorted(set(a.get("modes", {})) ^ set(b.get("modes", {})))
    if only:
        lines.append(f"modes in only one run (not compared): {', '.join(only)}")
    metrics = metric_changes(a, b)
    for mode in modes:
        lines.append(f"{mode}:")
        lines += [
            f"  {item.metric:<22} {item.before:10.3f} -> {item.after:10.3f}  ({item.change:+.3f})"
            for item in metrics
            if item.mode == mode
        ]
    asked_a = {record["question"] for record in a.get("answers", [])}
    asked_b = {record["question"] for record in b.get("answers", [])}
    shared = len(asked_a & asked_b)
    if shared != len(asked_a) or shared != len(asked_b):
        lines.append(f"questions: {shared} in both runs, {len(asked_a)} in A, {len(asked_b)} in B")
    questions = question_changes(a, b)
    for mode in modes:
        better = [item.question for item in questions if item.mode == mode and item.better]
        worse = [item.question for item in questions if item.mode == mode and not item.better]
        lines.append(f"{mode}: {len(better)} answers better, {len(worse)} worse")
        lines += [f"  worse: {question}" for question in worse[:SHOWN_QUESTIONS]]
    return lines


def _answer_score(record: dict[str, Any], mode: str) -> float | None:
    scores = record.get("modes", {}).get(mode, {}).get("scores")
    if scores is None:
        return None
    if record.get("kind") == "unanswerable":
        return float(scores["abstained"])
    return scores.get("keyword_accuracy")


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
