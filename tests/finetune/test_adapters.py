"""The adapter store: loading with peft, listing, removing, merging, atomic publishing."""

from __future__ import annotations

import json
import shutil

import pytest
import torch
from peft import PeftModel
from transformers import AutoModelForCausalLM

from finetune.adapters import (
    AdapterError,
    find_adapter,
    list_adapters,
    merge_adapter,
    new_staging_dir,
    publish,
    remove_adapter,
)

PROMPT = torch.tensor([[1, 510, 2847, 314, 253, 4400, 30, 198]])


def logits_of(model) -> torch.Tensor:
    with torch.inference_mode():
        return model(input_ids=PROMPT).logits


def test_adapter_loads_with_peft_and_changes_the_output(trained_home):
    folder = trained_home / "adapters" / "demo"
    base_path = json.loads((folder / "adapter_config.json").read_text())["base_model_name_or_path"]
    base = AutoModelForCausalLM.from_pretrained(base_path, use_safetensors=True)
    plain = logits_of(base)
    tuned = PeftModel.from_pretrained(base, folder)
    assert not torch.allclose(logits_of(tuned), plain)


def test_list_shows_published_adapters_only(trained_home, tmp_path):
    adapters_dir = tmp_path / "adapters"
    shutil.copytree(trained_home / "adapters" / "demo", adapters_dir / "demo")
    new_staging_dir(adapters_dir, "half-written")  # a crashed publish leaves only a hidden folder
    (adapters_dir / "stray").mkdir()
    found = list_adapters(adapters_dir)
    assert [info.name for info in found] == ["demo"]
    assert found[0].method == "lora" and len(found[0].data_hash) == 64
    assert found[0].metrics["steps"] == 6
    assert list_adapters(tmp_path / "missing") == []


def test_remove_deletes_and_unknown_names_fail(trained_home, tmp_path):
    adapters_dir = tmp_path / "adapters"
    shutil.copytree(trained_home / "adapters" / "demo", adapters_dir / "demo")
    with pytest.raises(AdapterError, match=r"unknown adapter 'nope' \(known: demo\)"):
        remove_adapter(adapters_dir, "nope")
    remove_adapter(adapters_dir, "demo")
    assert list(adapters_dir.iterdir()) == []


def test_bad_names_are_refused(tmp_path):
    with pytest.raises(AdapterError, match="--name"):
        find_adapter(tmp_path, "../escape")


def test_publish_replaces_an_older_adapter(tmp_path):
    target = tmp_path / "adapters" / "x"
    target.mkdir(parents=True)
    (target / "old.txt").write_text("old")
    staging = new_staging_dir(tmp_path / "adapters", "x")
    (staging / "new.txt").write_text("new")
    publish(staging, target)
    assert [path.name for path in target.iterdir()] == ["new.txt"]
    assert sorted(path.name for path in (tmp_path / "adapters").iterdir()) == ["x"]


def test_merge_writes_a_standalone_model_with_the_same_outputs(trained_home, tmp_path):
    folder = trained_home / "adapters" / "demo"
    base_path = json.loads((folder / "adapter_config.json").read_text())["base_model_name_or_path"]
    expected = logits_of(PeftModel.from_pretrained(AutoModelForCausalLM.from_pretrained(base_path), folder))

    out = merge_adapter(trained_home / "adapters", "demo", tmp_path / "merged")

    names = {path.name for path in out.iterdir()}
    assert {"model.safetensors", "config.json", "chat_template.jinja"} <= names
    assert "adapter_config.json" not in names
    merged = AutoModelForCausalLM.from_pretrained(out, use_safetensors=True)
    torch.testing.assert_close(logits_of(merged), expected, rtol=1e-4, atol=1e-4)


def test_merge_refuses_a_non_empty_target(trained_home, tmp_path):
    (tmp_path / "busy").mkdir()
    (tmp_path / "busy" / "keep.txt").write_text("mine")
    with pytest.raises(AdapterError, match="not empty"):
        merge_adapter(trained_home / "adapters", "demo", tmp_path / "busy")
    assert (tmp_path / "busy" / "keep.txt").read_text() == "mine"
