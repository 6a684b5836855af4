"""Finds supported files and parses them in time-limited worker processes, in input order.

Parsing itself lives in `ingest.parse` (one loader module per format); this module walks folders,
runs the workers and turns their answers into documents or errors. It knows nothing about
chunking, embedding or storage.
"""

from __future__ import annotations

import os
import stat
import sys
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import NamedTuple

import ingest
from ingest.document import IngestError, ParsedDocument, printable
from ingest.hash_worker import file_kind
from ingest.parse import SUPPORTED_SUFFIXES, parse_file, unsupported
from ingest.parse_worker import document_from_json
from ingest.timed_pool import Crashed, TimedOut, run_timed

__all__ = [
    "SUPPORTED_SUFFIXES",
    "FoundFiles",
    "find_files",
    "hash_files",
    "iter_parsed",
    "load_document",
    "parse_file",
]

# Parsed documents waiting for the caller, per worker; bounds memory when embedding is the slow side.
_READ_AHEAD_PER_WORKER = 4
_WORKER_COMMAND = (sys.executable, "-m", "ingest.parse_worker")
_HASH_COMMAND = (sys.executable, "-m", "ingest.hash_worker")


class FoundFiles(NamedTuple):
    files: list[Path]
    errors: list[IngestError]
    hidden: int  # hidden files and folders (name starting with ".") skipped inside folders
    # Files of a type no loader reads, found inside folders: their suffixes ("" when none), one per file.
    unsupported: tuple[str, ...] = ()


def find_files(paths: Iterable[Path], *, follow_symlinks: bool = False) -> FoundFiles:
    """Expand files and folders into the supported regular files under them, sorted, without hidden entries.

    A path that does not exist, a file named directly with an unsupported suffix, a FIFO, device or
    socket, and (unless `follow_symlinks`) a link whose real path leaves the folder given, is an
    error; unsupported files found inside a folder are skipped, their suffixes counted. A file named directly
    counts as given with its folder.
    """
    found: list[Path] = []
    errors: list[IngestError] = []
    hidden = 0
    other_types: list[str] = []
    for path in paths:
        if path.is_dir():
            walked = _walk(path, follow_symlinks)
            found.extend(walked.files)
            errors.extend(walked.errors)
            hidden += walked.hidden
            other_types.extend(walked.unsupported)
        elif path.exists() or path.is_symlink():
            if path.suffix.lower() not in SUPPORTED_SUFFIXES:
                errors.append(unsupported(path))
            elif refusal := _refusal(path, path.parent.resolve(), follow_symlinks):
                errors.append(refusal)
            else:
                found.append(path)
        else:
            errors.append(IngestError(path, "no such file or folder; check the path"))
    return FoundFiles(list(dict.fromkeys(found)), errors, hidden, tuple(other_types))


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


def hash_files(
    paths: Sequence[Path], *, max_bytes: int, timeout_s: float, workers: int = 2
) -> Iterator[tuple[Path, tuple[str, int] | IngestError]]:
    """SHA-256 and size of each file, in input order, read in worker processes stopped after `timeout_s`.

    A file that is not a regular file, cannot be read, or cannot be read in time becomes an error;
    a file over `max_bytes` is not read and gets an empty hash (the loader refuses it).
    """
    requests = [{"path": str(path), "max_bytes": max_bytes} for path in paths]
    # Replies are two numbers each, so every input may be sent ahead.
    replies = run_timed(
        _HASH_COMMAND,
        requests,
        timeout_s=timeout_s,
        workers=workers,
        read_ahead=len(requests),
        env=_worker_env(),
    )
    for path, reply in zip(paths, replies, strict=True):
        match reply:
            case {"hash": digest, "size": size}:
                yield path, (digest, size)
            case {"error": reason}:
                yield path, IngestError(path, reason)
            case TimedOut(seconds=seconds):
                yield (
                    path,
                    IngestError(
                        path,
                        f"reading the file took longer than {seconds:g}s and was stopped; copy it to a local disk, "
                        "or raise ingest.parse_timeout_s",
                    ),
                )
            case Crashed(exit_code=code):
                yield path, IngestError(path, f"the reading process crashed (exit code {code}); try again")


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


def _walk(folder: Path, follow_symlinks: bool) -> FoundFiles:
    root = folder.resolve()
    found: list[Path] = []
    errors: list[IngestError] = []
    hidden = 0
    other_types: list[str] = []
    visited = {root}  # real folders already walked: a link loop is walked once
    for current, dirs, files in os.walk(folder, followlinks=follow_symlinks):
        kept = []
        for name in sorted(dirs):
            entry = Path(current) / name
            real = entry.resolve()
            if name.startswith("."):
                hidden += 1
            elif not follow_symlinks and entry.is_symlink():
                # A link to a folder inside this one adds nothing: its files are reached on their own path.
                if not real.is_relative_to(root):
                    errors.append(_outside(entry, real, root))
            elif real not in visited:
                visited.add(real)
                kept.append(name)
        dirs[:] = kept
        for name in sorted(files):
            entry = Path(current) / name
            if name.startswith("."):
                hidden += 1
            elif Path(name).suffix.lower() in SUPPORTED_SUFFIXES:
                refusal = _refusal(entry, root, follow_symlinks)
                if refusal:
                    errors.append(refusal)
                else:
                    found.append(entry)
            else:
                other_types.append(Path(name).suffix.lower())
    return FoundFiles(found, errors, hidden, tuple(other_types))


def _refusal(path: Path, root: Path, follow_symlinks: bool) -> IngestError | None:
    """Why `path` (inside the folder `root`) must not be read, or None: a link out of `root`, not a regular file."""
    real = path.resolve()
    if not follow_symlinks and not real.is_relative_to(root):
        return _outside(path, real, root)
    try:
        mode = real.stat().st_mode  # stat, not open: opening a FIFO would wait for a writer
    except OSError as error:
        what = "a broken link" if path.is_symlink() else "unreadable"
        return IngestError(path, f"{what} ({error.strerror}); fix or remove it")
    if not stat.S_ISREG(mode):
        return IngestError(
            path, f"{file_kind(mode)}, not a regular file; only regular files are ingested - remove it"
        )
    return None


def _outside(path: Path, real: Path, root: Path) -> IngestError:
    return IngestError(
        path,
        f"links to {printable(str(real))}, outside {printable(str(root))}; refused - pass --follow-symlinks "
        "to ingest what links point to",
    )
