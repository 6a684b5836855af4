"""Long training samples: one packed row per batch vs the micro-batches `tunedesk train` uses for them.

    python bench/bench_micro_batching.py [--samples 4] [--repeats 2] [--tokens 700 1000]

Retrieval-augmented samples (the tuned+rag prompt with four sources, plus the reply) are 700-1,000 tokens
long. Packed into one row, a batch attends through one block-diagonal mask over all its tokens, which costs
the square of the packed length; `finetune.train.micro_batching` splits such batches into micro-batches
with gradient accumulation instead (the same effective batch). This times one forward and backward pass
of the packaged SmolLM2 with a LoRA (q/k/v/o, r=16) over the same random samples both ways, in one run,
alternating `--repeats` times and keeping the fastest of each.
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=4)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--tokens", type=int, nargs=2, default=(700, 1000), help="sample length range")
    parser.add_argument("--models-dir", type=Path, default=None, help="cache of the converted base model")
    arguments = parser.parse_args()

    from peft import LoraConfig, get_peft_model

    from core.device import resolve_device
    from finetune.base_model import load_base_model
    from finetune.collate import PackCollator
    from finetune.train import micro_batching

    models_dir = arguments.models_dir or Path(tempfile.gettempdir()) / "tunedesk-bench-models"
    model = load_base_model("SmolLM2-135M-Instruct", models_dir, resolve_device("cpu"))
    model = get_peft_model(
        model, LoraConfig(r=16, lora_alpha=32, target_modules=["q_proj", "k_proj", "v_proj", "o_proj"])
    )
    model.train()
    rng = random.Random(0)
    samples = []
    for _ in range(arguments.samples):
        size = rng.randint(*arguments.tokens)
        ids = [rng.randint(100, 40000) for _ in range(size)]
        samples.append(
            {
                "input_ids": ids,
                "labels": [-100] * (size - 80) + ids[size - 80 :],
                "attention_mask": [1] * size,
            }
        )
    mean = sum(len(sample["input_ids"]) for sample in samples) / len(samples)
    micro, _ = micro_batching(len(samples), 1, mean, pack_tokens=1024)
    packed = [PackCollator()(samples)]
    split = [PackCollator()(samples[start : start + micro]) for start in range(0, len(samples), micro)]

    def seconds(batches) -> float:
        started = time.perf_counter()
        for batch in batches:
            model(**batch).loss.backward()
        model.zero_grad()
        return time.perf_counter() - started

    best = {"packed": float("inf"), "micro": float("inf")}
    for _ in range(arguments.repeats):
        best["packed"] = min(best["packed"], seconds(packed))
        best["micro"] = min(best["micro"], seconds(split))
    print(f"{arguments.samples} samples, mean {mean:.0f} tokens; micro-batch {micro}")
    print(f"one packed row: {best['packed']:.1f} s; micro-batches: {best['micro']:.1f} s")
    ratio = best["packed"] / best["micro"]
    print(f"BENCH micro_batching {ratio:.2f} seconds per batch, one packed row over micro-batches of {micro}")


if __name__ == "__main__":
    main()
