"""Atomic file writes: temp file in the same folder, fsync, rename over the target, fsync the folder.

A crash at any point leaves either the previous file or the new one at the target, never a mix. Every
part of Tunedesk that replaces a file in place (index, manifest, uploads, keys, checkpoint seals,
exported datasets) goes through here. Knows nothing about what the bytes mean.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from pathlib import Path


def write_atomically(path: Path, write: Callable[[Path], None], *, mode: int | None = None) -> None:
    """Call `write(temp_path)`, then make the result appear at `path` all at once, durable on disk.

    `mode` (e.g. 0o600) is set before any byte is written, so a secret is never readable by others.
    The temp name starts with the target's name (`index-3.faiss.tmp-…`), so a folder's own clean-up of
    `name*` leftovers also removes what a killed writer left; it is unique per call, so threads of one
    process never share it.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temp_name = tempfile.mkstemp(prefix=f"{path.name}.tmp-", dir=path.parent)
    os.close(handle)
    temp = Path(temp_name)
    try:
        if mode is not None:
            os.chmod(temp, mode)
        write(temp)
        with open(temp, "rb+") as stream:
            os.fsync(stream.fileno())
        os.replace(temp, path)
    finally:
        temp.unlink(missing_ok=True)
    # The rename itself lives in the folder's entry table: sync it too, or a power loss may undo it.
    folder = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(folder)
    finally:
        os.close(folder)


def write_bytes_atomically(path: Path, data: bytes, *, mode: int | None = None) -> None:
    write_atomically(path, lambda temp: temp.write_bytes(data), mode=mode)


def write_text_atomically(path: Path, text: str, *, mode: int | None = None) -> None:
    write_bytes_atomically(path, text.encode("utf-8"), mode=mode)
