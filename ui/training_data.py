"""Training data for the app: find transcript files, save uploaded ones, run the data check, describe adapters.

Knows nothing about Streamlit; the cleaning and splitting itself is finetune.dataset's.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path

from core.settings import Settings
from finetune.adapters import AdapterInfo
from finetune.formats import SUFFIXES as TRANSCRIPT_SUFFIXES
from ingest.atomic import write_bytes_atomically
from ingest.document import IngestError
from ingest.safety import safe_upload_name
from ingest.uploads import Upload

__all__ = ["TRANSCRIPT_SUFFIXES", "adapter_rows", "check_data", "data_files", "save_transcripts"]


def data_files(root: Path) -> list[Path]:
    """Transcript-format files under `root` (e.g. the repository's data/), sorted, hidden ones skipped."""
    if not root.is_dir():
        return []
    return sorted(
        path
        for path in root.rglob("*")
        if path.is_file()
        and path.suffix.lower() in TRANSCRIPT_SUFFIXES
        and not any(part.startswith(".") for part in path.relative_to(root).parts)
    )


def save_transcripts(
    uploads: Sequence[Upload], folder: Path, *, max_bytes: int
) -> tuple[list[Path], list[str]]:
    """Save uploaded transcripts in `folder` (the home's transcripts folder); returns the saved paths and one
    error per refused file."""
    saved, errors = [], []
    for upload in uploads:
        try:
            name = safe_upload_name(upload.name)
            if Path(name).suffix.lower() not in TRANSCRIPT_SUFFIXES:
                raise IngestError(
                    name, f"unsupported transcript type; use one of {', '.join(TRANSCRIPT_SUFFIXES)}"
                )
            if not upload.data or len(upload.data) > max_bytes:
                raise IngestError(
                    name, f"file is empty or over {max_bytes / 2**20:.0f} MiB (ingest.max_file_mb)"
                )
        except IngestError as error:
            errors.append(str(error))
            continue
        target = folder / name
        write_bytes_atomically(target, upload.data)
        saved.append(target)
    return saved, errors


def check_data(settings: Settings, paths: Sequence[Path]) -> dict:
    """The data check report of `paths` with these settings, plus the train/validation sizes and a summary."""
    from finetune.dataset import load_counting_tokenizer, prepare_data

    tokenizer = load_counting_tokenizer(settings.model.base, settings.models_dir)
    prepared = prepare_data(list(paths), tokenizer, settings.data)
    report = prepared.report.to_dict()
    return report | {
        "train": len(prepared.train),
        "validation": len(prepared.validation),
        "data_hash": prepared.data_hash,
        "summary": prepared.report.to_text(),
    }


def adapter_rows(adapters: Sequence[AdapterInfo]) -> list[dict[str, object]]:
    """One table row per adapter with the metrics training recorded."""
    rows = []
    for info in adapters:
        perplexity = info.metrics.get("perplexity", {})
        rows.append(
            {
                "name": info.name,
                "base model": info.base_model,
                "method": info.method,
                "created": info.created,
                "steps": info.metrics.get("steps"),
                "train loss": _rounded(info.metrics.get("train_loss")),
                "validation perplexity": _change(perplexity.get("validation", {})),
                "general-text perplexity": _change(perplexity.get("general_text", {})),
                "memorisation": _memorisation(info.metrics.get("memorisation")),
                "promotion": info.metrics.get("promotion", {}).get("reason", "not reviewed"),
            }
        )
    return rows


def _memorisation(report: dict | None) -> str:
    if not report:
        return "not checked"
    if report.get("passed"):
        return f"passed ({report.get('samples')} samples)"
    return f"FAILED: {len(report.get('leaks', []))} leaked"


def _change(values: dict) -> str:
    before, after = _rounded(values.get("before")), _rounded(values.get("after"))
    return "n/a" if before is None and after is None else f"{before} → {after}"


def _rounded(value) -> float | None:
    return (
        None if value is None or (isinstance(value, float) and math.isnan(value)) else round(float(value), 2)
    )
