"""Finding and loading the base model: local folders, the packaged GGUF, refusing pickle weights."""

from __future__ import annotations

import json

import pytest
import torch

from core.device import resolve_device
from finetune.base_model import (
    BaseModelError,
    ensure_base_model,
    load_base_model,
    load_tokenizer,
    packaged_gguf,
)


def test_local_folder_is_used_in_place(tiny_model_dir, tmp_path):
    assert ensure_base_model(str(tiny_model_dir), tmp_path / "models") == tiny_model_dir.resolve()
    assert not (tmp_path / "models").exists()  # nothing copied or converted


def test_loads_model_and_tokenizer_from_a_folder(tiny_model_dir, tmp_path):
    model = load_base_model(str(tiny_model_dir), tmp_path, resolve_device("cpu"))
    tokenizer = load_tokenizer(str(tiny_model_dir), tmp_path)
    assert model.dtype == torch.float32 and model.config.num_hidden_layers == 2
    assert tokenizer.pad_token is not None and "<|im_start|>" in tokenizer.chat_template


def test_pickle_only_weights_are_refused(tmp_path):
    folder = tmp_path / "pickled"
    folder.mkdir()
    (folder / "config.json").write_text(json.dumps({"model_type": "llama"}))
    (folder / "pytorch_model.bin").write_bytes(b"\x80\x04not really a pickle")
    with pytest.raises(BaseModelError, match=r"only pickle weights \(pytorch_model.bin\).*safetensors"):
        ensure_base_model(str(folder), tmp_path / "models")


def test_folder_without_config_is_refused(tmp_path):
    with pytest.raises(BaseModelError, match="no config.json"):
        ensure_base_model(str(tmp_path), tmp_path / "models")


def test_a_file_is_not_a_model(tmp_path):
    weights = tmp_path / "model.safetensors"
    weights.write_bytes(b"")
    with pytest.raises(BaseModelError, match="is a file"):
        ensure_base_model(str(weights), tmp_path / "models")


def test_unknown_hub_id_fails_clearly_offline(tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(BaseModelError, match="no-such-org/no-such-model"):
        ensure_base_model("no-such-org/no-such-model", tmp_path / "models")


def test_packaged_model_is_found_without_importing_its_package():
    path = packaged_gguf("SmolLM2-135M-Instruct")
    assert path.name == "SmolLM2-135M-Instruct.Q4_1.gguf" and path.stat().st_size > 50_000_000
