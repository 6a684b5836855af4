"""Hyper-parameter search: trains several adapters with Optuna-chosen LoRA rank, learning rate and epochs,
judges each by its validation loss, and keeps the best one.

    tunedesk tune data/transcripts --trials 8 --name support --max-steps 60

Each trial is an ordinary `train` run published as `<name>.trial-<n>`; when the search ends the best
trial's folder is renamed to `<name>` (with `tune_results.json`, the table of all trials, inside) and
the others are removed. The sampler is seeded with `training.seed`, so a search is repeatable. A
trial whose loss diverges is recorded as failed and the search goes on. Knows nothing about the CLI.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from core.settings import Settings, override
from finetune import adapters
from finetune.checkpoints import write_json_atomic
from finetune.train import TrainError, TrainingDiverged, train


@dataclass(frozen=True)
class SearchSpace:
    ranks: tuple[int, ...] = (4, 8, 16, 32)
    learning_rate: tuple[float, float] = (5e-5, 1e-3)  # searched on a log scale
    epochs: tuple[float, float] = (1.0, 3.0)


@dataclass(frozen=True)
class TuneResult:
    adapter_dir: Path
    best: dict
    trials: list[dict]  # one row per trial: number, lora_rank, learning_rate, epochs, validation_loss, state


def tune(
    settings: Settings,
    data_paths: Sequence[Path],
    name: str,
    *,
    trials: int,
    space: SearchSpace = SearchSpace(),
    force: bool = False,
    progress: Callable[[dict], None] | None = None,
) -> TuneResult:
    """Run `trials` training runs and publish the one with the lowest validation loss as adapter `name`."""
    import optuna

    target = adapters.adapter_dir(settings.adapters_dir, name)
    if target.exists() and not force:
        raise TrainError(
            f"adapter {name!r} already exists; pass --force to replace it, or choose another --name"
        )
    if settings.data.validation_fraction <= 0:
        raise TrainError("tune judges trials by validation loss; set data.validation_fraction above 0")
    rows: list[dict] = []

    def objective(trial: optuna.Trial) -> float:
        params = {
            "lora_rank": trial.suggest_categorical("lora_rank", list(space.ranks)),
            "learning_rate": trial.suggest_float("learning_rate", *space.learning_rate, log=True),
            "epochs": trial.suggest_float("epochs", *space.epochs),
        }
        row = {"number": trial.number, **params, "validation_loss": math.nan, "state": "failed"}
        rows.append(row)
        trial_settings = override(
            settings,
            **{
                "training.lora_rank": params["lora_rank"],
                "training.lora_alpha": 2 * params["lora_rank"],  # keep the update scale alpha/r fixed
                "training.learning_rate": params["learning_rate"],
                "training.epochs": params["epochs"],
            },
        )
        try:
            result = train(trial_settings, data_paths, _trial_name(name, trial.number), force=True)
        except TrainingDiverged:
            if progress is not None:
                progress(row)
            raise
        loss = result.metrics.validation_loss
        if loss is None:
            raise TrainError(
                "the validation split is empty; give more conversations or a larger validation_fraction"
            )
        row.update(validation_loss=loss, state="complete", steps=result.metrics.steps)
        if progress is not None:
            progress(row)
        return loss

    optuna.logging.set_verbosity(optuna.logging.WARNING)  # our own progress lines replace optuna's
    study = optuna.create_study(
        direction="minimize", sampler=optuna.samplers.TPESampler(seed=settings.training.seed)
    )
    try:
        study.optimize(objective, n_trials=trials, catch=(TrainingDiverged,))
        complete = [row for row in rows if row["state"] == "complete"]
        if not complete:
            raise TrainError(
                f"all {trials} trials failed (diverged); lower the learning-rate range and retry"
            )
        best = min(complete, key=lambda row: row["validation_loss"])
        best_dir = adapters.adapter_dir(settings.adapters_dir, _trial_name(name, best["number"]))
        _rename(best_dir, name)
        write_json_atomic(best_dir / "tune_results.json", {"best": best, "trials": rows})
        adapters.publish(best_dir, target)
    finally:
        for row in rows:
            trial_dir = adapters.adapter_dir(settings.adapters_dir, _trial_name(name, row["number"]))
            if (trial_dir / adapters.INFO_NAME).is_file():
                adapters.remove_adapter(settings.adapters_dir, trial_dir.name)
    return TuneResult(target, best, rows)


def _trial_name(name: str, number: int) -> str:
    return f"{name}.trial-{number}"


def _rename(folder: Path, name: str) -> None:
    """Make the adapter's own description carry its final name."""
    info_file = folder / adapters.INFO_NAME
    info = json.loads(info_file.read_text(encoding="utf-8"))
    write_json_atomic(info_file, {**info, "name": name})
