"""When to abstain: which hits count, how the threshold is calibrated, and when the model itself declines."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from assistant.abstention import (
    Signals,
    Thresholds,
    calibrate,
    declines,
    nearest_documents,
    refuses,
    relevant,
    unmentioned,
)
from assistant.answer import Source


@dataclass(frozen=True)
class ScoredHit:
    doc_id: str
    score: float
    source: str = "s"
    title: str = "t"
    page: int | None = None
    text: str = "x"


def test_relevant_keeps_hits_at_or_above_the_threshold_in_the_retrievers_order():
    # The retriever ranks by fused score, which need not follow the cosine score the threshold reads.
    hits = [ScoredHit("a", 0.30), ScoredHit("b", 0.50), ScoredHit("c", 0.29999), ScoredHit("d", 0.35)]
    assert [hit.doc_id for hit in relevant(hits, 0.30)] == ["a", "b", "d"]
    assert relevant(hits, 0.51) == []


def test_calibrate_separates_the_two_groups_at_the_midpoint():
    result = calibrate(answerable=scored(0.5, 0.6, 0.7), unanswerable=scored(0.1, 0.2, 0.3))
    assert result.threshold == pytest.approx(0.4)
    assert result.coverage_threshold == 0.0  # the score alone separates them: coverage stays off
    assert (result.balanced_accuracy, result.answerable_kept, result.unanswerable_refused) == (1.0, 1.0, 1.0)


def test_calibrate_maximises_balanced_accuracy_on_overlapping_groups():
    # Unbalanced groups: balanced accuracy weighs the 2 unanswerable questions as much as the 6 answerable.
    result = calibrate(
        answerable=scored(0.25, 0.5, 0.55, 0.6, 0.65, 0.7),
        unanswerable=scored(0.3, 0.45),
        objective="balanced",
    )
    assert result.threshold == pytest.approx(0.475) and result.objective == "balanced"
    assert result.answerable_kept == pytest.approx(5 / 6) and result.unanswerable_refused == 1.0
    with pytest.raises(ValueError, match="at least one answerable and one unanswerable"):
        calibrate(scored(0.5), [])
    with pytest.raises(ValueError, match="objective 'accuracy': use one of f1, balanced"):
        calibrate(scored(0.5), scored(0.1), objective="accuracy")  # type: ignore[arg-type]


def test_calibrate_by_f1_refuses_fewer_answerable_questions_than_balanced_accuracy():
    # Catching the second unanswerable question (0.5) would cost four answerable ones: balanced accuracy,
    # which weighs each unanswerable question as four answerable here, pays it; F1 (the default) does not.
    answerable, unanswerable = scored(0.1, 0.35, 0.4, 0.45, 0.6, 0.7, 0.8, 0.9), scored(0.2, 0.5)
    balanced = calibrate(answerable, unanswerable, objective="balanced")
    by_f1 = calibrate(answerable, unanswerable)
    assert balanced.threshold == pytest.approx(0.55) and balanced.unanswerable_refused == 1.0
    assert by_f1.objective == "f1" and by_f1.threshold == pytest.approx(0.275)
    assert by_f1.answerable_kept == pytest.approx(7 / 8) and by_f1.unanswerable_refused == 0.5
    assert by_f1.f1 == pytest.approx(0.5)  # precision 1/2, recall 1/2


def scored(*scores: float) -> list[Signals]:
    return [Signals(score) for score in scores]


def test_calibrate_uses_coverage_where_the_score_cannot_separate():
    # An off-topic question can land as close to some chunk as an answerable one does; its words are missing.
    answerable = [Signals(0.6, 0.9), Signals(0.4, 0.7), Signals(0.55, 0.8)]
    unanswerable = [Signals(0.58, 0.2), Signals(0.45, 0.1)]
    result = calibrate(answerable, unanswerable)
    assert result.balanced_accuracy == 1.0
    assert result.threshold < 0.4  # the score threshold refuses nothing here...
    assert result.coverage_threshold == pytest.approx(0.45)  # ...coverage does, at the widest gap's middle
    assert not any(refuses(item, result.thresholds) for item in answerable)
    assert all(refuses(item, result.thresholds) for item in unanswerable)


def test_calibrate_spreads_its_candidates_over_many_questions():
    # 3,000 distinct values per signal: at most MAX_CUTS candidates each, still separating the groups.
    answerable = [Signals(0.5 + i / 10_000, 0.5 + i / 10_000) for i in range(2_000)]
    unanswerable = [Signals(0.1 + i / 10_000, 0.9) for i in range(1_000)]
    result = calibrate(answerable, unanswerable)
    assert result.balanced_accuracy == 1.0 and result.coverage_threshold == 0.0
    assert 0.2 < result.threshold <= 0.5


def test_refuses_below_either_threshold_and_coverage_zero_is_off():
    assert refuses(Signals(0.3, 1.0), Thresholds(0.4, 0.5))
    assert refuses(Signals(0.9, 0.2), Thresholds(0.4, 0.5))
    assert not refuses(Signals(0.4, 0.5), Thresholds(0.4, 0.5))
    assert not refuses(Signals(0.9, 0.0), Thresholds(0.4))
    assert unmentioned(("zigbee", "hue")) == "The documents never mention: zigbee, hue."
    assert unmentioned(()) == ""


@pytest.mark.parametrize(
    "answer",
    [
        "I'm sorry, I don't have information about that. I can help with our products.",
        "Sorry! I couldn't find that in the sources.",
        "I do not know.",
        "I am not sure, please ask a colleague.",
        "I'm not sure what the battery runtime is.",
        "I'm not sure if the router supports Zigbee.",
        "The documentation does not mention a battery.",
        "That is not covered in the sources, so I cannot say.",
        "There is no information about store opening hours.",
        "We don\u2019t have any information on that.",
    ],
)
def test_declines_recognises_answers_that_decline(answer):
    assert declines(answer)


@pytest.mark.parametrize(
    "answer",
    [
        "You have 30 days from delivery to return it [1].",
        "No, never share your password. Use Forgot password instead.",
        "We can't diagnose your provider's modem; contact your provider.",
        "The warranty lasts two years [1]. I don't know whether water damage is covered.",
        "Unplug it and stop using it. A replacement ships next day. I am not sure of the exact time.",
        "I couldn't find the fee in the table, but the policy says 15% [2].",  # it cites: it answers
        # Unsure of what the customer means, or of a cause still to find: a question back, a next step.
        "The update broke it for 2 days, so I'm not sure what you're looking for. Can you please confirm?",
        "I’m not sure why it drops every evening. Restart the router first.",
        "I am not sure what's causing it yet. Is the light amber or red?",
        "I'm not sure what might have caused the issue, but a restart usually clears it.",
        "",
    ],
)
def test_declines_leaves_answers_alone(answer):
    assert not declines(answer)


def test_nearest_documents_names_each_document_once_best_first():
    def source(number: int, title: str, path: str) -> Source:
        return Source(number, path, path, title, None, 0.5 - number / 10, "x")

    sources = [source(1, "Returns", "policies/returns.md"), source(2, "Returns", "policies/returns.md")]
    sources.append(source(3, "Warranty", "/data/warranty.docx"))
    assert nearest_documents(sources) == "Nearest documents: Returns (returns.md); Warranty (warranty.docx)."
    assert nearest_documents([]) == ""
