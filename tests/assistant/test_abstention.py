"""The relevance threshold: which hits count, and how the threshold is calibrated from labelled scores."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from assistant.abstention import calibrate, relevant


@dataclass(frozen=True)
class ScoredHit:
    doc_id: str
    score: float
    source: str = "s"
    title: str = "t"
    page: int | None = None
    text: str = "x"


def test_relevant_keeps_hits_at_or_above_the_threshold_best_first():
    hits = [ScoredHit("a", 0.30), ScoredHit("b", 0.50), ScoredHit("c", 0.29999), ScoredHit("d", 0.35)]
    assert [hit.doc_id for hit in relevant(hits, 0.30)] == ["b", "d", "a"]
    assert relevant(hits, 0.51) == []


def test_calibrate_separates_the_two_groups_at_the_midpoint():
    result = calibrate(answerable=[0.5, 0.6, 0.7], unanswerable=[0.1, 0.2, 0.3])
    assert result.threshold == pytest.approx(0.4)
    assert (result.balanced_accuracy, result.answerable_kept, result.unanswerable_refused) == (1.0, 1.0, 1.0)


def test_calibrate_maximises_balanced_accuracy_on_overlapping_groups():
    # Unbalanced groups: balanced accuracy weighs the 2 unanswerable questions as much as the 6 answerable.
    result = calibrate(answerable=[0.25, 0.5, 0.55, 0.6, 0.65, 0.7], unanswerable=[0.3, 0.45])
    assert result.threshold == pytest.approx(0.475)
    assert result.answerable_kept == pytest.approx(5 / 6) and result.unanswerable_refused == 1.0
    with pytest.raises(ValueError, match="at least one answerable and one unanswerable"):
        calibrate([0.5], [])
