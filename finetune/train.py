"""Fine-tunes the base LLM on support transcripts and publishes the result as an adapter folder.

    tunedesk train data/transcripts --name brightwave [--max-steps 200] [--resume]

Data: conversations are loaded, cleaned and split by `finetune.dataset.prepare_data`, then tokenized
with the loss on the assistant's tokens only. With a knowledge base (`--context rag`), each agent reply
is trained under the tuned+rag prompt with retrieved sources instead (finetune/raft.py). Training is
transformers' Trainer with a peft LoRA model (default), a full fine-tune (`training.method = "full"`,
small models), QLoRA (CUDA + bitsandbytes) or another peft method (DoRA, IA3, prefix or prompt tuning:
finetune/methods.py). Each batch is packed into one row without padding (finetune/collate.py), so no
compute goes to padding and no sample attends to another (prefix/prompt tuning: padded rows). The same
command uses CUDA with bf16 when present, else the CPU. `data.mix_in` adds general text to the training
data; a run whose general-text perplexity rose over `training.max_forgetting` is marked (finetune/forgetting.py).

Runs live in `<home>/runs/<name>/` with a sealed checkpoint every `training.save_steps`; `--resume`
continues from the newest complete one and ends with the same weights as an uninterrupted run. The
adapter is written to a staging folder and renamed to `<home>/adapters/<name>/` only at the end, so a
crash or a diverged loss (NaN/inf stops the run) never touches the previous adapter.

Multi-GPU data parallel needs no code change: launch the same command through accelerate, e.g.
`accelerate launch --num_processes 4 $(which tunedesk) train data/transcripts --name brightwave`.
Every process trains on its share of each batch; only the main one publishes.
"""

from __future__ import annotations

import contextlib
import json
import shutil
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import torch
from accelerate import PartialState
from transformers import PreTrainedModel, PrinterCallback, Trainer, TrainerCallback, set_seed

from core.device import Device, resolve_device
from core.settings import Settings, TrainingSettings
from finetune import adapters, checkpoints, forgetting, general_probe, methods
from finetune.base_model import ensure_base_model, load_base_model, load_tokenizer
from finetune.callbacks import ProgressBar, TrainingDiverged
from finetune.collate import IGNORE_INDEX, PackCollator, PadCollator
from finetune.dataset import prepare_data
from finetune.perplexity import general_text_samples
from finetune.plots import loss_curves
from finetune.raft import RaftContext, build_raft_examples
from finetune.recipe import (
    TrainError,
    TrainResult,
    check_names,
    measure_perplexities,
    publish_adapter,
    run_metrics,
    training_arguments,
    training_callbacks,
)
from finetune.tokenize import tokenize_conversation

RUN_CONFIG = "run_config.json"

__all__ = ["TrainError", "TrainResult", "TrainingDiverged", "build_model", "build_trainer", "train"]


