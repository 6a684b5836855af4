"""Ingest benchmark: whole-pipeline throughput against the embedding model alone, re-ingest speed, peak memory.

    python bench/bench_ingest.py [--files 500] [--large-mb 1]

Writes a corpus of markdown files (built from data/docs when it has files, else synthetic support
text) into a temporary folder, then measures in one run:
  1. the first ingest (parse in worker processes, chunk, embed, store) in chunks per second;
  2. `SentenceTransformer.encode` alone on exactly the texts the pipeline embedded, same batch size;
  3. a second ingest of the unchanged corpus;
  4. the peak resident memory of the ingesting process and of its largest parse worker;
  5. one generated plain-text file of `--large-mb` MiB against the same text cut into 64 KiB files,
     each ingested by a fresh process: peak memory and chunks per second of both.
The last line is `BENCH ingest <pipeline / raw encode throughput> ...`.
"""

from __future__ import annotations

import argparse
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from assistant.builders import build_embedder, open_knowledge_base  # noqa: E402
from core.settings import load_settings  # noqa: E402
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


# Ingests one path into a fresh home and prints "<chunks> <seconds>"; run as its own process so its
# peak memory is its own.
_INGEST_CHILD = """
import sys, time
from pathlib import Path
from assistant.builders import open_knowledge_base
from core.settings import load_settings
settings = load_settings(home=Path(sys.argv[2]), device="cpu")
with open_knowledge_base(settings) as kb:
    started = time.perf_counter()
    report = kb.ingest([Path(sys.argv[1])])
    assert not report.failed, report.failed
    print(report.chunks_written, time.perf_counter() - started)
"""
LARGE_PIECE_BYTES = 64 * 1024


def write_large_text(path: Path, mib: float) -> str:
    """Plain support prose of about `mib` MiB in paragraphs, written to `path`; returns the text."""
    rng = random.Random(1)
    paragraphs, size = [], 0
    while size < mib * 2**20:
        paragraph = synthetic_page(rng, len(paragraphs)).replace("#", "").strip()
        paragraphs.append(paragraph)
        size += len(paragraph) + 2
    text = "\n\n".join(paragraphs) + "\n"
    path.write_text(text, encoding="utf-8")
    return text


def split_text(text: str, folder: Path) -> None:
    """The same text as files of about LARGE_PIECE_BYTES each, cut at paragraph breaks."""
    folder.mkdir()
    start, number = 0, 0
    while start < len(text):
        end = text.find("\n\n", start + LARGE_PIECE_BYTES)
        end = len(text) if end < 0 else end + 2
        (folder / f"piece-{number:04d}.txt").write_text(text[start:end], encoding="utf-8")
        start, number = end, number + 1


def ingest_in_child(path: Path, home: Path) -> tuple[int, float, float]:
    """(chunks, seconds, peak RSS in MiB) of a fresh process ingesting `path`."""
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    child = subprocess.Popen(
        [sys.executable, "-c", _INGEST_CHILD, str(path), str(home)], stdout=subprocess.PIPE, env=env, cwd=REPO
    )
    output = child.stdout.read().decode()
    _, status, usage = os.wait4(child.pid, 0)
    child.returncode = os.waitstatus_to_exitcode(status)
    if child.returncode != 0:
        raise RuntimeError(f"the ingest child failed with exit code {child.returncode}")
    chunks, seconds = output.split()
    return int(chunks), float(seconds), usage.ru_maxrss / 1024


def peak_rss_mib(who: int) -> float:
    return resource.getrusage(who).ru_maxrss / 1024  # Linux reports KiB


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=500)
    parser.add_argument("--large-mb", type=float, default=1.0, help="size of the one large text file, MiB")
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

        text = write_large_text(Path(root) / "large.txt", args.large_mb)
        split_text(text, Path(root) / "pieces")
        large = ingest_in_child(Path(root) / "large.txt", Path(root) / "home-large")
        pieces = ingest_in_child(Path(root) / "pieces", Path(root) / "home-pieces")

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
    for name, (count, seconds, rss) in (
        (f"one {args.large_mb:g} MiB text file", large),
        (f"the same text in {LARGE_PIECE_BYTES // 1024} KiB files", pieces),
    ):
        print(
            f"{name}: {count} chunks in {seconds:.1f} s = {count / seconds:.1f} chunks/s, peak RSS {rss:.0f} MiB"
        )
    print(
        f"large file / pieces: peak RSS {large[2] / pieces[2]:.2f}x, "
        f"throughput {(large[0] / large[1]) / (pieces[0] / pieces[1]):.2f}x"
    )
    print(f"BENCH ingest {ratio:.3f} pipeline chunks/s over raw SentenceTransformer.encode chunks/s")


if __name__ == "__main__":
    main()
