"""Optuna search with two trials on the tiny model: the best trial becomes the adapter, the rest are removed."""

from __future__ import annotations

import json
import math

import pytest

from finetune.adapters import list_adapters
from finetune.train import TrainError
from finetune.tune import SearchSpace, tune


@pytest.mark.slow
def test_two_trials_keep_the_adapter_with_the_lowest_validation_loss(tmp_path, make_settings, transcripts):
    settings = make_settings(tmp_path / "home", max_steps=2)
    seen = []
    space = SearchSpace(ranks=(2, 4), learning_rate=(1e-3, 1e-2), epochs=(1.0, 2.0))
    result = tune(settings, [transcripts], "best", trials=2, space=space, progress=seen.append)

    assert [row["number"] for row in result.trials] == [0, 1]
    assert all(row["state"] == "complete" and math.isfinite(row["validation_loss"]) for row in result.trials)
    assert result.best["validation_loss"] == min(row["validation_loss"] for row in result.trials)
    assert [row["number"] for row in seen] == [0, 1]
    # Only the winner is left, under its final name, describing the trial it came from.
    assert [info.name for info in list_adapters(settings.adapters_dir)] == ["best"]
    folder = result.adapter_dir
    assert json.loads((folder / "tunedesk_adapter.json").read_text())["name"] == "best"
    config = json.loads((folder / "training_config.json").read_text())
    assert config["training"]["lora_rank"] == result.best["lora_rank"]
    assert config["training"]["learning_rate"] == pytest.approx(result.best["learning_rate"])
    stored = json.loads((folder / "tune_results.json").read_text())
    assert [row["number"] for row in stored["trials"]] == [0, 1]

    with pytest.raises(TrainError, match="already exists"):
        tune(settings, [transcripts], "best", trials=1, space=space)
