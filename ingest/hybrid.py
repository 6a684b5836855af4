"""Fuses the dense, keyword and document rankings into one (weighted reciprocal rank fusion), keeps at
most a few chunks per document and drops near-duplicates.

A chunk's fused score is `dense / (rrf_k + dense rank) + keyword / (rrf_k + keyword rank) +
document / (rrf_k + its document's rank)`, a channel that did not return the chunk adding nothing.
Ranks, not raw scores, are fused because
cosine similarities and BM25 scores live on unrelated scales. The weights are chosen by
`search_calibration` on questions with known sources and kept in the index folder as
`fusion.json`; without that file both channels count equally with the customary rrf_k = 60.
Knows nothing about SQLite, FAISS or models.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from ingest.atomic import write_text_atomically
from ingest.manifest import KnowledgeBaseError

FUSION_FILE = "fusion.json"


@dataclass(frozen=True)
class FusionWeights:
    dense: float = 1.0
    keyword: float = 1.0
    rrf_k: float = 60.0  # larger: the top few ranks count less against the rest
    heading_weight: float = (
        1.0  # keyword channel: a query word in the title or headings counts this many times
    )
    document: float = 0.0  # the document channel (`document_channel`); 0: chunks are ranked alone
    calibrated_on: str = "defaults"  # where the weights came from, for people reading the file


@dataclass(frozen=True)
class Candidate:
    """One chunk of the fused ranking, with what each channel said about it (rank None: not returned)."""

    chunk_id: int
    fused: float
    dense_rank: int | None
    dense_score: float | None  # cosine similarity
    keyword_rank: int | None
    keyword_score: float | None  # BM25, higher is better
    document_rank: int | None = None  # rank of the chunk's document in the document channel


def fuse(
    dense: Sequence[tuple[int, float]],
    keyword: Sequence[tuple[int, float]],
    weights: FusionWeights,
    document_rank: Mapping[int, int] | None = None,
) -> list[Candidate]:
    """All chunks either channel returned, best fused score first; ranks are 1-based, ties keep dense order.
    `document_rank` maps a chunk id to its document's rank; it counts only with a document weight."""
    document_rank = document_rank if weights.document else None
    seen: dict[int, dict] = {}
    for rank, (cid, score) in enumerate(dense, start=1):
        seen.setdefault(cid, {})["dense"] = (rank, score)
    for rank, (cid, score) in enumerate(keyword, start=1):
        seen.setdefault(cid, {})["keyword"] = (rank, score)
    candidates = []
    for cid, channels in seen.items():
        dense_rank, dense_score = channels.get("dense", (None, None))
        keyword_rank, keyword_score = channels.get("keyword", (None, None))
        document = document_rank.get(cid) if document_rank else None
        fused = (
            (weights.dense / (weights.rrf_k + dense_rank) if dense_rank else 0.0)
            + (weights.keyword / (weights.rrf_k + keyword_rank) if keyword_rank else 0.0)
            + (weights.document / (weights.rrf_k + document) if document else 0.0)
        )
        candidates.append(
            Candidate(cid, fused, dense_rank, dense_score, keyword_rank, keyword_score, document)
        )
    return sorted(candidates, key=lambda c: (-c.fused, c.dense_rank or len(seen) + 1, c.keyword_rank or 0))


def limit_per_document(
    candidates: Sequence[Candidate], document_of: Mapping[int, str], limit: int
) -> list[Candidate]:
    """The candidates in order, skipping a chunk once `limit` chunks of its document were kept (0: no
    limit). A hit is a document, and answers cite documents: five chunks of one page leave no room
    for the page that answers when the first one does not."""
    if limit <= 0:
        return list(candidates)
    kept, per_document = [], {}
    for candidate in candidates:
        document = document_of.get(candidate.chunk_id, str(candidate.chunk_id))
        if per_document.get(document, 0) < limit:
            per_document[document] = per_document.get(document, 0) + 1
            kept.append(candidate)
    return kept


def drop_near_duplicates(
    candidates: Sequence[Candidate], vector_of: Callable[[int], np.ndarray], threshold: float, k: int
) -> list[Candidate]:
    """The first `k` candidates in order, skipping any whose cosine similarity to one already kept is
    `threshold` or more (the same passage in two documents, or a page ingested twice)."""
    kept: list[Candidate] = []
    vectors: list[np.ndarray] = []
    for candidate in candidates:
        if len(kept) == k:
            break
        vector = vector_of(candidate.chunk_id)
        if any(float(vector @ other) >= threshold for other in vectors):
            continue
        kept.append(candidate)
        vectors.append(vector)
    return kept


def load_weights(directory: Path) -> FusionWeights:
    """The calibrated weights of an index folder, or the defaults when it was never calibrated."""
    path = directory / FUSION_FILE
    if not path.exists():
        return FusionWeights()
    try:
        weights = FusionWeights(**json.loads(path.read_text(encoding="utf-8")))
    except (ValueError, TypeError) as error:
        raise KnowledgeBaseError(
            f"{path}: unreadable fusion weights ({error}); delete it or run `tunedesk calibrate-search` again"
        ) from None
    if (
        min(weights.dense, weights.keyword, weights.rrf_k, weights.heading_weight, weights.document) < 0
        or weights.dense + weights.keyword == 0
    ):
        raise KnowledgeBaseError(
            f"{path}: weights must be >= 0 and dense, keyword not both 0; run `tunedesk calibrate-search` again"
        )
    return weights


def save_weights(directory: Path, weights: FusionWeights) -> None:
    write_text_atomically(
        directory / FUSION_FILE, json.dumps(asdict(weights), indent=2, sort_keys=True) + "\n"
    )
