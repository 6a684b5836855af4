"""Ingest benchmark: whole-pipeline throughput against the embedding model alone, re-ingest speed, peak memory.

    python bench/bench_ingest.py [--files 500]

Writes a corpus of markdown files (built from data/docs when it has files, else synthetic support
text) into a temporary folder, then measures in one run:
  1. the first ingest (parse in worker processes, chunk, embed, store) in chunks per second;
  2. `SentenceTransformer.encode` alone on exactly the texts the pipeline embedded, same batch size;
  3. a second ingest of the unchanged corpus;
  4. the peak resident memory of the ingesting process and of its largest parse worker.
The last line is `BENCH ingest <pipeline / raw encode throughput> ...`.
"""

from __future__ import annotations

import argparse
import random
import resource
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from assistant.builders import build_embedder, open_knowledge_base  # noqa: E402
from assistant.settings import load_settings  # noqa: E402
from ingest.chunk_context import CONTEXT_SHARE, embedding_text  # noqa: E402
from ingest.registry import Registry  # noqa: E402

TOPICS = [
    "router",
    "mesh point",
    "firmware",
    "invoice",
    "warranty",
    "return",
    "parental controls",
    "guest network",
]
VERBS = ["restart", "update", "pair", "reset", "register", "cancel", "configure", "replace"]
DETAILS = [
    "the status light blinks amber until the update finishes",
    "the app shows a confirmation within two minutes",
    "support needs the serial number printed under the device",
    "the change applies to every device on the account",
    "a restocking fee applies to opened items",
    "the setting survives a factory reset",
]


def synthetic_page(rng: random.Random, number: int) -> str:
    """A short support article (~120 words): a title and two sections of plausible, varied sentences."""
    topic = rng.choice(TOPICS)
    lines = [f"# {topic.title()} guide {number}", ""]
    for section in range(2):
        lines += [f"## {rng.choice(VERBS).title()} the {topic} ({section + 1})", ""]
        sentences = [
            f"To {rng.choice(VERBS)} the {rng.choice(TOPICS)}, open the app and choose {rng.choice(TOPICS)} settings; "
            f"{rng.choice(DETAILS)}. Step {rng.randint(2, 9)} takes about {rng.randint(1, 30)} minutes."
            for _ in range(rng.randint(2, 3))
        ]
        lines += [" ".join(sentences), ""]
    return "\n".join(lines)


def write_corpus(folder: Path, count: int) -> None:
    sources = sorted(
        p for p in (REPO / "data" / "docs").rglob("*") if p.suffix in {".md", ".txt"} and p.is_file()
    )
    rng = random.Random(0)
    for number in range(count):
        if sources:
            # Real pages, each copy made distinct so no two files share a content hash.
            text = sources[number % len(sources)].read_text(encoding="utf-8") + f"\n\nCopy {number}.\n"
        else:
            text = synthetic_page(rng, number)
        (folder / f"page-{number:04d}.md").write_text(text, encoding="utf-8")


def peak_rss_mib(who: int) -> float:
    return resource.getrusage(who).ru_maxrss / 1024  # Linux reports KiB


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=500)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as root:
        corpus = Path(root) / "corpus"
        corpus.mkdir()
        write_corpus(corpus, args.files)
        settings = load_settings(home=Path(root) / "home", device="cpu")
        embedder = build_embedder(settings)
        embedder.encode(["warm up the model once"] * 8)
        rss_before = peak_rss_mib(resource.RUSAGE_SELF)

        with open_knowledge_base(settings, embedder=embedder) as kb:
            started = time.perf_counter()
            first = kb.ingest([corpus])
            first_s = time.perf_counter() - started
            rss_ingest = peak_rss_mib(resource.RUSAGE_SELF)
            rss_worker = peak_rss_mib(resource.RUSAGE_CHILDREN)
            assert not first.failed, first.failed[:3]

            started = time.perf_counter()
            again = kb.ingest([corpus])
            again_s = time.perf_counter() - started
            assert len(again.unchanged) == args.files and again.chunks_written == 0

        registry = Registry(settings.index_dir / "registry.sqlite3")
        budget = embedder.max_tokens // CONTEXT_SHARE
        texts = [
            embedding_text(stored.chunk, embedder.tokenizer, budget)
            for stored in registry.chunks(registry.chunk_ids()).values()
        ]
        registry.close()
        # The baseline: the model's own encode over the same texts, one call, same batch size.
        started = time.perf_counter()
        embedder.model.encode(texts, batch_size=settings.embedding.batch_size, normalize_embeddings=True)
        raw_s = time.perf_counter() - started

    chunks = first.chunks_written
    pipeline_rate, raw_rate = chunks / first_s, chunks / raw_s
    ratio = pipeline_rate / raw_rate
    print(f"corpus: {args.files} files, {chunks} chunks")
    print(f"first ingest: {first_s:.1f} s = {pipeline_rate:.1f} chunks/s (parse + chunk + embed + store)")
    print(f"raw SentenceTransformer.encode of the same chunks: {raw_s:.1f} s = {raw_rate:.1f} chunks/s")
    print(f"pipeline / raw throughput: {ratio:.3f} (target >= 0.85)")
    print(
        f"re-ingest of the unchanged corpus: {again_s:.2f} s, {first_s / again_s:.0f}x faster (target >= 20x)"
    )
    print(
        f"peak RSS: {rss_ingest:.0f} MiB ingesting process (model loaded: {rss_before:.0f} MiB), "
        f"{rss_worker:.0f} MiB largest parse worker"
    )
    print(f"BENCH ingest {ratio:.3f} pipeline chunks/s over raw SentenceTransformer.encode chunks/s")


if __name__ == "__main__":
    main()
