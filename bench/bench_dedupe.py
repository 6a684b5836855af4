"""Near-duplicate detection: MinHash + LSH (what cleaning uses) against exact all-pairs Jaccard.

    python bench/bench_dedupe.py [COUNT]

Builds COUNT synthetic support conversations (shared greeting and closing, random middle) with 5 %
near-copies planted, runs both methods on the same texts, checks they find the same pairs, and
prints the speed-up.
"""

from __future__ import annotations

import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from finetune.dedupe import jaccard, near_duplicates, shingles  # noqa: E402

THRESHOLD = 0.85
GREETING = "hi thanks for contacting brightwave support my name is sam how can i help today"
CLOSING = "is there anything else i can help you with today thanks for choosing brightwave have a bright day"


def _corpus(count: int, rng: random.Random) -> list[str]:
    vocabulary = [f"w{i}" for i in range(4000)]
    texts = [f"{GREETING} {' '.join(rng.choices(vocabulary, k=120))} {CLOSING}" for _ in range(count)]
    for index in rng.sample(range(count), count // 20):
        words = texts[index].split()
        words[rng.randrange(len(words))] = "edited"
        texts.append(" ".join(words))
    return texts


def _all_pairs(texts: list[str]) -> dict[int, int]:
    sets = [shingles(text) for text in texts]
    earlier: dict[int, int] = {}
    for index in range(len(texts)):
        for other in range(index):
            if other not in earlier and jaccard(sets[index], sets[other]) >= THRESHOLD:
                earlier[index] = other
                break
    return earlier


def main() -> None:
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 1000
    texts = _corpus(count, random.Random(0))
    started = time.perf_counter()
    fast = near_duplicates(texts, THRESHOLD)
    lsh_s = time.perf_counter() - started
    started = time.perf_counter()
    exact = _all_pairs(texts)
    exact_s = time.perf_counter() - started
    print(f"{len(texts)} conversations, {len(exact)} near-duplicates planted and found by all-pairs")
    print(f"minhash+lsh: {lsh_s:.2f} s, found {len(fast)}, same pairs: {fast == exact}")
    print(f"all-pairs jaccard: {exact_s:.2f} s")
    print(
        f"BENCH dedupe {exact_s / lsh_s:.1f} all-pairs Jaccard time / MinHash-LSH time on {len(texts)} conversations"
    )


if __name__ == "__main__":
    main()
