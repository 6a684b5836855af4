"""Turns scored per-question records into numbers per mode and per kind of question.

Answer-quality means (keyword accuracy, token F1, ROUGE-L) are over answerable questions; BLEU is
sacreBLEU's corpus score over the same answers; abstention precision and recall treat "the answer
declined" as the prediction and kind `unanswerable` as the truth; citation correctness is the mean
over answers that cite anything. Retrieval numbers (the same for every mode that retrieves) are
means over questions with expected sources. Knows nothing about models or files.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from assistant.answer import uses_retrieval
from assistant.evaluation import metrics
from assistant.evaluation.runner import RETRIEVAL_CUTOFFS

RETRIEVAL_METRICS = (
    *(f"hit@{k}" for k in RETRIEVAL_CUTOFFS),
    "mrr",
    *(f"recall@{k}" for k in RETRIEVAL_CUTOFFS),
)


def summarise_modes(records: Sequence[dict[str, Any]], modes: Sequence[str]) -> dict[str, dict[str, Any]]:
    """{mode: {metric: value}}: answer metrics of each mode, plus retrieval metrics for retrieval modes."""
    retrieval = summarise_retrieval(records)
    summary = {}
    for mode in modes:
        summary[mode] = summarise_answers(records, mode)
        if uses_retrieval(mode) and retrieval:
            summary[mode].update(retrieval)
    return summary


def summarise_by_kind(records: Sequence[dict[str, Any]], modes: Sequence[str]) -> dict[str, dict[str, Any]]:
    """{mode: {kind: {metric: value}}} for the answer metrics."""
    kinds = sorted({record["kind"] for record in records})
    return {
        mode: {kind: summarise_answers([r for r in records if r["kind"] == kind], mode) for kind in kinds}
        for mode in modes
    }


def summarise_answers(records: Sequence[dict[str, Any]], mode: str) -> dict[str, Any]:
    answered = [
        (record, record["modes"][mode]) for record in records if "scores" in record["modes"].get(mode, {})
    ]
    scores = [answer["scores"] for _, answer in answered]
    answerable = [(record, answer) for record, answer in answered if record["kind"] != "unanswerable"]
    precision, recall = metrics.precision_recall(
        [score["abstained"] for score in scores], [record["kind"] == "unanswerable" for record, _ in answered]
    )
    latencies = [score["latency_ms"] for score in scores]
    return {
        "questions": len(records),
        "answered": len(answered),
        "errors": len(records) - len(answered),
        "keyword_accuracy": metrics.mean(score["keyword_accuracy"] for score in scores),
        # Records written before quotes existed have none; `mean` skips them.
        "keyword_accuracy_generated": metrics.mean(
            score.get("keyword_accuracy_generated") for score in scores
        ),
        "token_f1": metrics.mean(answer["scores"]["token_f1"] for _, answer in answerable),
        "rouge_l": metrics.mean(answer["scores"]["rouge_l"] for _, answer in answerable),
        "bleu": metrics.corpus_bleu(
            [answer["answer"] for _, answer in answerable], [record["reference"] for record, _ in answerable]
        ),
        "abstention_precision": precision,
        "abstention_recall": recall,
        "abstention_rate": metrics.mean(float(score["abstained"]) for score in scores),
        # Records written before the flag existed have none; `mean` skips them.
        "unverified_rate": metrics.mean(
            None if score.get("unverified") is None else float(score["unverified"]) for score in scores
        ),
        "citation_rate": metrics.mean(float(answer["scores"]["cites"]) for _, answer in answerable),
        "citation_correctness": metrics.mean(score["citation_correctness"] for score in scores),
        # Records written before the reward existed have none; `mean` skips them.
        "reward": metrics.mean(score.get("reward") for score in scores),
        "answer_words": metrics.mean(score["answer_words"] for score in scores),
        "prompt_tokens": metrics.mean(score["prompt_tokens"] for score in scores),
        "completion_tokens": metrics.mean(score["completion_tokens"] for score in scores),
        "latency_ms": metrics.mean(latencies),
        "latency_p95_ms": metrics.percentile(latencies, 0.95),
        "tokens_per_s": metrics.mean(score["tokens_per_s"] or None for score in scores),
    }


def summarise_retrieval(records: Sequence[dict[str, Any]]) -> dict[str, float | None]:
    scored = [record["retrieval"] for record in records if record.get("retrieval")]
    if not scored:
        return {}
    return {name: metrics.mean(item[name] for item in scored) for name in RETRIEVAL_METRICS}
