"""The adapter store: `<home>/adapters/<name>/` folders, published atomically, listed, removed and merged.

An adapter folder is a standard peft adapter (`PeftModel.from_pretrained(base, folder)` loads it) that
also describes itself: `tunedesk_adapter.json` (name, base model, method, data hash, creation time),
`training_config.json`, `cleaning_report.json`, `metrics.json`, the loss curves and the tokenizer with
its chat template, and `adapter_model.gguf`, the same LoRA for llama.cpp (plain LoRA on Llama-family
bases; other methods have none).
A full fine-tune (method "full") stores the whole model in the same layout. The home's active-adapter file
names the adapter the tuned modes use and why it is that one.
This module knows nothing about how adapters are trained.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import torch

from finetune import methods
from finetune.checkpoints import write_json_atomic
from finetune.gguf_lora import GGUFExportError, export_gguf_lora, exportable

INFO_NAME = "tunedesk_adapter.json"
SCHEMA_VERSION = 1
NAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")


class AdapterError(RuntimeError):
    """An adapter is missing, unreadable, or cannot be written; the message says what to do."""


@dataclass(frozen=True)
class AdapterInfo:
    name: str
    path: Path
    base_model: str
    method: str
    created: str
    data_hash: str
    metrics: dict


def adapter_dir(adapters_dir: Path, name: str) -> Path:
    """Where adapter `name` lives; the name must be a plain folder name."""
    if not NAME_PATTERN.match(name):
        raise AdapterError(
            f"--name {name!r}: use 1-64 letters, digits, '.', '_' or '-', starting with a letter or digit"
        )
    return adapters_dir / name


def new_staging_dir(adapters_dir: Path, name: str) -> Path:
    """An empty hidden folder next to the final one, so publishing is a rename on the same filesystem."""
    adapters_dir.mkdir(parents=True, exist_ok=True)
    return Path(tempfile.mkdtemp(prefix=f".{name}.staging-", dir=adapters_dir))


def publish(staging: Path, target: Path) -> None:
    """Move a fully written staging folder into place, replacing an older adapter of the same name."""
    if not target.exists():
        os.replace(staging, target)
        return
    retired = target.with_name(f".{target.name}.retired-{os.getpid()}")
    os.replace(target, retired)
    try:
        os.replace(staging, target)
    except BaseException:
        os.replace(retired, target)
        raise
    shutil.rmtree(retired, ignore_errors=True)


@dataclass(frozen=True)
class AdapterRecord:
    """What an adapter folder says about itself besides its weights."""

    name: str
    base_model: str  # as the user named it: packaged name, folder or hub id
    base_path: Path  # the loadable folder the adapter's config points at
    method: str
    data_hash: str
    config: dict  # the resolved training configuration
    report: dict  # the cleaning report of the training data
    metrics: dict


def write_adapter(folder: Path, model, tokenizer, record: AdapterRecord) -> None:
    """Write weights (safetensors), tokenizer with chat template, and the JSON files describing them."""
    if record.method != "full":
        # Point the adapter at a loadable folder (the cached checkpoint for packaged models), not a bare name.
        model.peft_config["default"].base_model_name_or_path = str(record.base_path)
    model.save_pretrained(folder, safe_serialization=True)
    tokenizer.save_pretrained(folder)
    if methods.runs_on_llama_cpp(record.method) and exportable(folder):
        # Next to the peft weights, so the llama.cpp backend serves the adapter as soon as it is published.
        # Other methods have no llama.cpp form: the transformers backend serves them.
        export_gguf_lora(folder, name=record.name, base_model=record.base_model)
    info = {
        "schema_version": SCHEMA_VERSION,
        "name": record.name,
        "base_model": record.base_model,
        "base_model_path": str(record.base_path),
        "method": record.method,
        "data_hash": record.data_hash,
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    write_json_atomic(folder / INFO_NAME, info)
    write_json_atomic(folder / "training_config.json", record.config)
    write_json_atomic(folder / "cleaning_report.json", record.report)
    write_json_atomic(folder / "metrics.json", record.metrics)


def read_info(folder: Path) -> AdapterInfo:
    try:
        info = json.loads((folder / INFO_NAME).read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise AdapterError(f"adapter {folder.name}: {INFO_NAME} is missing or unreadable ({error})") from None
    metrics_file = folder / "metrics.json"
    metrics = json.loads(metrics_file.read_text(encoding="utf-8")) if metrics_file.is_file() else {}
    return AdapterInfo(
        name=folder.name,
        path=folder,
        base_model=info.get("base_model", "?"),
        method=info.get("method", "?"),
        created=info.get("created", "?"),
        data_hash=info.get("data_hash", "?"),
        metrics=metrics,
    )


def list_adapters(adapters_dir: Path) -> list[AdapterInfo]:
    """Every published adapter, by name; half-written staging folders are hidden and skipped."""
    if not adapters_dir.is_dir():
        return []
    found = []
    for folder in sorted(adapters_dir.iterdir()):
        if folder.is_dir() and not folder.name.startswith(".") and (folder / INFO_NAME).is_file():
            found.append(read_info(folder))
    return found


def find_adapter(adapters_dir: Path, name: str) -> AdapterInfo:
    folder = adapter_dir(adapters_dir, name)
    if not (folder / INFO_NAME).is_file():
        known = ", ".join(info.name for info in list_adapters(adapters_dir)) or "none yet"
        raise AdapterError(f"unknown adapter {name!r} (known: {known}); see `tunedesk adapters list`")
    return read_info(folder)


def read_active(path: Path) -> dict:
    """The record of the active adapter in `path` (the home's active-adapter file: {"adapter", "reason"}),
    or {} when none was chosen or the file is unreadable."""
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return record if isinstance(record, dict) else {}


def write_active(path: Path, name: str, reason: str) -> None:
    """Make `name` the adapter tuned modes use, saying why (promoted, kept, chosen by hand), in `path`."""
    path.parent.mkdir(parents=True, exist_ok=True)
    write_json_atomic(path, {"adapter": name, "reason": reason})


def update_metrics(folder: Path, **entries) -> dict:
    """Add `entries` to an adapter's metrics.json (atomically) and return the whole record."""
    metrics_file = folder / "metrics.json"
    metrics = json.loads(metrics_file.read_text(encoding="utf-8")) if metrics_file.is_file() else {}
    metrics.update(entries)
    write_json_atomic(metrics_file, metrics)
    return metrics


def remove_adapter(adapters_dir: Path, name: str) -> None:
    """Delete adapter `name`: renamed aside first, so a crash never leaves a half-deleted adapter in the list."""
    folder = find_adapter(adapters_dir, name).path
    doomed = folder.with_name(f".{name}.removed-{os.getpid()}")
    os.replace(folder, doomed)
    shutil.rmtree(doomed)


def export_gguf(adapters_dir: Path, name: str) -> Path:
    """Write (or rewrite) adapter `name`'s GGUF LoRA file next to its peft weights, for llama.cpp."""
    info = find_adapter(adapters_dir, name)
    if info.method == "full":
        raise AdapterError(
            f"adapter {name!r} is a full fine-tune, not a LoRA; convert the whole model instead"
        )
    if not methods.runs_on_llama_cpp(info.method):
        raise AdapterError(
            f"adapter {name!r} ({info.method}): GGUF export skipped, llama.cpp runs only plain LoRA adapters; "
            "the tuned modes serve this one with the transformers backend"
        )
    try:
        return export_gguf_lora(info.path, name=name, base_model=info.base_model)
    except GGUFExportError as error:
        raise AdapterError(str(error)) from None


def merge_adapter(adapters_dir: Path, name: str, out_dir: Path) -> Path:
    """Write base model + adapter as one plain safetensors model folder at `out_dir` (fp32, on CPU)."""
    from peft import PeftModel
    from transformers import AutoModelForCausalLM, AutoTokenizer

    info = find_adapter(adapters_dir, name)
    if info.method == "full":
        raise AdapterError(f"adapter {name!r} is a full fine-tune, already a complete model at {info.path}")
    if info.method in methods.PROMPT_LEARNING:
        raise AdapterError(
            f"adapter {name!r} ({info.method} tuning) adds virtual tokens, which cannot be merged into the "
            "weights; load it with peft on top of the base model instead"
        )
    if out_dir.exists() and any(out_dir.iterdir()):
        raise AdapterError(f"--out {out_dir}: folder exists and is not empty; choose a new folder")
    base_path = json.loads((info.path / "adapter_config.json").read_text(encoding="utf-8"))[
        "base_model_name_or_path"
    ]
    base = AutoModelForCausalLM.from_pretrained(
        base_path, dtype=torch.float32, use_safetensors=True, trust_remote_code=False
    )
    merged = PeftModel.from_pretrained(base, info.path).merge_and_unload()
    tokenizer = AutoTokenizer.from_pretrained(info.path)
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.staging-", dir=out_dir.parent))
    try:
        merged.save_pretrained(staging, safe_serialization=True)
        tokenizer.save_pretrained(staging)
        shutil.copy2(info.path / INFO_NAME, staging / "tunedesk_merged_from.json")
        if out_dir.exists():
            out_dir.rmdir()  # checked empty above
        os.replace(staging, out_dir)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return out_dir
