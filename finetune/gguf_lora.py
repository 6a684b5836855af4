"""Writes a peft LoRA adapter folder as a GGUF LoRA file that llama.cpp loads next to its base model.

The layout is llama.cpp's (see its convert_lora_to_gguf.py and llama-adapter.cpp): `general.type =
adapter`, the base's `general.architecture`, `adapter.type = lora`, `adapter.lora.alpha`, and per wrapped
linear layer two F32 tensors `<gguf name>.lora_a` (rank x n_in) and `.lora_b` (n_out x rank). llama.cpp
scales by alpha / rank, so alpha is written as peft's scaling times the rank (right for rsLoRA too).

llama.cpp stores Llama-family q/k projections with their rows permuted (its rope pairs neighbouring
values, Hugging Face pairs the two halves of a head); W = B @ A, so permuting W's rows is permuting B's.

This module knows nothing about training or serving.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from ingest.atomic import write_atomically

GGUF_NAME = "adapter_model.gguf"  # next to peft's adapter_model.safetensors
# Hugging Face model_type -> GGUF architecture whose q/k llama.cpp permutes. Others are refused rather
# than written wrongly: the permutation differs per architecture.
ARCHITECTURES = {"llama": "llama"}


class GGUFExportError(RuntimeError):
    """The adapter cannot be written as GGUF; the message says which file and why."""


def permute_rows(weight: np.ndarray, n_head: int) -> np.ndarray:
    """llama.cpp's q/k row order: per head, interleave the two rope halves (convert_hf_to_gguf.permute)."""
    return (
        weight.reshape(n_head, 2, weight.shape[0] // n_head // 2, *weight.shape[1:])
        .swapaxes(1, 2)
        .reshape(weight.shape)
    )


def exportable(adapter_folder: Path) -> bool:
    """Whether the adapter's base architecture has a GGUF layout here (others are served by transformers)."""
    config = _read_json(adapter_folder / "adapter_config.json")
    base_config = _read_json(Path(config["base_model_name_or_path"]) / "config.json")
    return base_config.get("model_type") in ARCHITECTURES


def export_gguf_lora(adapter_folder: Path, *, name: str, base_model: str) -> Path:
    """Write `adapter_folder`'s LoRA (adapter `name`, trained on `base_model`) as
    `adapter_folder/adapter_model.gguf`; return that path."""
    import gguf
    from safetensors.torch import load_file

    config = _read_json(adapter_folder / "adapter_config.json")
    if config.get("peft_type") != "LORA" or config.get("use_dora"):
        raise GGUFExportError(
            f"{adapter_folder}: only plain LoRA adapters can be exported to GGUF (not DoRA)"
        )
    base_config = _read_json(Path(config["base_model_name_or_path"]) / "config.json")
    model_type = base_config.get("model_type", "?")
    if model_type not in ARCHITECTURES:
        raise GGUFExportError(
            f"{adapter_folder}: GGUF export supports {', '.join(ARCHITECTURES)} bases, not {model_type!r}; "
            "use generation.backend = transformers for this model"
        )
    architecture = ARCHITECTURES[model_type]
    n_head = int(base_config["num_attention_heads"])
    n_head_kv = int(base_config.get("num_key_value_heads") or n_head)
    names = gguf.get_tensor_name_map(gguf.MODEL_ARCH.LLAMA, int(base_config["num_hidden_layers"]))
    # Through torch: numpy has no bfloat16, the dtype of adapters trained on a GPU.
    weights = {
        key: tensor.float().numpy()
        for key, tensor in load_file(str(adapter_folder / "adapter_model.safetensors")).items()
    }
    rank = int(config["r"])
    scaling = float(config["lora_alpha"]) / (rank**0.5 if config.get("use_rslora") else rank)

    tensors: dict[str, np.ndarray] = {}
    for key, a in sorted(weights.items()):
        if ".lora_A." not in key:
            continue
        module = key.split(".lora_A.")[0].removeprefix("base_model.model.")
        b = weights[key.replace(".lora_A.", ".lora_B.")]
        target = names.get_name(module + ".weight", try_suffixes=(".weight",))
        if target is None or target.startswith("token_embd") or module.endswith("lm_head"):
            raise GGUFExportError(f"{adapter_folder}: no llama.cpp tensor for LoRA module {module}")
        if target.endswith("attn_q.weight"):
            b = permute_rows(b, n_head)
        elif target.endswith("attn_k.weight"):
            b = permute_rows(b, n_head_kv)
        tensors[f"{target}.lora_a"] = np.ascontiguousarray(a, dtype=np.float32)
        tensors[f"{target}.lora_b"] = np.ascontiguousarray(b, dtype=np.float32)
    if not tensors:
        raise GGUFExportError(f"{adapter_folder}: adapter_model.safetensors holds no LoRA weights")

    def write(path: Path) -> None:
        writer = gguf.GGUFWriter(path, architecture)
        writer.add_type(gguf.GGUFType.ADAPTER)
        writer.add_string(gguf.Keys.Adapter.TYPE, "lora")
        writer.add_float32(gguf.Keys.Adapter.LORA_ALPHA, scaling * rank)
        writer.add_name(name)
        # The base it belongs to, so a mismatch is reported by name, not only by shape.
        writer.add_base_model_count(1)
        writer.add_base_model_name(0, base_model)
        for tensor_name, tensor in tensors.items():
            writer.add_tensor(tensor_name, tensor)
        writer.write_header_to_file()
        writer.write_kv_data_to_file()
        writer.write_tensors_to_file()
        writer.close()

    target_path = adapter_folder / GGUF_NAME
    write_atomically(target_path, write)
    return target_path


def _read_json(path: Path) -> dict:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise GGUFExportError(f"{path}: missing or unreadable ({error})") from None
