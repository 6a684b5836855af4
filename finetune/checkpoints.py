"""Marks training checkpoints complete and finds the newest one that still is.

The trainer writes `checkpoint-<step>/` files in place, so a run killed mid-save leaves a folder that
looks like a checkpoint but is not. After every save we write a seal listing each file with its size
and SHA-256, written last and atomically; a checkpoint counts only when its seal is there and every
file still matches it. Knows nothing about what the files hold.
"""

from __future__ import annotations

import hashlib
import json
import re
import shutil
from pathlib import Path

from ingest.atomic import write_text_atomically

SEAL_NAME = "checkpoint-complete.json"
CHECKPOINT_PATTERN = re.compile(r"^checkpoint-(\d+)$")


def seal_checkpoint(folder: Path) -> None:
    """Record every file of a just-written checkpoint; the seal itself is written atomically."""
    files = {
        path.relative_to(folder).as_posix(): {"bytes": path.stat().st_size, "sha256": _sha256(path)}
        for path in sorted(folder.rglob("*"))
        if path.is_file() and path.name != SEAL_NAME
    }
    write_json_atomic(folder / SEAL_NAME, {"files": files})


def is_complete(folder: Path) -> bool:
    """True when the seal exists and every file it lists is present with the same size and hash."""
    try:
        files = json.loads((folder / SEAL_NAME).read_text(encoding="utf-8"))["files"]
    except (OSError, ValueError, KeyError):
        return False
    for relative, expected in files.items():
        path = folder / relative
        if (
            not path.is_file()
            or path.stat().st_size != expected["bytes"]
            or _sha256(path) != expected["sha256"]
        ):
            return False
    return True


def checkpoints_newest_first(run_dir: Path) -> list[Path]:
    if not run_dir.is_dir():
        return []
    found = [
        (int(match[1]), path) for path in run_dir.iterdir() if (match := CHECKPOINT_PATTERN.match(path.name))
    ]
    return [path for _, path in sorted(found, reverse=True)]


def last_complete_checkpoint(run_dir: Path) -> tuple[Path | None, list[Path]]:
    """The newest complete checkpoint, and the newer incomplete ones that were passed over."""
    skipped = []
    for folder in checkpoints_newest_first(run_dir):
        if is_complete(folder):
            return folder, skipped
        skipped.append(folder)
    return None, skipped


def discard(folders: list[Path]) -> None:
    """Remove incomplete checkpoints so that the resumed run can write those steps afresh."""
    for folder in folders:
        shutil.rmtree(folder, ignore_errors=True)


def write_json_atomic(path: Path, payload: object) -> None:
    """Write JSON so that `path` holds either the old or the new content, never a mix."""
    write_text_atomically(path, json.dumps(payload, indent=2, sort_keys=True) + "\n")


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        for block in iter(lambda: stream.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
