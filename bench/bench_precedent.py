"""What showing how the team answered before costs: picking the nearest past exchange, against encoding the question.

    python bench/bench_precedent.py

Builds the example store of data/transcripts (as `tunedesk fewshot-index` does, with the real embedding model)
in a temporary home, with the questions of data/eval/questions.jsonl held out, then for every question times,
alternating the order so drift in machine load hits both, the embedding model encoding the question alone
and `ExampleStore.pick(question, 1)` (encode, a FAISS search of each view, the customer turns and the whole
exchanges, one exchange per customer turn): what the engine runs under every answer of a mode taught by the
transcripts. Generation, which takes seconds, is in neither.
The last line is the ratio of the pick's median time to the encoding's.
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from assistant.builders import build_embedder, build_example_store  # noqa: E402
from assistant.evaluation.questions import load_questions  # noqa: E402
from assistant.fewshot_store import ExampleStore  # noqa: E402
from core.settings import Settings  # noqa: E402


def main() -> None:
    questions, problems = load_questions(REPO / "data/eval/questions.jsonl")
    assert not problems, problems
    with tempfile.TemporaryDirectory() as folder:
        settings = Settings(home=Path(folder), device="cpu")
        embedder = build_embedder(settings)
        started = time.perf_counter()
        manifest, _, _ = build_example_store(settings, [REPO / "data/transcripts"], embedder=embedder)
        built_s = time.perf_counter() - started
        store = ExampleStore.open(
            settings.fewshot_dir,
            embedder,
            held_out_questions=[item.question for item in questions],
            leak_threshold=settings.data.eval_leak_threshold,
        )
        print(f"stored {manifest.exchanges} exchanges in {built_s:.1f} s; {len(store)} can be shown")
        for item in questions[:5]:  # warm up: the model's first batches, the index's first search
            store.pick(item.question, 1)
        encodes, picks, similarities = [], [], []
        for number, item in enumerate(questions):
            for which in (0, 1) if number % 2 == 0 else (1, 0):
                started = time.perf_counter()
                if which == 0:
                    embedder.encode([item.question])
                    encodes.append(time.perf_counter() - started)
                else:
                    best = store.pick(item.question, 1)
                    picks.append(time.perf_counter() - started)
                    similarities.append(best[0].score)
    encode_ms, pick_ms = statistics.median(encodes) * 1000, statistics.median(picks) * 1000
    print(
        f"{len(questions)} questions; similarity of the nearest past exchange: median {statistics.median(similarities):.3f}"
    )
    print(f"encode the question:  median {encode_ms:.1f} ms, max {max(encodes) * 1000:.1f} ms")
    print(f"pick the nearest:     median {pick_ms:.1f} ms, max {max(picks) * 1000:.1f} ms")
    print(
        f"BENCH precedent {pick_ms / encode_ms:.3f} median time of picking the nearest past exchange over "
        "encoding the question alone (no generation)"
    )


if __name__ == "__main__":
    main()
