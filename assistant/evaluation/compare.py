"""What changed between two evaluation runs: every shared metric per mode, and which answers got better or worse.

An answer's score for the per-question comparison is its keyword accuracy (answerable questions) or
whether it declined (unanswerable ones). Questions are matched by their text. Knows nothing about models.
"""

from __future__ import annotations

import math
from typing import Any

from assistant.evaluation.report import ANSWER_METRICS, MODEL_METRICS
from assistant.evaluation.summary import RETRIEVAL_METRICS

SHOWN_QUESTIONS = 5


def compare_runs(a: dict[str, Any], b: dict[str, Any]) -> list[str]:
    """Lines of text: metric changes per mode, then per-question changes; A is the earlier run."""
    lines = []
    modes = [mode for mode in a.get("modes", {}) if mode in b.get("modes", {})]
    only = sorted(set(a.get("modes", {})) ^ set(b.get("modes", {})))
    if only:
        lines.append(f"modes in only one run (not compared): {', '.join(only)}")
    for mode in modes:
        lines.append(f"{mode}:")
        for name in (*ANSWER_METRICS, *RETRIEVAL_METRICS, *MODEL_METRICS):
            before, after = a["modes"][mode].get(name), b["modes"][mode].get(name)
            if _number(before) and _number(after):
                lines.append(f"  {name:<22} {before:10.3f} -> {after:10.3f}  ({after - before:+.3f})")
    questions_a = {record["question"]: record for record in a.get("answers", [])}
    questions_b = {record["question"]: record for record in b.get("answers", [])}
    shared = [question for question in questions_a if question in questions_b]
    if len(shared) != len(questions_a) or len(shared) != len(questions_b):
        lines.append(
            f"questions: {len(shared)} in both runs, {len(questions_a)} in A, {len(questions_b)} in B"
        )
    for mode in modes:
        better, worse = [], []
        for question in shared:
            before = _answer_score(questions_a[question], mode)
            after = _answer_score(questions_b[question], mode)
            if before is None or after is None or before == after:
                continue
            (better if after > before else worse).append(question)
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
    return isinstance(value, int | float) and math.isfinite(value)
