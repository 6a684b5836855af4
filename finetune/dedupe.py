"""Find near-duplicate texts: word 3-gram shingles, MinHash signatures, LSH banding, exact Jaccard check.

Candidates come from MinHash bands (cheap for thousands of texts); every candidate pair is then
confirmed with the exact Jaccard similarity of the shingle sets, so the answer does not depend on
hash luck beyond the (tiny, bounded below) chance of a true pair not sharing any band.
This module knows nothing about conversations.
"""

from __future__ import annotations

import re
import zlib

import numpy as np

SHINGLE_WORDS = 3
PERMUTATIONS = 128
_WORD = re.compile(r"\w+")


def near_duplicates(texts: list[str], threshold: float, seed: int = 1) -> dict[int, int]:
    """Map index -> index of an earlier text with shingle Jaccard >= `threshold` (first occurrence kept)."""
    sets = [shingles(text) for text in texts]
    rows = _rows_per_band(threshold)
    signatures = _signatures(sets, seed)
    earlier: dict[int, int] = {}
    buckets: dict[tuple[int, bytes], list[int]] = {}
    for index, signature in enumerate(signatures):
        seen: set[int] = set()
        for band in range(PERMUTATIONS // rows):
            key = (band, signature[band * rows : (band + 1) * rows].tobytes())
            members = buckets.setdefault(key, [])
            seen.update(members)
            members.append(index)
        for other in sorted(seen):
            if other not in earlier and jaccard(sets[index], sets[other]) >= threshold:
                earlier[index] = other
                break
    return earlier


def jaccard(a: frozenset[int], b: frozenset[int]) -> float:
    if not a and not b:
        return 1.0
    return len(a & b) / len(a | b)


def shingles(text: str) -> frozenset[int]:
    """Hashed, lower-cased word 3-grams (the whole text as one gram when it is shorter)."""
    words = _WORD.findall(text.lower())
    size = min(SHINGLE_WORDS, len(words)) or 1
    grams = (" ".join(words[i : i + size]) for i in range(max(1, len(words) - size + 1)))
    return frozenset(zlib.crc32(gram.encode("utf-8")) for gram in grams)


def _rows_per_band(threshold: float) -> int:
    """The most rows per band (fewest false candidates) that still finds a pair at `threshold` 99.9% of the time."""
    for rows in (16, 8, 4, 2, 1):
        bands = PERMUTATIONS // rows
        if 1 - (1 - threshold**rows) ** bands >= 0.999:
            return rows
    return 1


def _signatures(sets: list[frozenset[int]], seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    # Multiply-shift hashing: (a*x + b) mod 2**64, top 32 bits; a odd. uint64 arithmetic wraps by design.
    a = rng.integers(0, 1 << 63, PERMUTATIONS, dtype=np.uint64) * np.uint64(2) + np.uint64(1)
    b = rng.integers(0, 1 << 63, PERMUTATIONS, dtype=np.uint64)
    signatures = np.empty((len(sets), PERMUTATIONS), dtype=np.uint64)
    with np.errstate(over="ignore"):
        for index, values in enumerate(sets):
            x = np.fromiter(values, dtype=np.uint64, count=len(values))
            signatures[index] = ((x[:, None] * a[None, :] + b[None, :]) >> np.uint64(32)).min(axis=0)
    return signatures


def near_matches(texts: list[str], references: list[str], threshold: float, seed: int = 1) -> dict[int, int]:
    """Map index of a text -> index of the first reference with shingle Jaccard >= `threshold`."""
    reference_sets = [shingles(text) for text in references]
    rows = _rows_per_band(threshold)
    buckets: dict[tuple[int, bytes], list[int]] = {}
    for index, signature in enumerate(_signatures(reference_sets, seed)):
        for band in range(PERMUTATIONS // rows):
            buckets.setdefault((band, signature[band * rows : (band + 1) * rows].tobytes()), []).append(index)
    text_sets = [shingles(text) for text in texts]
    matches: dict[int, int] = {}
    for index, signature in enumerate(_signatures(text_sets, seed)):
        candidates: set[int] = set()
        for band in range(PERMUTATIONS // rows):
            candidates.update(buckets.get((band, signature[band * rows : (band + 1) * rows].tobytes()), ()))
        for other in sorted(candidates):
            if jaccard(text_sets[index], reference_sets[other]) >= threshold:
                matches[index] = other
                break
    return matches
