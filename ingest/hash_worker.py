"""Worker process for `ingest.loaders.hash_files`: `python -m ingest.hash_worker`.

Reads one JSON request per line on stdin, `{"path": ..., "max_bytes": ...}`, and answers
`{"hash": <SHA-256 hex>, "size": <bytes>}` or `{"error": <reason>}`. Hashing runs here, under the
pool's time limit, because reading can block forever: a FIFO or device swapped in after the folder
was listed, or a hung network mount. Imports nothing heavy, so a worker starts in milliseconds.
"""

from __future__ import annotations

import hashlib
import os
import stat
import sys
from typing import Any

from ingest.timed_pool import serve_requests

_BLOCK_BYTES = 2**20


def answer(request: dict[str, Any]) -> dict[str, Any]:
    """Hash one regular file; a file over `max_bytes` is not read (its hash is empty, the loader refuses it)."""
    try:
        # O_NONBLOCK: opening a FIFO must not wait for a writer; fstat then refuses it.
        descriptor = os.open(request["path"], os.O_RDONLY | os.O_NONBLOCK)
    except OSError as error:
        return {"error": f"cannot read the file ({error.strerror}); check it exists and is readable"}
    with os.fdopen(descriptor, "rb") as handle:
        status = os.fstat(descriptor)
        if not stat.S_ISREG(status.st_mode):
            return {
                "error": f"{file_kind(status.st_mode)}, not a regular file; only regular files are ingested"
            }
        if status.st_size > request["max_bytes"]:
            return {"hash": "", "size": status.st_size}
        digest = hashlib.sha256()
        try:
            while block := handle.read(_BLOCK_BYTES):
                digest.update(block)
        except OSError as error:
            return {"error": f"cannot read the file ({error.strerror}); check the disk and permissions"}
    return {"hash": digest.hexdigest(), "size": status.st_size}


def file_kind(mode: int) -> str:
    """What a non-regular file is, in words."""
    if stat.S_ISFIFO(mode):
        return "a FIFO (named pipe)"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    if stat.S_ISDIR(mode):
        return "a folder"
    return "a special file"


def main() -> None:
    serve_requests(answer, sys.stdin.buffer, sys.stdout.buffer)


if __name__ == "__main__":
    main()
