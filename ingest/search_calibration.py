"""Chooses the fusion weights: a grid search over channel weights, rrf_k, the keyword channel's
heading weight and the document channel's weight, on questions with known answers.

Each question comes as its channel rankings and the set of chunk ids that answer it; the ranking
is scored as search returns it, at most `max_per_document` chunks of one document. A setting
is scored by the mean reciprocal rank of the first answering chunk within the top `cutoff`, which
rewards hit@1 most and still credits hit@5; ties go to the grid's earlier setting (equal weights
and a moderate rrf_k come first), so a flat objective keeps the customary fusion. Only the
questions passed in are seen: the caller keeps a separate split to report on. Knows nothing about
files, settings or models.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from itertools import product

from ingest.hybrid import FusionWeights, fuse, limit_per_document

Channel = Sequence[tuple[int, float]]
# Keyword share of the total weight; 0.5 first so that equal weights win a tie.
KEYWORD_SHARES = (0.5, 0.4, 0.6, 0.3, 0.7, 0.2, 0.8, 0.1, 0.9, 0.0, 1.0)
RRF_KS = (60.0, 30.0, 10.0, 5.0, 1.0, 100.0)
HEADING_WEIGHTS = (1.0, 2.0, 3.0, 5.0)  # 1.0 first: a heading word counts as much as a text word
# Document channel weight, against dense + keyword = 1; 0.0 first: chunks ranked alone win a tie.
DOCUMENT_WEIGHTS = (0.0, 0.25, 0.5, 1.0)


@dataclass(frozen=True)
class Judged:
    """One question: what each channel returned (the keyword channel per heading weight), which
    chunk ids answer it, and each named chunk's document with that document's rank."""

    dense: Channel
    keyword: Mapping[float, Channel]
    relevant: frozenset[int]
    document_of: Mapping[int, str] = field(default_factory=dict)
    document_rank: Mapping[str, int] = field(default_factory=dict)

    def ranking(self, weights: FusionWeights, max_per_document: int) -> list[int]:
        """Chunk ids in the order search would return them with these weights."""
        ranks = {
            cid: self.document_rank[doc] for cid, doc in self.document_of.items() if doc in self.document_rank
        }
        fused = fuse(self.dense, self.keyword[weights.heading_weight], weights, ranks)
        return [c.chunk_id for c in limit_per_document(fused, self.document_of, max_per_document)]


def first_relevant_rank(ranking: Sequence[int], relevant: frozenset[int]) -> int | None:
    for rank, cid in enumerate(ranking, start=1):
        if cid in relevant:
            return rank
    return None


def hits_at(
    questions: Sequence[Judged], weights: FusionWeights, cutoffs: Sequence[int], max_per_document: int = 0
) -> dict[str, float]:
    """hit@k for each cutoff and mrr@max(cutoffs) of the fused ranking over `questions`."""
    ranks = [first_relevant_rank(q.ranking(weights, max_per_document), q.relevant) for q in questions]
    deepest = max(cutoffs)
    scores = {f"hit@{k}": sum(r is not None and r <= k for r in ranks) / len(ranks) for k in cutoffs}
    scores[f"mrr@{deepest}"] = sum(1 / r for r in ranks if r is not None and r <= deepest) / len(ranks)
    return scores


def choose_weights(
    questions: Sequence[Judged],
    *,
    cutoff: int = 5,
    calibrated_on: str,
    max_per_document: int = 0,
    document_weights: Sequence[float] = DOCUMENT_WEIGHTS,
) -> FusionWeights:
    """The grid setting with the best mrr@`cutoff` on `questions` (earliest in the grid on ties)."""
    if not questions:
        raise ValueError("calibration needs at least one question with a known source")
    best: tuple[float, FusionWeights] | None = None
    heading_weights = [w for w in HEADING_WEIGHTS if all(w in q.keyword for q in questions)]
    grid = product(document_weights, heading_weights, RRF_KS, KEYWORD_SHARES)
    for document, heading_weight, rrf_k, share in grid:
        weights = FusionWeights(1.0 - share, share, rrf_k, heading_weight, document, calibrated_on)
        score = hits_at(questions, weights, (cutoff,), max_per_document)[f"mrr@{cutoff}"]
        if best is None or score > best[0] + 1e-12:
            best = (score, weights)
    return best[1]
