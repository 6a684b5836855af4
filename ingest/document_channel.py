"""The document channel: ranks whole documents by the query's cosine similarity to each one's mean chunk vector.

A chunk is scored alone by the other two channels; this one asks which document as a whole is
about the question, so a policy whose every section speaks of returns outranks a page of mixed
questions that happens to hold one matching line. The fusion adds a chunk's document rank as a
third weighted reciprocal rank (`hybrid.fuse`). Centroids are built once per index generation.
Knows nothing about SQLite, files or models.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np


class DocumentCentroids:
    """Each document's normalised mean chunk vector; chunks of no known document are left out."""

    def __init__(self, chunk_ids: np.ndarray, vectors: np.ndarray, document_of: Mapping[int, str]) -> None:
        owners = [document_of.get(int(cid)) for cid in chunk_ids]
        self.documents = sorted({owner for owner in owners if owner is not None})
        row = {doc_id: position for position, doc_id in enumerate(self.documents)}
        sums = np.zeros((len(self.documents), vectors.shape[1]), dtype=np.float32)
        for owner, vector in zip(owners, vectors, strict=True):
            if owner is not None:
                sums[row[owner]] += vector
        norms = np.linalg.norm(sums, axis=1, keepdims=True)
        self._centroids = sums / np.where(norms > 0, norms, 1.0)

    def ranks(self, query: np.ndarray) -> dict[str, int]:
        """Document id -> 1-based rank by cosine similarity of its centroid to the unit vector `query`."""
        if not self.documents:
            return {}
        order = np.argsort(-(self._centroids @ query), kind="stable")
        return {self.documents[position]: rank for rank, position in enumerate(order, start=1)}
