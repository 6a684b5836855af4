"""The pieces every training recipe shares: arguments, callbacks, perplexities, typed metrics, publishing.

A recipe (finetune/train.py for SFT, dpo.py, kto.py) is one readable function: load data, build a
model, train, measure, publish. What is the same in all of them lives here, public and documented:
the Trainer arguments built from `TrainingSettings`, our callbacks, perplexity before/after on the
held-out answers and on general text, the metrics as a typed object (written to `metrics.json` in the
shape the UI and reports read), and publishing an adapter folder atomically (weights, tokenizer, the
GGUF LoRA for llama.cpp, the JSON files describing them, the loss curves). Knows nothing about data
formats or where preferences come from.
"""

from __future__ import annotations

import hashlib
import json
import math
import shutil
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from transformers import EarlyStoppingCallback, PreTrainedModel, Trainer, TrainingArguments

from core.device import Device
from core.settings import TrainingSettings
from finetune import adapters
from finetune.callbacks import CheckpointSeal, DivergenceGuard, ProgressBar
from finetune.collate import IGNORE_INDEX
from finetune.conversation import Conversation, Message
from finetune.perplexity import perplexity
from finetune.plots import write_loss_curves
from finetune.tokenize import tokenize_conversation


class TrainError(RuntimeError):
    """Training cannot start or continue; the message names the cause and what to do."""


@dataclass(frozen=True)
class Perplexities:
    """Perplexity of one model on the held-out answers and on general English (NaN: nothing to score)."""

    validation: float
    general_text: float


@dataclass(frozen=True)
class RunMetrics:
    """What one training run measured. `sections` holds a recipe's own figures (SFT's `context`,
    DPO's `dpo`, KTO's `kto`), each written under its name in `metrics.json`."""

    steps: int
    max_steps: int
    train_loss: float | None
    before: Perplexities
    after: Perplexities
    train_tokens: int
    tokens_per_second: float
    runtime_s: float
    sections: dict[str, dict[str, Any]] = field(default_factory=dict)

    @property
    def stopped_early(self) -> bool:
        return self.steps < self.max_steps

    @property
    def validation_loss(self) -> float | None:
        """Mean negative log-likelihood per held-out answer token after training; None without a split."""
        value = self.after.validation
        return math.log(value) if math.isfinite(value) else None

    def to_dict(self) -> dict[str, Any]:
        """The `metrics.json` form; JSON has no NaN, so a figure that could not be measured is null."""
        return {
            "steps": self.steps,
            "max_steps": self.max_steps,
            "stopped_early": self.stopped_early,
            "train_loss": self.train_loss,
            "validation_loss": self.validation_loss,
            "perplexity": {
                key: {
                    "before": _finite_or_none(getattr(self.before, key)),
                    "after": _finite_or_none(getattr(self.after, key)),
                }
                for key in ("validation", "general_text")
            },
            "train_tokens": self.train_tokens,
            "tokens_per_second": self.tokens_per_second,
            "runtime_s": self.runtime_s,
            **self.sections,
        }


@dataclass(frozen=True)
class TrainResult:
    adapter_dir: Path
    metrics: RunMetrics
    report: dict  # what was trained on: the cleaning report, or the preference counts
    resumed_from: str | None


def training_arguments(
    training: TrainingSettings,
    run_dir: Path,
    device: Device,
    *,
    has_validation: bool,
    arguments_class: type[TrainingArguments] = TrainingArguments,
    **overrides: Any,
) -> TrainingArguments:
    """Trainer arguments from the training settings; a recipe passes its TRL config class
    (`DPOConfig`, `KTOConfig`) and its own options as `overrides`."""
    evaluate = has_validation
    values = dict(
        output_dir=str(run_dir),
        num_train_epochs=training.epochs,
        max_steps=training.max_steps,
        learning_rate=training.learning_rate,
        per_device_train_batch_size=training.batch_size,
        per_device_eval_batch_size=training.batch_size,
        gradient_accumulation_steps=training.gradient_accumulation,
        seed=training.seed,
        # Packed batches carry no padding, so any order costs the same: plain shuffling. (The
        # length-grouped sampler only sorts within megabatches of len(data) // (4 * batch) batches,
        # so on a small data set it left batches as random as this one.)
        train_sampling_strategy="random",
        logging_steps=1,
        logging_nan_inf_filter=False,  # the divergence guard must see the real loss
        # Every token of a packed batch is real; "non_padding" would compare with the pad id, which
        # is the end-of-turn token for many chat models, and miss those.
        include_num_input_tokens_seen="all",
        save_strategy="steps",
        save_steps=training.save_steps,
        save_total_limit=2,  # the newest and one fallback in case the newest is cut short
        eval_strategy="steps" if evaluate else "no",
        eval_steps=training.eval_steps if evaluate else None,
        # Early stopping ends the run; the adapter is the last step's, not rolled back to the best one.
        load_best_model_at_end=False,
        # Only eval_loss is used: keeping every evaluation batch's logits (vocabulary-wide) costs memory.
        prediction_loss_only=True,
        metric_for_best_model="eval_loss" if evaluate else None,
        greater_is_better=False if evaluate else None,
        use_cpu=device.name == "cpu",
        bf16=device.is_cuda and device.dtype == torch.bfloat16,
        fp16=device.is_cuda and device.dtype != torch.bfloat16,
        remove_unused_columns=False,
        dataloader_num_workers=0,
        report_to="none",
        disable_tqdm=True,
    )
    return arguments_class(**{**values, **overrides})


