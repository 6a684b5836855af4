"""Runs many searches through a knowledge base's own `search`, embedding all the queries in one batched pass.

Building training examples searches once or twice per agent turn, thousands of queries. Embedding them one
at a time costs a model call each (most of the time on a CPU); embedded together they share the batches.
`RememberingEmbedder` sits between the knowledge base and its embedder: `remember(queries)` encodes them
in one call, and the knowledge base's per-query `encode([query])` then reads the stored vector. So the
search itself (ranking, registry lookups, whatever channels it fuses) stays the knowledge base's own.
Knows nothing about prompts or training.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from ingest.embeddings import Embedder


class RememberingEmbedder:
    """An `Embedder` that answers from vectors encoded ahead of time, and asks its inner embedder otherwise."""

    def __init__(self, inner: Embedder) -> None:
        self.inner = inner
        self.name = inner.name
        self.dimension = inner.dimension
        self.max_tokens = inner.max_tokens
        self.tokenizer = inner.tokenizer
        self._vectors: dict[str, np.ndarray] = {}

    def remember(self, texts: Sequence[str]) -> None:
        distinct = list(dict.fromkeys(texts))
        self._vectors = dict(zip(distinct, self.inner.encode(distinct), strict=True))

    def forget(self) -> None:
        self._vectors = {}

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        if texts and all(text in self._vectors for text in texts):
            return np.stack([self._vectors[text] for text in texts])
        return self.inner.encode(texts)


class BatchedSearch:
    """`search_many(queries, k)`: each distinct query searched once, all embedded together."""

    def __init__(self, search: Callable[[str, int], Sequence[Any]], embedder: RememberingEmbedder) -> None:
        self._search = search
        self._embedder = embedder

    def search_many(self, queries: Sequence[str], k: int) -> list[list[Any]]:
        distinct = list(dict.fromkeys(queries))
        self._embedder.remember(distinct)
        try:
            found = {query: list(self._search(query, k)) for query in distinct}
        finally:
            self._embedder.forget()
        return [found[query] for query in queries]
