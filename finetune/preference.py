"""Preference training from an existing adapter: the run that DPO (dpo.py) and KTO (kto.py) share.

A method says which TRL config and trainer it uses, which answers of its rows are the held-out ones
for perplexity, and which logged figures it reports; this module does the rest, as the SFT recipe
does: split the rows, load the starting adapter trainable, measure perplexity before/after (held-out
good answers and general text), train with our arguments and callbacks, publish a new adapter folder
atomically. TRL keeps a frozen copy of the starting adapter as the reference policy, so the new
adapter moves away from the old one only as far as the feedback (and `beta`) ask; the old adapter is
never modified. Knows nothing about where the rows came from.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from transformers import PrinterCallback, TrainerCallback, set_seed

from core.device import resolve_device
from core.settings import Settings
from finetune import adapters
from finetune.base_model import ensure_base_model, load_base_model, load_tokenizer
from finetune.callbacks import ProgressBar
from finetune.perplexity import general_text_samples
from finetune.plots import loss_curves
from finetune.recipe import (
    TrainError,
    TrainResult,
    answer_samples,
    check_names,
    continue_adapter,
    last_logged,
    measure_perplexities,
    publish_adapter,
    rows_hash,
    run_metrics,
    split_rows,
    training_arguments,
    training_callbacks,
    without_reference,
)

Rows = list[dict[str, Any]]


@dataclass(frozen=True)
class PreferenceMethod:
    name: str  # "dpo" | "kto": the metrics section and the config's record
    config_class: type  # TRL's config, e.g. DPOConfig
    trainer_class: type  # TRL's trainer, e.g. DPOTrainer
    options: dict[str, Any]  # the method's own config values, e.g. beta
    good_answers: Callable[[Rows], list[tuple[list[dict], list[dict]]]]  # (prompt, answer) to score
    figures: tuple[str, ...]  # logged keys reported under `name` in metrics.json


def train_preference(
    settings: Settings,
    method: PreferenceMethod,
    rows: Rows,
    from_adapter: str,
    name: str,
    *,
    origin: str,
    skipped: Sequence[str] = (),
    force: bool = False,
    callbacks: Sequence[TrainerCallback] = (),
) -> TrainResult:
    """Train adapter `name` from adapter `from_adapter` on `rows` with `method`; publish it atomically.
    `origin` says where the rows came from and `skipped` what was left out, both for the record."""
    from datasets import Dataset

    target = adapters.adapter_dir(settings.adapters_dir, name)
    run_dir = settings.layout.runs / name
    source = adapters.find_adapter(settings.adapters_dir, from_adapter)
    if source.method == "full":
        raise TrainError(
            f"--from {from_adapter}: a full fine-tune is not an adapter; {method.name.upper()} continues a "
            "LoRA adapter"
        )
    check_names(target, run_dir, resume=False, force=force)
    if not rows:
        raise TrainError(
            f"{origin}: nothing to train {method.name.upper()} on ({len(skipped)} items skipped); rate answers "
            "in the app (thumbs or blind votes), or export pairs with `tunedesk feedback export --dpo FILE`"
        )
    data, training = settings.data, settings.training
    train_rows, validation_rows = split_rows(
        rows, validation_fraction=data.validation_fraction, seed=data.seed
    )

    base = settings.model.base
    tokenizer = load_tokenizer(base, settings.models_dir)
    device = resolve_device(settings.device)
    set_seed(training.seed)
    model = continue_adapter(load_base_model(base, settings.models_dir, device), source.path)
    held_out = answer_samples(method.good_answers(validation_rows or train_rows), tokenizer, data.max_tokens)
    general = general_text_samples(tokenizer, max_tokens=data.max_tokens)
    before = measure_perplexities(model, held_out, general, tokenizer.pad_token_id, training.batch_size)

    run_dir.mkdir(parents=True, exist_ok=True)
    args = training_arguments(
        training,
        run_dir,
        device,
        has_validation=bool(validation_rows),
        arguments_class=method.config_class,
        max_length=data.max_tokens,
        # Preference rows carry no single `input_ids` column to count tokens by.
        include_num_input_tokens_seen="no",
        **method.options,
    )
    progress = ProgressBar()
    trainer = method.trainer_class(
        model=model,
        args=args,
        train_dataset=Dataset.from_list(train_rows),
        eval_dataset=Dataset.from_list(validation_rows) if validation_rows else None,
        processing_class=tokenizer,
        callbacks=[*training_callbacks(training, progress, has_validation=bool(validation_rows)), *callbacks],
    )
    trainer.remove_callback(PrinterCallback)
    started = time.perf_counter()
    trainer.train()
    runtime_s = time.perf_counter() - started

    tuned = without_reference(trainer.model)
    after = measure_perplexities(tuned, held_out, general, tokenizer.pad_token_id, training.batch_size)
    curves = loss_curves(trainer.state.log_history)
    evaluated = tuple(f"eval_{key}" for key in method.figures)
    figures = last_logged(trainer.state.log_history, (*method.figures, *evaluated))
    metrics = run_metrics(trainer, curves, before, after, progress, runtime_s, {method.name: figures})
    config = {
        "base_model": base,
        "training": training.model_dump(mode="json"),
        "data": data.model_dump(mode="json"),
        "data_hash": rows_hash(rows),
        "train_conversations": len(train_rows),
        "validation_conversations": len(validation_rows),
        "preference": {
            "method": method.name,
            **method.options,
            "from_adapter": from_adapter,
            "origin": origin,
            "skipped_lines": list(skipped),
        },
    }
    report = {"preference_rows": len(rows), "problems": list(skipped)}
    record = adapters.AdapterRecord(
        name=name,
        base_model=base,
        base_path=ensure_base_model(base, settings.models_dir),
        method=source.method,
        data_hash=config["data_hash"],
        config=config,
        report=report,
        metrics=metrics.to_dict(),
    )
    publish_adapter(settings.adapters_dir, target, tuned, tokenizer, record, curves)
    shutil.rmtree(run_dir, ignore_errors=True)
    return TrainResult(Path(target), metrics, report, None)
