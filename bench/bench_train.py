"""Training throughput: our Trainer setup vs a plain peft + torch loop with naive padding.

    python bench/bench_train.py [--samples 48] [--repeats 2] [--batch-size 8] [--base SmolLM2-135M-Instruct]

Both train the same LoRA (q/k/v/o, r=16) on the same samples of the bundled transcripts
(data/transcripts, assistant-only labels) for one pass, on CUDA with bf16 when present, else the CPU.
The baseline draws random batches and pads each to its longest sample; ours is transformers' Trainer
as `tunedesk train` sets it up, with each batch packed into one row without padding
(finetune/train.py, finetune/collate.py). Each setup runs in its own process so its peak memory is its
own, and the two alternate `--repeats` times, the fastest run of each counting. Throughput counts
non-padding tokens only: padding is wasted work, not progress.

Without `--base` both train the tests' randomly initialised 2-layer Llama (tests/tiny_models.py: hidden
size 64, the packaged SmolLM2 tokenizer), so a CPU run takes a few minutes; `--base` names a real model
instead.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import random
import resource
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.tiny_models import load_chat_tokenizer, write_tiny_llama  # noqa: E402


def prepared_samples(base: str, models_dir: Path, count: int, max_tokens: int, seed: int) -> list[dict]:
    from core.settings import DataSettings
    from finetune.base_model import load_tokenizer
    from finetune.dataset import prepare_data
    from finetune.tokenize import tokenize_conversation

    tokenizer = load_tokenizer(base, models_dir)
    data = DataSettings(max_tokens=max_tokens, validation_fraction=0.0, seed=seed, eval_questions=None)
    prepared = prepare_data([ROOT / "data" / "transcripts"], tokenizer, data)
    samples = [tokenize_conversation(item, tokenizer, max_tokens=max_tokens) for item in prepared.train]
    samples = [sample for sample in samples if sample["input_ids"]]
    return random.Random(seed).sample(samples, min(count, len(samples)))


def run_trainer(base: str, models_dir: Path, samples: list[dict], batch_size: int, seed: int) -> dict:
    from core.device import resolve_device
    from core.settings import TrainingSettings
    from finetune.base_model import load_tokenizer
    from finetune.train import build_model, build_trainer

    device = resolve_device("auto")
    training = TrainingSettings(
        epochs=1, batch_size=batch_size, save_steps=10**9, early_stopping_patience=0, seed=seed
    )
    tokenizer = load_tokenizer(base, models_dir)
    model = build_model(training, base, models_dir, device)
    with tempfile.TemporaryDirectory() as run_dir:
        trainer, _ = build_trainer(model, tokenizer, samples, [], training, Path(run_dir), device)
        _reset_peak(device)
        started = time.perf_counter()
        trainer.train()
        seconds = _synchronized(device, started)
    return _figures(samples, seconds, device)


def run_naive_loop(base: str, models_dir: Path, samples: list[dict], batch_size: int, seed: int) -> dict:
    import torch
    from peft import LoraConfig, get_peft_model

    from core.device import resolve_device
    from finetune.base_model import load_base_model, load_tokenizer
    from finetune.collate import PadCollator

    device = resolve_device("auto")
    torch.manual_seed(seed)
    tokenizer = load_tokenizer(base, models_dir)
    model = load_base_model(base, models_dir, device)
    config = LoraConfig(
        r=16, lora_alpha=32, lora_dropout=0.05, target_modules=["q_proj", "k_proj", "v_proj", "o_proj"]
    )
    model = get_peft_model(model, config)
    model.train()
    optimizer = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=2e-4)
    collate = PadCollator(tokenizer.pad_token_id)
    order = torch.randperm(len(samples)).tolist()
    _reset_peak(device)
    started = time.perf_counter()
    for start in range(0, len(order), batch_size):
        batch = collate([samples[index] for index in order[start : start + batch_size]])
        batch = {key: value.to(device.name) for key, value in batch.items()}
        with torch.autocast(device.name, dtype=device.dtype, enabled=device.is_cuda):
            loss = model(**batch).loss
        loss.backward()
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
    seconds = _synchronized(device, started)
    figures = _figures(samples, seconds, device)
    figures["padded_tokens"] = sum(
        batch_size_of * max(len(samples[index]["input_ids"]) for index in chunk)
        for chunk in (order[start : start + batch_size] for start in range(0, len(order), batch_size))
        for batch_size_of in [len(chunk)]
    )
    return figures


def _reset_peak(device) -> None:
    if device.is_cuda:
        import torch

        torch.cuda.reset_peak_memory_stats()


def _synchronized(device, started: float) -> float:
    if device.is_cuda:
        import torch

        torch.cuda.synchronize()
    return time.perf_counter() - started


def _figures(samples: list[dict], seconds: float, device) -> dict:
    tokens = sum(len(sample["input_ids"]) for sample in samples)
    if device.is_cuda:
        import torch

        peak_mib = torch.cuda.max_memory_allocated() / 2**20
        where = "GPU"
    else:
        peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux reports KiB
        where = "RSS"
    return {
        "tokens": tokens,
        "seconds": seconds,
        "tokens_per_s": tokens / seconds,
        "peak_mib": peak_mib,
        "peak": where,
    }


def _in_child(job, *args) -> dict:
    # A fresh process per setup: its own peak memory, no warm caches carried from the other one.
    with multiprocessing.get_context("spawn").Pool(1) as pool:
        return pool.apply(job, args)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base", help="A model to train (default: a tiny random Llama, see above).")
    parser.add_argument("--samples", type=int, default=48, help="Conversations trained on by each setup.")
    parser.add_argument(
        "--repeats", type=int, default=2, help="Alternating runs of each setup; the fastest of each counts."
    )
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--max-tokens", type=int, default=1024)
    parser.add_argument("--models-dir", type=Path, default=ROOT / ".tunedesk" / "models")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")

    with tempfile.TemporaryDirectory() as scratch:
        base = args.base or str(write_tiny_llama(Path(scratch), load_chat_tokenizer()))
        samples = prepared_samples(base, args.models_dir, args.samples, args.max_tokens, args.seed)
        lengths = sorted(len(sample["input_ids"]) for sample in samples)
        print(
            f"model {args.base or 'tiny random Llama'}; {len(samples)} samples, tokens min/median/max {lengths[0]}/{lengths[len(lengths) // 2]}/{lengths[-1]}"
        )
        common = (base, args.models_dir, samples, args.batch_size, args.seed)
        naive_runs, our_runs = [], []
        for _ in range(args.repeats):
            naive_runs.append(_in_child(run_naive_loop, *common))
            our_runs.append(_in_child(run_trainer, *common))
    # Other jobs on a shared machine only ever slow a run down, so the fastest run is the least disturbed.
    naive = min(naive_runs, key=lambda figures: figures["seconds"])
    ours = min(our_runs, key=lambda figures: figures["seconds"])
    waste = 1 - naive["tokens"] / naive["padded_tokens"]
    print(
        f"naive loop:      {naive['tokens_per_s']:8.1f} tokens/s  {naive['seconds']:6.1f} s  padding {waste:.0%}  peak {naive['peak']} {naive['peak_mib']:.0f} MiB"
    )
    print(
        f"Trainer packed:  {ours['tokens_per_s']:8.1f} tokens/s  {ours['seconds']:6.1f} s  peak {ours['peak']} {ours['peak_mib']:.0f} MiB"
    )
    for label, runs in (("naive loop", naive_runs), ("Trainer packed", our_runs)):
        rates = ", ".join(f"{run['tokens_per_s']:.1f}" for run in runs)
        print(f"{label} runs: {rates} tokens/s")
    ratio = ours["tokens_per_s"] / naive["tokens_per_s"]
    print(
        f"BENCH train {ratio:.2f} non-padding tokens/s of the Trainer with packed batches vs a plain loop with random padded batches"
    )


if __name__ == "__main__":
    main()
