"""Early stop benchmark: streamed answers whose decoding stops where the answer filter ends them, against the
same engine decoding every answer to its token limit first, on the same questions in the same run.

    python bench/bench_early_stop.py [--questions 16] [--tokens 256]

With the packaged SmolLM2-135M-Instruct served by llama.cpp (the default backend) and the sample documents
indexed with the packaged embedding model, it asks the first `--questions` `doc` questions of
data/eval/questions.jsonl in rag mode (the mode whose answers loop most often), streamed as the app asks them,
at the app's answer length.
The baseline is the engine as it was: the model decodes until it stops or reaches the limit, then the filter
cuts the answer (a closing fence, a control token, a repeat, a loop). Both give the same text (checked);
runs are interleaved question by question, each side asking first half the time (the second ask of a
prompt finds it in llama.cpp's cache). The last line is the ratio of the baseline's time to the early
stop's.
"""

from __future__ import annotations

import argparse
import contextlib
import copy
import json
import shutil
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from assistant.builders import build_assistant, open_knowledge_base  # noqa: E402
from assistant.decoding import StopDecoding  # noqa: E402
from core.settings import Settings  # noqa: E402


class DecodesToTheEnd:
    """The engine's generator as a stream that cannot stop early: the whole completion first, then its text
    handed over in one piece, so the filter cuts it where it did before decoding could stop."""

    def __init__(self, inner) -> None:
        self.inner = inner
        self.adapters = inner.adapters
        self.special_tokens = inner.special_tokens

    def count_tokens(self, messages):
        return self.inner.count_tokens(messages)

    def complete(self, messages, *, adapter, sampling=None):
        return self.inner.complete(messages, adapter=adapter, sampling=sampling)

    def stream(self, messages, *, adapter, sampling=None):
        completion = self.inner.complete(messages, adapter=adapter, sampling=sampling)
        with contextlib.suppress(StopDecoding):  # told to stop: everything was decoded already
            yield completion.text
        return completion.usage


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--questions", type=int, default=16)
    parser.add_argument("--tokens", type=int, default=256, help="answer length limit (the app's default)")
    args = parser.parse_args()
    lines = (REPO / "data/eval/questions.jsonl").read_text(encoding="utf-8").splitlines()
    questions = [row["question"] for row in map(json.loads, lines) if row.get("kind") == "doc"][
        : args.questions
    ]
    work = Path(tempfile.mkdtemp(prefix="bench-early-stop-"))
    try:
        settings = Settings(home=work, device="cpu", generation={"max_new_tokens": args.tokens})
        with open_knowledge_base(settings) as knowledge_base:
            knowledge_base.ingest([REPO / "data/docs"])
        early = build_assistant(settings)
        baseline = copy.copy(early)
        baseline.generator = DecodesToTheEnd(early.generator)
        "".join(early.stream(questions[0], mode="rag"))  # warm-up: llama.cpp started, models loaded
        times = {"early": 0.0, "baseline": 0.0}
        tokens = {"early": 0, "baseline": 0}
        for index, question in enumerate(questions):
            texts = {}
            order = [("baseline", baseline), ("early", early)]
            # The second of two asks finds its prompt in llama.cpp's cache: each side goes first half the time.
            for name, assistant in order if index % 2 == 0 else order[::-1]:
                started = time.perf_counter()
                stream = assistant.stream(question, mode="rag")
                texts[name] = "".join(stream)
                times[name] += time.perf_counter() - started
                tokens[name] += stream.answer.completion_tokens
            assert texts["early"] == texts["baseline"], (question, texts)
        print(
            f"{len(questions)} rag answers, limit {args.tokens} tokens: decoding to the end "
            f"{tokens['baseline']} tokens in {times['baseline']:.1f} s; stopping where the answer ends "
            f"{tokens['early']} tokens in {times['early']:.1f} s; same text"
        )
        print(
            f"BENCH early_stop {times['baseline'] / times['early']:.3f} time to answer the same questions, "
            "decoding to the limit vs stopping where the answer ends"
        )
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
