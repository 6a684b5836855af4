"""DPO from an existing adapter with the tiny model: a new adapter that differs from the old, the old untouched."""

from __future__ import annotations

import json
import math
import shutil

import pytest
from safetensors.torch import load_file

from finetune.dpo import load_preferences, train_dpo
from finetune.recipe import TrainError, split_rows


def write_pairs(path, count=8):
    with path.open("w", encoding="utf-8") as stream:
        for index in range(count):
            pair = {
                "prompt": [{"role": "user", "content": f"How long is the return window, case {index}?"}],
                "chosen": [
                    {"role": "assistant", "content": "You have 30 days from delivery for a full refund."}
                ],
                "rejected": [{"role": "assistant", "content": f"Nobody knows, maybe {index} years."}],
            }
            stream.write(json.dumps(pair) + "\n")
        stream.write('{"prompt": "q", "chosen": "same", "rejected": "same"}\n')
        stream.write('{"prompt": "q", "chosen": ""}\n')
        stream.write("not json\n")
    return path


def test_bad_preference_lines_are_named_and_skipped(tmp_path):
    pairs, problems = load_preferences(write_pairs(tmp_path / "p.jsonl", count=3))
    assert len(pairs) == 3
    assert [problem.split(": ")[0] for problem in problems] == ["p.jsonl:4", "p.jsonl:5", "p.jsonl:6"]
    assert "identical" in problems[0] and "field 'chosen'" in problems[1] and "not valid JSON" in problems[2]
    train, validation = split_rows(pairs, validation_fraction=0.25, seed=1)
    assert len(train) + len(validation) == 3 and validation
    assert split_rows(pairs, validation_fraction=0.25, seed=1) == (train, validation)


@pytest.mark.slow
def test_dpo_trains_a_new_adapter_from_an_existing_one(tmp_path, eval_home, make_settings):
    home = tmp_path / "home"
    shutil.copytree(eval_home / "adapters" / "support", home / "adapters" / "support")
    before = load_file(home / "adapters" / "support" / "adapter_model.safetensors")
    settings = make_settings(home, max_steps=3, learning_rate=5e-3)
    pairs, problems = load_preferences(write_pairs(tmp_path / "prefs.jsonl"))
    result = train_dpo(settings, pairs, "support", "support-dpo", origin="prefs.jsonl", skipped=problems)

    folder = home / "adapters" / "support-dpo"
    assert result.adapter_dir == folder
    names = {path.name for path in folder.iterdir()}
    assert {
        "adapter_model.safetensors",
        "adapter_config.json",
        "tunedesk_adapter.json",
        "metrics.json",
        "training_config.json",
        "loss_curve.png",
    } <= names
    assert not (folder / "ref").exists()  # TRL's reference copy is not saved
    after = load_file(folder / "adapter_model.safetensors")
    assert set(after) == set(before)
    assert any(not after[key].equal(before[key]) for key in before)
    # The starting adapter is left as it was.
    unchanged = load_file(home / "adapters" / "support" / "adapter_model.safetensors")
    assert all(unchanged[key].equal(before[key]) for key in before)

    metrics = json.loads((folder / "metrics.json").read_text())
    assert metrics["steps"] == 3
    assert math.isfinite(metrics["train_loss"])
    assert "rewards_accuracies" in metrics["dpo"]
    config = json.loads((folder / "training_config.json").read_text())
    assert config["preference"]["from_adapter"] == "support" and config["preference"]["beta"] == 0.1
    assert len(config["preference"]["skipped_lines"]) == 3
    assert not (home / "runs" / "support-dpo").exists()
    with pytest.raises(TrainError, match="already exists"):
        train_dpo(settings, pairs, "support", "support-dpo", origin="prefs.jsonl")