def train(
    settings: Settings,
    data_paths: Sequence[Path],
    name: str,
    *,
    resume: bool = False,
    force: bool = False,
    callbacks: Sequence[TrainerCallback] = (),
    context: RaftContext | None = None,
) -> TrainResult:
    """Prepare the data, train, measure perplexity before/after, publish `<home>/adapters/<name>/`.

    `callbacks` are extra Trainer callbacks, e.g. a UI's progress display. With a `context`, each agent
    reply is trained under the tuned+rag prompt with retrieved sources (`finetune.raft`); validation stays
    on the plain conversations, so perplexities compare with adapters trained without context.
    """
    state = PartialState()
    target = adapters.adapter_dir(settings.adapters_dir, name)
    run_dir = settings.layout.runs / name
    if state.is_main_process:
        check_names(target, run_dir, resume=resume, force=force)
    state.wait_for_everyone()

    base = settings.model.base
    tokenizer = load_tokenizer(base, settings.models_dir)
    data = settings.data
    prepared = prepare_data(list(data_paths), tokenizer, data)
    started = time.perf_counter()
    if context is None:
        train_samples = _tokenize_all(prepared.train, tokenizer, data.max_tokens)
        described: dict = {"mode": "none"}
    else:
        train_samples, described = _raft_samples(settings, prepared.train, tokenizer, context)
    build_s = time.perf_counter() - started
    validation_samples = _tokenize_all(prepared.validation, tokenizer, data.max_tokens)
    if not train_samples:
        raise TrainError(_no_data_message(data_paths, prepared.report.to_dict(), data.max_tokens))

    mixed = forgetting.mix_in_samples(data.mix_in, tokenizer, max_tokens=data.max_tokens)
    train_samples += mixed

    config = _resolved_config(settings, prepared.data_hash, len(train_samples), len(validation_samples))
    config["context"] = described
    checkpoint = _resume_point(run_dir, config) if resume else None
    if state.is_main_process:
        run_dir.mkdir(parents=True, exist_ok=True)
        checkpoints.write_json_atomic(run_dir / RUN_CONFIG, config)

    device = resolve_device(settings.device)
    training = settings.training
    set_seed(training.seed)  # LoRA initialisation draws from the global RNG
    model = build_model(training, base, settings.models_dir, device)
    general_samples = general_text_samples(tokenizer, max_tokens=data.max_tokens)
    probe_items = general_probe.probe_items()
    # "Before" is the base model: prefix and prompt tuning start from random virtual tokens, which are not
    # the identity that a fresh LoRA or IA3 adapter is, so the adapter is switched off for these figures.
    with _base_only(model):
        before = measure_perplexities(
            model, validation_samples, general_samples, tokenizer.pad_token_id, training.batch_size
        )
        probe_before = general_probe.run_probe(model, tokenizer, probe_items, batch_size=training.batch_size)

    trainer, progress = build_trainer(
        model, tokenizer, train_samples, validation_samples, training, run_dir, device
    )
    for callback in callbacks:
        trainer.add_callback(callback)
    started = time.perf_counter()
    trainer.train(resume_from_checkpoint=str(checkpoint) if checkpoint else None)
    runtime_s = time.perf_counter() - started

    after = measure_perplexities(
        trainer.model, validation_samples, general_samples, tokenizer.pad_token_id, training.batch_size
    )
    curves = loss_curves(trainer.state.log_history)
    context_figures = {**described, "build_s": round(build_s, 2)}
    forgetting_figures = forgetting.assess(
        before.general_text,
        after.general_text,
        probe_before,
        general_probe.run_probe(trainer.model, tokenizer, probe_items, batch_size=training.batch_size),
        max_forgetting=training.max_forgetting,
        mix_in=data.mix_in,
        mixed_samples=len(mixed),
    )
    metrics = run_metrics(
        trainer,
        curves,
        before,
        after,
        progress,
        runtime_s,
        {"context": context_figures, "forgetting": forgetting_figures},
    )
    if state.is_main_process:
        record = adapters.AdapterRecord(
            name=name,
            base_model=base,
            base_path=ensure_base_model(base, settings.models_dir),
            method=methods.recorded_method(training.method, use_dora=training.use_dora),
            data_hash=prepared.data_hash,
            config=config,
            report=prepared.report.to_dict(),
            metrics=metrics.to_dict(),
        )
        publish_adapter(settings.adapters_dir, target, trainer.model, tokenizer, record, curves)
        shutil.rmtree(run_dir, ignore_errors=True)
    state.wait_for_everyone()
    return TrainResult(target, metrics, prepared.report.to_dict(), checkpoint.name if checkpoint else None)


