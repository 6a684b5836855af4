"""Metric functions on fixed inputs with values worked out by hand."""

from __future__ import annotations

import pytest

from assistant.evaluation import metrics


def test_keywords_match_after_normalising_case_dashes_and_punctuation():
    answer = "Refunds take 5–7 Business Days; a 15% fee applies."
    assert metrics.keyword_accuracy(answer, ["5-7 business days", "15%", "30 days"]) == pytest.approx(2 / 3)
    assert metrics.keyword_accuracy(answer, []) is None
    # Whole tokens only: "30 days" is not stated by "130 days".
    assert not metrics.states("within 130 days", "30 days")
    assert metrics.states("It's 30 DAYS.", "30 days")
    # A negation states the same fact whether or not it is contracted.
    assert metrics.states("The USB port does not support printers.", "doesn't support printers")
    assert metrics.states("You can't return it.", "cannot return")
    assert not metrics.states("The USB port does support printers.", "doesn't support printers")


def test_token_f1_is_the_harmonic_mean_of_token_precision_and_recall():
    # prediction tokens: the cat sat (3); reference: the cat ran away (4); overlap 2.
    assert metrics.token_f1("The cat sat", "the cat ran away") == pytest.approx(
        2 * (2 / 3) * (2 / 4) / (2 / 3 + 2 / 4)
    )
    assert metrics.token_f1("nothing shared", "the cat") == 0.0


def test_rouge_l_and_bleu_against_known_values():
    # LCS of "the cat sat on the mat" and "the cat is on the mat" is 5 of 6 tokens each side.
    assert metrics.rouge_l("the cat sat on the mat", "the cat is on the mat") == pytest.approx(5 / 6)
    assert metrics.sentence_bleu("the cat is on the mat", "the cat is on the mat") == pytest.approx(100.0)
    assert metrics.corpus_bleu(["the cat is on the mat"], ["the cat is on the mat"]) == pytest.approx(100.0)
    assert metrics.corpus_bleu([], []) is None
    assert 0 < metrics.sentence_bleu("the cat sat on the mat", "the cat is on the mat") < 100


def test_abstention_from_the_flag_or_the_wording():
    assert metrics.is_abstention("anything", True)
    assert metrics.is_abstention("Sorry, I don’t know that. Please contact support.", False)
    assert not metrics.is_abstention("You have 30 days.", False)
    # Scored as the engine reads it: unsure of the cause or of what the customer means is no decline.
    assert metrics.is_abstention("I'm not sure about the battery life.", False)
    assert not metrics.is_abstention("I'm not sure what you mean. Which router do you have?", False)
    assert not metrics.is_abstention("I am not sure why it restarts. Check the adapter first.", False)
    precision, recall = metrics.precision_recall([True, True, False, False], [True, False, True, False])
    assert (precision, recall) == (0.5, 0.5)
    assert metrics.precision_recall([False], [False]) == (None, None)


def test_citations_count_only_expected_sources():
    shown = ["/docs/policies/returns.md", "/docs/help/lights.md"]
    assert metrics.cited_numbers("See [2] and [1], also [2].") == [2, 1]
    assert metrics.citation_correctness("As [1] says.", shown, ["policies/returns.md"]) == 1.0
    assert metrics.citation_correctness("[1][2]", shown, ["policies/returns.md"]) == 0.5
    assert metrics.citation_correctness("[3]", shown, ["policies/returns.md"]) == 0.0  # no source 3 was shown
    assert metrics.citation_correctness("no citation", shown, ["policies/returns.md"]) is None


def test_retrieval_ranks_hits_and_recall():
    retrieved = ["/d/a.md", "/d/policies/returns.md", "/d/faq/faq.csv", "/d/policies/returns.md"]
    expected = ["policies/returns.md", "faq/faq.csv"]
    rank = metrics.first_relevant_rank(retrieved, expected)
    assert rank == 2
    assert [metrics.hit_at(rank, k) for k in (1, 3, 5)] == [0.0, 1.0, 1.0]
    assert metrics.reciprocal_rank(rank) == 0.5
    assert metrics.recall_at(retrieved, expected, 2) == 0.5
    assert metrics.recall_at(retrieved, expected, 3) == 1.0
    assert metrics.first_relevant_rank(["/d/returns.md.bak"], ["returns.md"]) is None
    assert metrics.reciprocal_rank(None) == 0.0


