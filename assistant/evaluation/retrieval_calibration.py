"""Calibrates hybrid search on one split of the evaluation questions and reports it on the other.

    tunedesk calibrate-search data/eval/questions.jsonl

Questions with expected sources are split by a seeded hash of their text: the fusion weights are
chosen on the calibration part only, and hit@k of dense, keyword, equal-weight and calibrated
fusion are reported on the report part, which the choice never saw; every ranking keeps the
knowledge base's `max_chunks_per_document`, as search does. Knows nothing about settings.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from assistant.evaluation import metrics
from assistant.evaluation.questions import EvalQuestion, QuestionsError, load_questions
from ingest.hybrid import FusionWeights
from ingest.knowledge_base import KnowledgeBase
from ingest.search_calibration import DOCUMENT_WEIGHTS, HEADING_WEIGHTS, Judged, choose_weights, hits_at

CUTOFFS = (1, 3, 5)
# The channels alone and plain fusion, for comparison with the calibrated weights.
BASELINES = {
    "dense": FusionWeights(1.0, 0.0),
    "keyword": FusionWeights(0.0, 1.0),
    "rrf-equal": FusionWeights(),
}


@dataclass(frozen=True)
class SearchCalibration:
    weights: FusionWeights
    calibration_questions: int
    report_questions: int
    report: dict[str, dict[str, float]]  # {"dense" | "keyword" | "rrf-equal" | "calibrated": {metric: value}}
    calibration: dict[str, float]  # the chosen weights' scores on the calibration split itself
    skipped: tuple[str, ...] = ()  # the questions file's bad lines, each "file:line: why"

    def as_dict(self) -> dict[str, Any]:
        return {
            "weights": {
                "dense": self.weights.dense,
                "keyword": self.weights.keyword,
                "rrf_k": self.weights.rrf_k,
                "heading_weight": self.weights.heading_weight,
                "document": self.weights.document,
            },
            "calibration_questions": self.calibration_questions,
            "report_questions": self.report_questions,
            "calibration": self.calibration,
            "report": self.report,
            "skipped": list(self.skipped),
        }


def split_questions(
    questions: Sequence[EvalQuestion], fraction: float, seed: int
) -> tuple[list[EvalQuestion], list[EvalQuestion]]:
    """(calibration, report): a question goes to calibration when its seeded hash falls below `fraction`."""
    calibration, report = [], []
    for question in questions:
        digest = hashlib.sha256(f"{seed}\x00{question.question}".encode()).digest()
        (calibration if int.from_bytes(digest[:8], "big") / 2**64 < fraction else report).append(question)
    return calibration, report


def judge(knowledge_base: KnowledgeBase, questions: Sequence[EvalQuestion], candidates: int) -> list[Judged]:
    """Each question's two channel rankings and the chunks of its expected sources among them."""
    rankings = knowledge_base.channel_rankings([q.question for q in questions], candidates, HEADING_WEIGHTS)
    return [
        Judged(
            r.dense,
            r.keyword,
            frozenset(cid for cid, source in r.sources.items() if metrics.matches(source, q.sources)),
            r.document_of,
            r.document_rank,
        )
        for q, r in zip(questions, rankings, strict=True)
    ]


def calibrate_search(
    knowledge_base: KnowledgeBase,
    questions_file: Path,
    *,
    fraction: float,
    seed: int,
    candidates: int,
    document_weights: Sequence[float] = DOCUMENT_WEIGHTS,
) -> SearchCalibration:
    """Choose fusion weights on the calibration split of `questions_file`; score them on the report split.
    `document_weights` are the document channel weights tried ((0.0,): chunks ranked alone)."""
    questions, problems = load_questions(questions_file)
    with_sources = [q for q in questions if q.sources]
    calibration, report = split_questions(with_sources, fraction, seed)
    if not calibration or not report:
        raise QuestionsError(
            f"{questions_file}: {len(with_sources)} questions with sources leave an empty split at "
            f"retrieval.calibration_fraction={fraction}; add questions or change the fraction"
        )
    judged_calibration = judge(knowledge_base, calibration, candidates)
    judged_report = judge(knowledge_base, report, candidates)
    where = f"{Path(questions_file).name}: {len(calibration)} of {len(with_sources)} questions (seed {seed})"
    cap = knowledge_base.max_chunks_per_document
    weights = choose_weights(
        judged_calibration, calibrated_on=where, max_per_document=cap, document_weights=document_weights
    )
    scores = {name: hits_at(judged_report, w, CUTOFFS, cap) for name, w in BASELINES.items()}
    scores["calibrated"] = hits_at(judged_report, weights, CUTOFFS, cap)
    return SearchCalibration(
        weights,
        len(calibration),
        len(report),
        scores,
        hits_at(judged_calibration, weights, CUTOFFS, cap),
        tuple(str(problem) for problem in problems),
    )