def build_trainer(
    model: PreTrainedModel,
    tokenizer,
    train_samples: list[dict],
    validation_samples: list[dict],
    training: TrainingSettings,
    run_dir: Path,
    device: Device,
) -> tuple[Trainer, ProgressBar]:
    """The Trainer of one run over pre-tokenized samples, with our callbacks; also used by the benchmark."""
    progress = ProgressBar()
    packed = methods.packs(training.method)
    # Virtual tokens go in front of a whole row, so prefix/prompt tuning gets one padded row per sample;
    # its padding (attention mask 0) is not counted as tokens seen.
    tokens_seen = {} if packed else {"include_num_input_tokens_seen": "non_padding"}
    micro_batch, accumulation = micro_batching(
        training.batch_size, training.gradient_accumulation, _mean_length(train_samples), training.pack_tokens
    )
    trainer = Trainer(
        model=model,
        args=training_arguments(
            training,
            run_dir,
            device,
            has_validation=bool(validation_samples),
            per_device_train_batch_size=micro_batch,
            per_device_eval_batch_size=micro_batch,
            gradient_accumulation_steps=accumulation,
            **tokens_seen,
        ),
        train_dataset=train_samples,
        eval_dataset=validation_samples or None,
        data_collator=PackCollator() if packed else PadCollator(tokenizer.pad_token_id),
        processing_class=tokenizer,
        callbacks=training_callbacks(training, progress, has_validation=bool(validation_samples)),
    )
    # Our progress bar shows loss and tokens/s; the default printer would repeat every log line.
    trainer.remove_callback(PrinterCallback)
    return trainer, progress


