"""Finds supported files and parses them in time-limited worker processes, in input order.

Parsing itself lives in `ingest.parse` (one loader module per format); this module walks folders,
runs the workers and turns their answers into documents or errors. It knows nothing about
chunking, embedding or storage.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path

import ingest
from ingest.document import IngestError, ParsedDocument
from ingest.parse import SUPPORTED_SUFFIXES, parse_file, unsupported
from ingest.parse_worker import document_from_json
from ingest.timed_pool import Crashed, TimedOut, run_timed

__all__ = ["SUPPORTED_SUFFIXES", "find_files", "iter_parsed", "load_document", "parse_file"]

# Parsed documents waiting for the caller, per worker; bounds memory when embedding is the slow side.
_READ_AHEAD_PER_WORKER = 4
_WORKER_COMMAND = (sys.executable, "-m", "ingest.parse_worker")


def find_files(paths: Iterable[Path]) -> tuple[list[Path], list[IngestError]]:
    """Expand files and folders into the supported files under them, sorted, without hidden entries.

    A path that does not exist, or a file named directly with an unsupported suffix, is an error;
    unsupported files found inside a folder are skipped quietly.
    """
    found: list[Path] = []
    errors: list[IngestError] = []
    for path in paths:
        if path.is_dir():
            found.extend(_walk(path))
        elif path.is_file():
            if path.suffix.lower() in SUPPORTED_SUFFIXES:
                found.append(path)
            else:
                errors.append(unsupported(path))
        else:
            errors.append(IngestError(path, "no such file or folder; check the path"))
    return list(dict.fromkeys(found)), errors


def load_document(path: Path, *, max_bytes: int, parse_timeout_s: float) -> ParsedDocument:
    """Parse one file in a worker process, stopped after `parse_timeout_s`. Raises `IngestError`."""
    [(_, outcome)] = iter_parsed([path], max_bytes=max_bytes, parse_timeout_s=parse_timeout_s, workers=1)
    if isinstance(outcome, IngestError):
        raise outcome
    return outcome


def iter_parsed(
    paths: Sequence[Path], *, max_bytes: int, parse_timeout_s: float, workers: int = 2
) -> Iterator[tuple[Path, ParsedDocument | IngestError]]:
    """Parse files in `workers` processes and yield `(path, document or error)` in input order.

    A file whose parser runs past `parse_timeout_s` has its worker killed and becomes an error;
    the rest of the batch goes on. Parsing continues while the caller works on earlier results.
    """
    requests = [{"path": str(path), "max_bytes": max_bytes} for path in paths]
    replies = run_timed(
        _WORKER_COMMAND,
        requests,
        timeout_s=parse_timeout_s,
        workers=workers,
        read_ahead=workers * _READ_AHEAD_PER_WORKER,
        env=_worker_env(),
    )
    for path, reply in zip(paths, replies, strict=True):
        yield path, _as_result(path, reply)


def _as_result(path: Path, reply: object) -> ParsedDocument | IngestError:
    match reply:
        case {"document": document}:
            return document_from_json(document)
        case {"error": {"path": where, "reason": reason}}:
            return IngestError(where, reason)
        case TimedOut(seconds=seconds):
            return IngestError(
                path,
                f"parsing took longer than {seconds:g}s and was stopped; the file may be damaged or hostile - "
                "re-export it, or raise ingest.parse_timeout_s",
            )
        case Crashed(exit_code=code):
            return IngestError(path, f"the parser process crashed (exit code {code}); re-export the file")
    raise TypeError(f"unexpected reply {reply!r} for {path}")


def _worker_env() -> dict[str, str]:
    """The caller's environment, with this package importable even when it runs from a source tree."""
    package_root = str(Path(ingest.__file__).resolve().parent.parent)
    existing = os.environ.get("PYTHONPATH")
    return {**os.environ, "PYTHONPATH": package_root + (os.pathsep + existing if existing else "")}


def _walk(folder: Path) -> list[Path]:
    found = []
    for root, dirs, files in os.walk(folder):
        dirs[:] = sorted(name for name in dirs if not name.startswith("."))
        for name in sorted(files):
            if not name.startswith(".") and Path(name).suffix.lower() in SUPPORTED_SUFFIXES:
                found.append(Path(root) / name)
    return found
