"""Search benchmark: latency of `KnowledgeBase.search` on 100k chunks against the bare minimum it must do.

    python bench/bench_search.py [--chunks 100000] [--queries 200]

Builds an index of `--chunks` chunks through the knowledge base's own commit path (registry rows,
FAISS file, generation), with random unit vectors instead of embeddings, since embedding 100k
chunks for real takes an hour on a laptop CPU and search cost does not depend on the values.
Then, query by query and in alternating order, it times:
  - `KnowledgeBase.search(query, k)`: embed, check the committed generation, FAISS search,
    fetch the chunk rows from SQLite;
  - the baseline: `SentenceTransformer.encode(query)` + `faiss.Index.search` on the same index.
The index is IndexIDMap2(IndexFlatIP): exact search, so recall is 1.0; the run checks that the
knowledge base returns exactly the brute-force top k. The last line is
`BENCH search <p50 knowledge base / p50 baseline> ...`.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from assistant.builders import build_embedder, open_knowledge_base  # noqa: E402
from core.settings import load_settings  # noqa: E402
from ingest.document import Chunk  # noqa: E402
from ingest.knowledge_base import StagedDocument  # noqa: E402
from ingest.vector_index import INDEX_TYPE, FlatIndex, IndexFiles  # noqa: E402

CHUNKS_PER_DOCUMENT = 100
K = 5
QUESTIONS = [
    "How long do I have to return a router I opened?",
    "Why is the status light blinking amber?",
    "How do I pair a new mesh point?",
    "Can I pay my invoice by bank transfer?",
    "What does the warranty cover?",
    "How do I turn on parental controls?",
    "How do I reset the router to factory settings?",
    "Where is the serial number?",
]


def staged_documents(count: int, dimension: int, seed: int = 0) -> list[StagedDocument]:
    rng = np.random.default_rng(seed)
    documents = []
    for number in range(count // CHUNKS_PER_DOCUMENT):
        texts = [f"Document {number}, chunk {n}: synthetic support text." for n in range(CHUNKS_PER_DOCUMENT)]
        chunks = [Chunk(text, f"Document {number}", ("Section",), None, 0, len(text)) for text in texts]
        vectors = rng.normal(size=(len(texts), dimension)).astype(np.float32)
        vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
        documents.append(
            StagedDocument(
                f"/bench/doc-{number}.md", f"Document {number}", f"h{number}", 1000, chunks, vectors
            )
        )
    return documents


def percentile(values: list[float], share: float) -> float:
    return float(np.percentile(values, share * 100))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--chunks", type=int, default=100_000)
    parser.add_argument("--queries", type=int, default=200)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as root:
        # The dense channel alone: its results must equal raw FAISS's, which a fused ranking would not.
        settings = load_settings(home=Path(root) / "home", device="cpu", **{"retrieval.mode": "dense"})
        embedder = build_embedder(settings)
        with open_knowledge_base(settings, embedder=embedder) as kb:
            started = time.perf_counter()
            written, _ = kb.commit(staged_documents(args.chunks, embedder.dimension))
            build_s = time.perf_counter() - started
            generation = kb.generation()
            raw_index = FlatIndex.load(IndexFiles(settings.index_dir, embedder.dimension).path(generation))

            queries = [f"{QUESTIONS[n % len(QUESTIONS)]} (variant {n})" for n in range(args.queries)]
            for query in queries[:10]:  # warm up both paths: caches, thread pools, the first index load
                kb.search(query, K)
                raw_index.search(embedder.model.encode([query], normalize_embeddings=True), K)

            ours, baseline, exact = [], [], 0
            for n, query in enumerate(queries):
                order = (0, 1) if n % 2 == 0 else (1, 0)  # alternate, so drift in machine load hits both
                for which in order:
                    started = time.perf_counter()
                    if which == 0:
                        hits = kb.search(query, K)
                        ours.append(time.perf_counter() - started)
                    else:
                        vector = embedder.model.encode([query], normalize_embeddings=True)
                        _, ids = raw_index.search(vector, K)
                        baseline.append(time.perf_counter() - started)
                exact += [hit.chunk_id for hit in hits] == ids[0].tolist()

    p50_ours, p95_ours = percentile(ours, 0.5) * 1000, percentile(ours, 0.95) * 1000
    p50_base, p95_base = percentile(baseline, 0.5) * 1000, percentile(baseline, 0.95) * 1000
    ratio = p50_ours / p50_base
    print(
        f"index: {written} chunks, {INDEX_TYPE} (exact: recall 1.0), built through commit in {build_s:.1f} s"
    )
    print(f"same top-{K} as the raw FAISS search: {exact}/{len(queries)} queries")
    print(
        f"KnowledgeBase.search:       p50 {p50_ours:.1f} ms, p95 {p95_ours:.1f} ms, mean {statistics.mean(ours) * 1000:.1f} ms"
    )
    print(f"encode + raw FAISS search:  p50 {p50_base:.1f} ms, p95 {p95_base:.1f} ms")
    print(f"ratio p50 {ratio:.3f}, p95 {p95_ours / p95_base:.3f} (target <= 1.3)")
    print(
        f"BENCH search {ratio:.3f} p50 latency of KnowledgeBase.search over query encode + raw FAISS search, {written} chunks"
    )


if __name__ == "__main__":
    main()
