"""Runs evaluation questions through the assistant in each mode and scores every answer.

Modes run one after another (all questions in `base`, then all in `rag`, ...) so the adapter is
switched at most once per mode. Retrieval is scored once per question, independent of the mode,
from the retriever's top `retrieval_k` chunks. `on_answer(mode, answered, questions)`, when given,
hears every mode's count before the first answer and again after each answer (the app shows it
live). A question whose answer fails is recorded with its error and the run goes on. Knows nothing
about settings, files or reports.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import asdict
from typing import Any

from tqdm import tqdm

from assistant.answer import Mode, uses_retrieval
from assistant.engine import Assistant
from assistant.evaluation import metrics
from assistant.evaluation.questions import EvalQuestion
from assistant.evaluation.reward import rule_reward
from assistant.grounding import flags_unverified
from assistant.precedent import own_words, without_precedent

RETRIEVAL_CUTOFFS = (1, 3, 5)
AnswerProgress = Callable[[str, int, int], None]  # (mode, answers done in that mode, questions)


def run_questions(
    assistant: Assistant,
    questions: Sequence[EvalQuestion],
    modes: Sequence[Mode],
    *,
    adapter: str | None = None,
    retrieval_k: int = 5,
    progress: bool = True,
    on_answer: AnswerProgress | None = None,
) -> list[dict[str, Any]]:
    """One record per question: the question, its retrieval scores and, per mode, the answer and its scores."""
    records = [_record(question) for question in questions]
    if assistant.retriever is not None and any(uses_retrieval(mode) for mode in modes):
        for record, question in zip(records, questions, strict=True):
            record["retrieval"] = score_retrieval(assistant.retriever, question, retrieval_k)
    bar = tqdm(
        total=len(questions) * len(modes), desc="evaluating", unit="answer", disable=not progress, leave=False
    )
    report = on_answer or (lambda mode, done, total: None)
    for mode in modes:
        report(mode, 0, len(questions))
    with bar:
        for mode in modes:
            bar.set_postfix_str(mode)
            for done, (record, question) in enumerate(zip(records, questions, strict=True), start=1):
                record["modes"][mode] = answer_and_score(assistant, question, mode, adapter)
                bar.update()
                report(mode, done, len(questions))
    return records


def answer_and_score(
    assistant: Assistant, question: EvalQuestion, mode: Mode, adapter: str | None
) -> dict[str, Any]:
    """The answer's `to_dict()` plus its scores under "scores"; "error" instead when answering failed."""
    try:
        answer = assistant.answer(question.question, mode=mode, adapter=adapter)
    except (RuntimeError, ValueError) as error:  # GenerationError, PromptTooLongError: this question only
        return {"error": f"{type(error).__name__}: {error}"}
    result = answer.to_dict()
    result["scores"] = score_answer(question, result)
    return result


def score_answer(question: EvalQuestion, answer: dict[str, Any]) -> dict[str, Any]:
    """Scores of one answer (an `Answer.to_dict()`); answer-quality scores only for answerable questions."""
    text = answer["answer"]
    # Abstention, citations and reward judge what the answer claims: a past exchange is shown as another
    # customer's, so its figures and declines are not this answer's.
    claimed = without_precedent(text)
    answerable = question.kind != "unanswerable"
    shown = [source["source"] for source in answer["sources"]]
    return {
        "keyword_accuracy": metrics.keyword_accuracy(text, question.keywords),
        # The model's own words: the answer without the quote and past exchange the engine appended.
        "keyword_accuracy_generated": metrics.keyword_accuracy(own_words(text), question.keywords),
        "token_f1": metrics.token_f1(text, question.answer) if answerable else None,
        "rouge_l": metrics.rouge_l(text, question.answer) if answerable else None,
        "bleu": metrics.sentence_bleu(text, question.answer) if answerable else None,
        "abstained": metrics.is_abstention(claimed, answer["abstained"]),
        "unverified": flags_unverified(claimed),
        "cites": bool(metrics.cited_numbers(claimed)),
        "citation_correctness": metrics.citation_correctness(claimed, shown, question.sources),
        "reward": rule_reward(claimed, answer["sources"], question.question, abstained=answer["abstained"]),
        "answer_words": len(text.split()),
        "prompt_tokens": answer["prompt_tokens"],
        "completion_tokens": answer["completion_tokens"],
        "latency_ms": answer["timings"]["total_ms"],
        "tokens_per_s": answer["timings"]["tokens_per_s"],
    }


def score_retrieval(retriever: Any, question: EvalQuestion, k: int) -> dict[str, Any] | None:
    """Rank of the first expected source among the top `k` chunks, hit@n, reciprocal rank and recall@n."""
    if not question.sources:
        return None
    retrieved = [hit.source for hit in retriever.search(question.question, k)]
    rank = metrics.first_relevant_rank(retrieved, question.sources)
    scores: dict[str, Any] = {"retrieved": retrieved, "rank": rank}
    for cutoff in RETRIEVAL_CUTOFFS:
        scores[f"hit@{cutoff}"] = metrics.hit_at(rank, cutoff)
    scores["mrr"] = metrics.reciprocal_rank(rank)
    for cutoff in RETRIEVAL_CUTOFFS:
        scores[f"recall@{cutoff}"] = metrics.recall_at(retrieved, question.sources, cutoff)
    return scores


def _record(question: EvalQuestion) -> dict[str, Any]:
    fields = asdict(question)
    return {
        "id": fields["id"],
        "kind": fields["kind"],
        "question": fields["question"],
        "reference": fields["answer"],
        "keywords": list(question.keywords),
        "sources": list(question.sources),
        "retrieval": None,
        "modes": {},
    }