def micro_batching(
    batch_size: int, accumulation: int, mean_tokens: float, pack_tokens: int
) -> tuple[int, int]:
    """(sequences per forward pass, accumulation steps) with the same effective batch as the settings.

    A packed batch attends through one block-diagonal mask over all its tokens, which costs the square of
    the packed length: eight 850-token retrieval-augmented samples packed together trained about 7x slower
    than the same samples one at a time (measured on the packaged model, CPU). So a batch is split into the
    largest divisor of `batch_size` whose packed length stays within `pack_tokens`.
    """
    fits = max(1, int(pack_tokens // max(mean_tokens, 1.0)))
    micro = max(size for size in range(1, batch_size + 1) if batch_size % size == 0 and size <= fits)
    return micro, accumulation * (batch_size // micro)


def _mean_length(samples: list[dict]) -> float:
    return sum(len(sample["input_ids"]) for sample in samples) / max(len(samples), 1)


def _resume_point(run_dir: Path, config: dict) -> Path | None:
    """The newest complete checkpoint of a run with the same data and settings (None: start afresh)."""
    try:
        previous = json.loads((run_dir / RUN_CONFIG).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        print(
            f"note: no earlier run of {run_dir.name!r} to resume; starting from the beginning",
            file=sys.stderr,
        )
        return None
    changed = sorted(key for key in config.keys() | previous.keys() if config.get(key) != previous.get(key))
    if changed:
        raise TrainError(
            f"--resume: the run was started with different {', '.join(changed)}; "
            "resume with the same data and settings, or pass --force without --resume to start over"
        )
    checkpoint, incomplete = checkpoints.last_complete_checkpoint(run_dir)
    if incomplete and PartialState().is_main_process:
        names = ", ".join(folder.name for folder in incomplete)
        start = checkpoint.name if checkpoint else "the start"
        print(f"warning: skipping incomplete checkpoint(s) {names}; resuming from {start}", file=sys.stderr)
        checkpoints.discard(incomplete)
    return checkpoint


def _no_data_message(data_paths: Sequence[Path], report: dict, max_tokens: int) -> str:
    if report["conversations_kept"]:
        return (
            f"no usable training conversations: {report['conversations_kept']} kept, but none has an assistant "
            f"turn within data.max_tokens ({max_tokens}); raise data.max_tokens"
        )
    dropped = ", ".join(f"{reason} {entry['count']}" for reason, entry in report["dropped"].items()) or "none"
    return (
        f"no usable training conversations in {', '.join(map(str, data_paths))} "
        f"({report['conversations_in']} read, dropped: {dropped}, problems: {report['problems']['count']}); "
        "give files with user and assistant turns, and see `tunedesk data check DATA` for details"
    )


def _raft_samples(
    settings: Settings, conversations, tokenizer, context: RaftContext
) -> tuple[list[dict], dict]:
    """Tokenized RAFT examples and the record of how they were built (settings, index, counts)."""
    raft = settings.raft
    examples = build_raft_examples(
        conversations,
        context.retriever,
        context.prompt_format(tokenizer),
        k=raft.k,
        oracle_probability=raft.oracle_probability,
        min_support=raft.min_support,
        seed=raft.seed,
        decline_opening=settings.assistant.abstain_message,
        keep_unsupported=raft.keep_unsupported,
    )
    # A RAFT sample is the whole answer-time prompt plus the reply: the engine's own budget bounds it.
    samples = _tokenize_all(
        examples.conversations, tokenizer, settings.assistant.context_tokens, last_turn_only=True
    )
    described = {
        "mode": "rag",
        **raft.model_dump(mode="json"),
        "index_generation": context.index_generation,
        "embedding_model": context.embedding_model,
        "counts": {**examples.counts.to_dict(), "samples": len(samples)},
    }
    return samples, described


def _tokenize_all(conversations, tokenizer, max_tokens: int, *, last_turn_only: bool = False) -> list[dict]:
    samples = [
        tokenize_conversation(conversation, tokenizer, max_tokens=max_tokens, last_turn_only=last_turn_only)
        for conversation in conversations
    ]
    # A sample whose assistant turns were all cut off teaches nothing and would divide the loss by zero.
    return [sample for sample in samples if any(label != IGNORE_INDEX for label in sample["labels"])]


def _resolved_config(settings: Settings, data_hash: str, n_train: int, n_validation: int) -> dict:
    return {
        "base_model": settings.model.base,
        "training": settings.training.model_dump(mode="json"),
        "data": settings.data.model_dump(mode="json"),
        "data_hash": data_hash,
        "train_conversations": n_train,
        "validation_conversations": n_validation,
    }


def _base_only(model: PreTrainedModel) -> contextlib.AbstractContextManager:
    """The base model's view of `model`: its peft adapter disabled (a full fine-tune has none)."""
    from peft import PeftModel

    return model.disable_adapter() if isinstance(model, PeftModel) else contextlib.nullcontext()


def build_model(training: TrainingSettings, base: str, models_dir: Path, device: Device) -> PreTrainedModel:
    match training.method:
        case "full":
            # Full fine-tuning keeps fp32 master weights; on CUDA the Trainer adds bf16 autocast.
            return load_base_model(base, models_dir, device, dtype=torch.float32)
        case "qlora":
            _require_qlora(device)
            from peft import prepare_model_for_kbit_training

            model = load_base_model(base, models_dir, device, quantize_4bit=True)
            return _with_peft(prepare_model_for_kbit_training(model), training)
        case _:
            return _with_peft(load_base_model(base, models_dir, device), training)


def _with_peft(model: PreTrainedModel, training: TrainingSettings) -> PreTrainedModel:
    from peft import get_peft_model

    config = methods.peft_config(
        training.method,
        rank=training.lora_rank,
        alpha=training.lora_alpha,
        dropout=training.lora_dropout,
        target_modules=training.target_modules,
        use_dora=training.use_dora,
        num_virtual_tokens=training.num_virtual_tokens,
    )
    return get_peft_model(model, config)


def _require_qlora(device: Device) -> None:
    if not device.is_cuda:
        raise TrainError("training.method qlora: needs a CUDA GPU; use method lora (or full) on this machine")
    try:
        import bitsandbytes  # noqa: F401
    except ImportError:
        raise TrainError(
            "training.method qlora: install bitsandbytes (pip install bitsandbytes) or use lora"
        ) from None
