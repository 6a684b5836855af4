"""The rule-based reward: a cited shown source earns a point, each invented number costs one, abstaining is 0."""

from __future__ import annotations

from assistant.evaluation.reward import rule_reward
from assistant.grounding import invented_figures

SOURCES = [
    {
        "title": "Returns",
        "headings": ["Refunds"],
        "text": "Return within 30 days for a full refund of 1,000 points.",
    },
    {"title": "Warranty", "headings": [], "text": "The warranty lasts 2.50 years."},
]


def test_a_grounded_cited_answer_scores_one():
    assert rule_reward("You have 30 days [1].", SOURCES, "How long?", abstained=False) == 1


def test_an_uncited_answer_without_invented_figures_scores_zero():
    assert rule_reward("You have 30 days.", SOURCES, "How long?", abstained=False) == 0


def test_each_invented_number_costs_a_point():
    # 45 and 99 appear nowhere; 30 is in the sources, 3 in the question.
    text = "You have 45 days [1], or 30 with a fee of 99 for the 3 routers."
    assert rule_reward(text, SOURCES, "What about my 3 routers?", abstained=False) == 1 - 2
    assert set(invented_figures(text, [SOURCES[0]["text"]], "What about my 3 routers?")) == {"45", "99"}


def test_citing_a_source_that_was_not_shown_earns_nothing():
    assert rule_reward("You have 30 days [3].", SOURCES, "How long?", abstained=False) == 0
    assert rule_reward("You have 30 days [1].", [], "How long?", abstained=False) == -1  # 30 is invented


def test_an_abstention_scores_zero_whatever_it_says():
    assert rule_reward("I couldn't find this; see page 12 [1].", SOURCES, "Salary?", abstained=True) == 0


def test_numbers_compare_after_normalising_and_markers_are_not_figures():
    text = "1. Unplug it.\n2. Wait.\nThe warranty is 2.5 years [2] and 1000 points."
    assert rule_reward(text, SOURCES, "Steps?", abstained=False) == 1
