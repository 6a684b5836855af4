"""When to say "I don't know": the relevance threshold, and how it is calibrated on labelled questions.

A retrieval answer is only as good as its sources. When no retrieved chunk reaches `min_score` (cosine
similarity between question and chunk), the assistant answers a fixed message without calling the model.

Calibration (`bench/bench_abstention.py`): ingest the sample documents with the real embedder, take the
best chunk score of every evaluation question, and pick the threshold that best separates questions the
documents answer (kind `doc`) from those they do not (kind `unanswerable`): the midpoint between two
neighbouring observed scores that maximises balanced accuracy (mean of the two recall rates).

Knows nothing about models or prompts.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from assistant.answer import Hit


def relevant(hits: Sequence[Hit], min_score: float) -> list[Hit]:
    """The hits that reach the threshold, best first; empty means abstain."""
    return sorted((hit for hit in hits if hit.score >= min_score), key=lambda hit: -hit.score)


@dataclass(frozen=True)
class Calibration:
    threshold: float
    balanced_accuracy: float
    answerable_kept: float  # share of answerable questions whose best score reaches the threshold
    unanswerable_refused: float  # share of unanswerable questions below it


def calibrate(answerable: Sequence[float], unanswerable: Sequence[float]) -> Calibration:
    """The threshold on best-chunk scores that maximises balanced accuracy; ties go to the lower threshold,
    since refusing an answerable question costs the user more than a hedged answer."""
    if not answerable or not unanswerable:
        raise ValueError("calibration needs at least one answerable and one unanswerable question")
    scores = sorted(set(answerable) | set(unanswerable))
    candidates = [scores[0] - 1e-6] + [
        (low + high) / 2 for low, high in zip(scores, scores[1:], strict=False)
    ]
    best: Calibration | None = None
    for threshold in candidates:
        kept = sum(score >= threshold for score in answerable) / len(answerable)
        refused = sum(score < threshold for score in unanswerable) / len(unanswerable)
        result = Calibration(threshold, (kept + refused) / 2, kept, refused)
        if best is None or result.balanced_accuracy > best.balanced_accuracy:
            best = result
    assert best is not None
    return best
