"""Turns files into documents ready to store: skip unchanged files, parse, chunk, embed.

Parsing runs in worker processes ahead of this loop (see `loaders.iter_parsed`), so the model is
kept busy: chunks are embedded in groups while the next files are being parsed. Failures are
collected in the `IngestReport`, never raised, so one bad file cannot stop a batch. This module
knows nothing about how documents are stored.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from tqdm import tqdm

from ingest.chunk_context import context_budget, embedding_text
from ingest.chunking import chunk_document
from ingest.document import Chunk, IngestError
from ingest.embeddings import Embedder
from ingest.loaders import hash_files, iter_parsed
from ingest.registry import DocumentRecord

PROGRESS_MIN_FILES = 5  # fewer files than this finish too fast for a progress bar to help


@dataclass(frozen=True)
class StagedDocument:
    """A document ready to store: its chunks and their unit vectors, row i for chunk i."""

    source: str
    title: str
    content_hash: str
    size_bytes: int
    chunks: Sequence[Chunk]
    vectors: np.ndarray


@dataclass
class IngestReport:
    added: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    failed: list[IngestError] = field(default_factory=list)
    hidden: int = 0  # hidden files and folders skipped inside the folders given
    unsupported: tuple[str, ...] = ()  # suffixes of the files inside them no loader reads, one per file
    chunks_written: int = 0
    chunks_removed: int = 0
    seconds: float = 0.0

    def as_dict(self) -> dict[str, object]:
        return {
            "added": self.added,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "failed": [{"path": error.path, "reason": error.reason} for error in self.failed],
            "hidden": self.hidden,
            "unsupported": dict(sorted(Counter(self.unsupported).items())),
            "chunks_written": self.chunks_written,
            "chunks_removed": self.chunks_removed,
            "seconds": round(self.seconds, 3),
        }


@dataclass(frozen=True)
class PendingFile:
    path: Path
    source: str  # the resolved path: a document's identity
    content_hash: str
    size_bytes: int
    known: bool  # an earlier version is stored


def select_changed(
    files: Sequence[Path],
    stored: Callable[[str], DocumentRecord | None],
    *,
    chunking: str,
    max_bytes: int,
    read_timeout_s: float,
    workers: int,
    report: IngestReport,
) -> list[PendingFile]:
    """Files that are new or differ from what is stored (content or chunking); the rest go to `report.unchanged`.

    Files are hashed in time-limited workers (see `loaders.hash_files`): one that cannot be read
    in `read_timeout_s` goes to `report.failed` and the rest go on.
    """
    unique: dict[str, Path] = {}
    for path in files:
        unique.setdefault(str(path.resolve()), path)
    pending = []
    hashed = hash_files(list(unique.values()), max_bytes=max_bytes, timeout_s=read_timeout_s, workers=workers)
    for source, (path, outcome) in zip(unique, hashed, strict=True):
        if isinstance(outcome, IngestError):
            report.failed.append(outcome)
            continue
        content_hash, size = outcome
        known = stored(source)
        if known and known.content_hash == content_hash and known.chunking == chunking:
            report.unchanged.append(source)
            continue
        pending.append(PendingFile(path, source, content_hash, size, known is not None))
    return pending


def stage(
    pending: Sequence[PendingFile],
    embedder: Embedder,
    report: IngestReport,
    *,
    chunk_tokens: int,
    overlap_tokens: int,
    max_bytes: int,
    parse_timeout_s: float,
    workers: int,
    embed_group: int,
    progress: bool,
) -> Iterator[StagedDocument]:
    """Parse, chunk and embed `pending` in order; a file that fails goes to `report.failed` and is skipped."""
    if not pending:
        return
    group: list[tuple[PendingFile, str, list[Chunk], list[str]]] = []
    group_chunks = 0
    parsed_stream = iter_parsed(
        [item.path for item in pending], max_bytes=max_bytes, parse_timeout_s=parse_timeout_s, workers=workers
    )
    show = progress and len(pending) >= PROGRESS_MIN_FILES
    with tqdm(total=len(pending), unit="file", desc="ingest", disable=not show) as bar:
        for item, (_, parsed) in zip(pending, parsed_stream, strict=True):
            bar.update()
            try:
                if isinstance(parsed, IngestError):
                    raise parsed
                budget = context_budget(parsed, embedder.tokenizer, embedder.max_tokens)
                chunks = chunk_document(
                    parsed,
                    embedder.tokenizer,
                    chunk_tokens=chunk_tokens,
                    overlap_tokens=overlap_tokens,
                    max_tokens=embedder.max_tokens - budget,
                )
                if not chunks:
                    raise IngestError(
                        item.path, "no text found to index; is the file empty or a scanned image?"
                    )
            except IngestError as error:
                report.failed.append(error)
                continue
            texts = [embedding_text(chunk, embedder.tokenizer, budget) for chunk in chunks]
            group.append((item, parsed.title, chunks, texts))
            group_chunks += len(chunks)
            # Large groups: the model sorts each call's texts by length, so less padding is computed.
            if group_chunks >= embed_group:
                yield from _embed(embedder, group)
                group, group_chunks = [], 0
    yield from _embed(embedder, group)


def _embed(
    embedder: Embedder, group: list[tuple[PendingFile, str, list[Chunk], list[str]]]
) -> Iterator[StagedDocument]:
    if not group:
        return
    vectors = embedder.encode([text for *_, texts in group for text in texts])
    offset = 0
    for item, title, chunks, _ in group:
        rows = vectors[offset : offset + len(chunks)]
        offset += len(chunks)
        yield StagedDocument(item.source, title, item.content_hash, item.size_bytes, chunks, rows)