def test_aggregates():
    assert metrics.mean([1.0, None, 3.0]) == 2.0
    assert metrics.mean([None]) is None
    assert metrics.percentile([5.0, 1.0, 3.0, 2.0, 4.0], 0.95) == 5.0
    assert metrics.percentile([5.0, 1.0, 3.0, 2.0, 4.0], 0.5) == 3.0
    assert metrics.relative_change(20.0, 15.0) == pytest.approx(-0.25)
    assert metrics.relative_change(None, 1.0) is None


def engine_answer(text: str, sources: list[dict] | None = None) -> dict:
    """An `Answer.to_dict()` as `score_answer` reads it."""
    return {
        "answer": text,
        "sources": sources or [],
        "abstained": False,
        "prompt_tokens": 10,
        "completion_tokens": 5,
        "timings": {"total_ms": 1.0, "tokens_per_s": 1.0},
    }


def test_the_model_s_own_words_are_scored_without_the_quote_under_them():
    from assistant.evaluation.questions import EvalQuestion
    from assistant.evaluation.runner import score_answer

    question = EvalQuestion("q:1", "How long to return?", "30 days.", ("returns.md",), ("30 days",), "doc")
    quote = "From [1] Returns policy: \u201cYou have 30 days from delivery.\u201d"
    returns = {"source": "docs/returns.md", "number": 1, "text": "You have 30 days from delivery."}
    scores = score_answer(question, engine_answer(f"You can return it [1].\n\n{quote}", [returns]))
    assert scores["keyword_accuracy"] == 1.0 and scores["keyword_accuracy_generated"] == 0.0


def test_a_past_exchange_counts_for_the_facts_shown_but_not_as_the_answer_s_claims():
    from assistant.answer import Example
    from assistant.evaluation.questions import EvalQuestion
    from assistant.evaluation.runner import score_answer
    from assistant.precedent import precedent_line

    question = EvalQuestion(
        "q:2", "When does tier 2 call back?", "Within 4 hours.", (), ("4 business hours",), "procedure"
    )
    # The past reply declines something and states figures no source holds: neither is this answer's.
    reply = "I couldn't find a set time, but usually within 4 business hours, 9 of 10 times."
    past = precedent_line(Example("tier 2 callback?", reply, "x", 0.8))
    said = "Tier 2 will call you back."
    scores = score_answer(question, engine_answer(f"{said}\n\n{past}"))
    assert scores["keyword_accuracy"] == 1.0 and scores["keyword_accuracy_generated"] == 0.0
    assert not scores["abstained"]
    assert scores["reward"] == score_answer(question, engine_answer(said))["reward"]
    # The same reply as the model's own words is a decline.
    assert score_answer(question, engine_answer(f"{said} {reply}"))["abstained"]


def test_an_answer_standing_with_unverified_sentences_is_counted_as_such_not_as_a_decline():
    from assistant.evaluation.questions import EvalQuestion
    from assistant.evaluation.runner import score_answer
    from assistant.evaluation.summary import summarise_answers
    from assistant.grounding import unverified_note

    question = EvalQuestion("q:3", "How long to return?", "30 days.", ("returns.md",), ("30 days",), "doc")
    returns = {"source": "docs/returns.md", "number": 1, "text": "You have 30 days from delivery."}
    quote = "From [1] Returns policy: \u201cYou have 30 days from delivery.\u201d"
    said = "You can return it. It takes 6 weeks."
    flagged = f"{said}\n\n{unverified_note(['It takes 6 weeks.'], ['6'])}\n\n{quote}"
    scores = score_answer(question, engine_answer(flagged, [returns]))
    assert scores["unverified"] and not scores["abstained"]
    plain = score_answer(question, engine_answer(f"You can return it.\n\n{quote}", [returns]))
    assert not plain["unverified"]
    assert scores["reward"] == plain["reward"] - 1  # "6" still costs its point
    assert scores["keyword_accuracy_generated"] == plain["keyword_accuracy_generated"] == 0.0
    records = [
        {"kind": "doc", "modes": {"rag": {"scores": scores}}},
        {"kind": "doc", "modes": {"rag": {"scores": plain}}},
        {"kind": "doc", "modes": {"rag": {"scores": {**plain, "unverified": None}}}},  # an older record
    ]
    for record in records:
        record["reference"] = "30 days."
        record["modes"]["rag"]["answer"] = "x"
    assert summarise_answers(records, "rag")["unverified_rate"] == 0.5