def training_callbacks(training: TrainingSettings, progress: ProgressBar, *, has_validation: bool) -> list:
    """Checkpoint sealing, the divergence guard, the progress bar and (with a validation split) early stopping."""
    callbacks = [DivergenceGuard(), CheckpointSeal(), progress]
    if has_validation and training.early_stopping_patience > 0:
        # A change below 1e-4 nats is float32 rounding between evaluations (the sum order of a batch
        # shifts with the weights), not progress: it must not reset the patience.
        callbacks.append(
            EarlyStoppingCallback(
                early_stopping_patience=training.early_stopping_patience, early_stopping_threshold=1e-4
            )
        )
    return callbacks


def measure_perplexities(
    model: PreTrainedModel, validation: list[dict], general: list[dict], pad_token_id: int, batch_size: int
) -> Perplexities:
    return Perplexities(
        validation=perplexity(model, validation, pad_token_id=pad_token_id, batch_size=batch_size),
        general_text=perplexity(model, general, pad_token_id=pad_token_id, batch_size=batch_size),
    )


def run_metrics(
    trainer: Trainer,
    curves: dict,
    before: Perplexities,
    after: Perplexities,
    progress: ProgressBar,
    runtime_s: float,
    sections: dict[str, dict[str, Any]] | None = None,
) -> RunMetrics:
    """The run's figures from the trainer's state and log; `sections` are the recipe's own (see RunMetrics)."""
    recent = [loss for _, loss in curves["train"][-10:]]
    rates = progress.tokens_per_second[1:] or progress.tokens_per_second  # the first step includes warm-up
    return RunMetrics(
        steps=trainer.state.global_step,
        max_steps=trainer.state.max_steps,
        train_loss=sum(recent) / len(recent) if recent else None,
        before=before,
        after=after,
        train_tokens=trainer.state.num_input_tokens_seen,
        tokens_per_second=sum(rates) / len(rates) if rates else 0.0,
        runtime_s=runtime_s,
        sections=sections or {},
    )


def last_logged(log_history: list[dict], keys: Sequence[str]) -> dict[str, float]:
    """The last logged value of each of `keys` (e.g. TRL's `rewards/margins`), named with `_` for `/`."""
    found = {}
    for entry in log_history:
        for key in keys:
            if key in entry:
                found[key.replace("/", "_")] = entry[key]
    return found


def check_names(target: Path, run_dir: Path, *, resume: bool, force: bool) -> None:
    """Refuse to overwrite an adapter or an unfinished run unless asked; `force` clears the old run."""
    if target.exists() and not force:
        raise TrainError(
            f"adapter {target.name!r} already exists; pass --force to replace it, or choose another --name"
        )
    if run_dir.exists() and not resume:
        if not force:
            raise TrainError(
                f"an unfinished run of {target.name!r} exists; pass --resume to continue it or --force to start over"
            )
        shutil.rmtree(run_dir)


def answer_samples(rows: Sequence[tuple[list[dict], list[dict]]], tokenizer, max_tokens: int) -> list[dict]:
    """(prompt messages, answer messages) rows as tokenized conversations, scored on the answer only;
    rows whose answer was cut off entirely are left out."""
    samples = []
    for prompt, answer in rows:
        messages = tuple(Message(m["role"], m["content"]) for m in [*prompt, *answer])
        sample = tokenize_conversation(
            Conversation(messages, "preferences"), tokenizer, max_tokens=max_tokens
        )
        if any(label != IGNORE_INDEX for label in sample["labels"]):
            samples.append(sample)
    return samples


def split_rows(rows: list[dict], *, validation_fraction: float, seed: int) -> tuple[list[dict], list[dict]]:
    """(train, validation), decided per row by a hash of its content and the seed, as for conversations:
    a row stays on its side when others are added."""
    if len(rows) < 2 or validation_fraction <= 0:
        return list(rows), []
    scores = [_score(row, seed) for row in rows]
    held = {index for index, score in enumerate(scores) if score < validation_fraction}
    if not held or len(held) == len(rows):
        held = {min(range(len(rows)), key=scores.__getitem__)}
    return [r for i, r in enumerate(rows) if i not in held], [r for i, r in enumerate(rows) if i in held]


def rows_hash(rows: Sequence[dict]) -> str:
    """sha256 of the rows in order: what a preference run trained on."""
    digest = hashlib.sha256()
    for row in rows:
        digest.update(json.dumps(row, ensure_ascii=False, sort_keys=True).encode("utf-8") + b"\n")
    return digest.hexdigest()


def continue_adapter(base_model: PreTrainedModel, adapter_path: Path) -> PreTrainedModel:
    """The adapter at `adapter_path` on `base_model`, trainable: preference recipes start from it."""
    from peft import PeftModel

    return PeftModel.from_pretrained(base_model, adapter_path, is_trainable=True)


def without_reference(model: PreTrainedModel) -> PreTrainedModel:
    """The trained adapter alone: TRL keeps a frozen copy named "ref" as the reference policy."""
    if "ref" in model.peft_config:
        model.delete_adapter("ref")
    model.set_adapter("default")
    return model


def publish_adapter(
    adapters_dir: Path,
    target: Path,
    model: PreTrainedModel,
    tokenizer,
    record: adapters.AdapterRecord,
    curves: dict,
) -> None:
    """Write the adapter (weights, tokenizer, GGUF LoRA, JSON files, loss curves) into a staging folder
    and rename it to `target`: a crash leaves the previous adapter of that name as it was."""
    staging = adapters.new_staging_dir(adapters_dir, target.name)
    try:
        adapters.write_adapter(staging, model, tokenizer, record)
        write_loss_curves(curves, staging)
        adapters.publish(staging, target)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise


def _finite_or_none(value: float) -> float | None:
    return value if math.isfinite(value) else None


def _score(row: dict, seed: int) -> float:
    canonical = json.dumps(row, ensure_ascii=False, sort_keys=True)
    digest = hashlib.sha256(f"{seed}:{canonical}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64
