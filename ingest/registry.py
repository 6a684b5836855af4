"""The document registry and chunk store in SQLite, plus the committed index generation.

One transaction writes a batch of documents, their chunks and the new generation number, so the
registry and the index file named by that generation always describe the same chunks. Ids are
derived from content: a document's id from its source path, a chunk's id from its document,
position and text. Knows nothing about FAISS or embeddings.
"""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from ingest import keyword_index
from ingest.document import Chunk

_SCHEMA = """
CREATE TABLE IF NOT EXISTS documents (
    doc_id TEXT PRIMARY KEY,
    source TEXT NOT NULL UNIQUE,
    title TEXT NOT NULL,
    content_hash TEXT NOT NULL,
    size_bytes INTEGER NOT NULL,
    chunking TEXT NOT NULL,
    added_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    chunk_count INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS chunks (
    chunk_id INTEGER PRIMARY KEY,
    doc_id TEXT NOT NULL REFERENCES documents(doc_id),
    ordinal INTEGER NOT NULL,
    text TEXT NOT NULL,
    title TEXT NOT NULL,
    headings TEXT NOT NULL,
    page INTEGER,
    start INTEGER NOT NULL,
    "end" INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS chunks_by_document ON chunks(doc_id, ordinal);
CREATE TABLE IF NOT EXISTS state (key TEXT PRIMARY KEY, value INTEGER NOT NULL);
INSERT OR IGNORE INTO state VALUES ('generation', 0);
"""


def document_id(source: str) -> str:
    """16 hex digits of the source path's SHA-256: stable across runs and machines for one path."""
    return hashlib.sha256(source.encode("utf-8")).hexdigest()[:16]


def chunk_id(doc_id: str, ordinal: int, text: str) -> int:
    """64-bit id from the chunk's document, position and text; the top bit is cleared so it fits int64 >= 0."""
    digest = hashlib.sha256(f"{doc_id}\x00{ordinal}\x00{text}".encode()).digest()
    return int.from_bytes(digest[:8], "big") & (2**63 - 1)


@dataclass(frozen=True)
class DocumentRecord:
    doc_id: str
    source: str
    title: str
    content_hash: str
    size_bytes: int
    chunking: str  # the chunking settings the chunks were made with; a change re-chunks the document
    added_at: str  # ISO 8601, UTC
    updated_at: str
    chunk_count: int


@dataclass(frozen=True)
class StoredChunk:
    chunk_id: int
    doc_id: str
    source: str
    ordinal: int
    chunk: Chunk


class Registry:
    """SQLite in WAL mode: readers see the last committed state while a writer works."""

    def __init__(self, path: Path, *, busy_timeout_s: float = 30.0, read_only: bool = False) -> None:
        """`read_only` opens without writing a byte (no schema, no journal mode, no lock files), so a
        registry on read-only storage can be read; a registry not yet created reads as empty."""
        self.path = path
        self._lock = threading.RLock()
        if read_only:
            self._connection = _connect_read_only(path, busy_timeout_s)
            return
        # One connection per Registry, guarded by a lock, so one knowledge base can serve several threads.
        self._connection = sqlite3.connect(
            path, timeout=busy_timeout_s, isolation_level=None, check_same_thread=False
        )
        with self._lock:
            self._connection.execute("PRAGMA journal_mode=WAL")
            self._connection.execute("PRAGMA synchronous=FULL")
            self._connection.execute(f"PRAGMA busy_timeout={int(busy_timeout_s * 1000)}")
            self._connection.executescript(_SCHEMA)
            keyword_index.ensure_table(self._connection)

    def close(self) -> None:
        with self._lock:
            self._connection.close()

    @contextmanager
    def snapshot(self) -> Iterator[Registry]:
        """Reads inside this block all see one committed state, even while a writer commits."""
        with self._lock:
            self._connection.execute("BEGIN")
            try:
                yield self
            finally:
                self._connection.execute("COMMIT")

    def generation(self) -> int:
        with self._lock:
            return self._connection.execute("SELECT value FROM state WHERE key = 'generation'").fetchone()[0]

    def documents(self) -> list[DocumentRecord]:
        with self._lock:
            rows = self._connection.execute("SELECT * FROM documents ORDER BY source").fetchall()
        return [DocumentRecord(*row) for row in rows]

    def document(self, doc_id: str) -> DocumentRecord | None:
        with self._lock:
            row = self._connection.execute("SELECT * FROM documents WHERE doc_id = ?", (doc_id,)).fetchone()
        return DocumentRecord(*row) if row else None

    def document_by_source(self, source: str) -> DocumentRecord | None:
        with self._lock:
            row = self._connection.execute("SELECT * FROM documents WHERE source = ?", (source,)).fetchone()
        return DocumentRecord(*row) if row else None

    def chunk_ids(self, doc_id: str | None = None) -> list[int]:
        with self._lock:
            if doc_id is None:
                rows = self._connection.execute("SELECT chunk_id FROM chunks").fetchall()
            else:
                rows = self._connection.execute(
                    "SELECT chunk_id FROM chunks WHERE doc_id = ?", (doc_id,)
                ).fetchall()
        return [row[0] for row in rows]

    def chunk_documents(self) -> dict[int, str]:
        """Every stored chunk's id mapped to its document's id."""
        with self._lock:
            return dict(self._connection.execute("SELECT chunk_id, doc_id FROM chunks").fetchall())

    def keyword_search(self, query: str, k: int, context_weight: float = 1.0) -> list[tuple[int, float]]:
        """(chunk id, BM25 score) of the `k` chunks best matching `query`'s words, best first; a word in
        the title or headings counts `context_weight` times."""
        with self._lock:
            return keyword_index.search(self._connection, query, k, context_weight)

    def term_coverage(self, query: str, chunk_ids: Sequence[int]) -> keyword_index.TermCoverage:
        """How much of `query`'s content these chunks hold (see `keyword_index.TermCoverage`)."""
        with self._lock:
            return keyword_index.coverage(self._connection, query, chunk_ids)

    def keyword_ids(self) -> list[int]:
        """The chunk ids the keyword channel holds; always equal to `chunk_ids()`."""
        with self._lock:
            return keyword_index.indexed_ids(self._connection)

    def chunks(self, ids: Sequence[int]) -> dict[int, StoredChunk]:
        """The stored chunks with these ids (missing ids are left out)."""
        if not ids:
            return {}
        marks = ",".join("?" * len(ids))
        query = (
            'SELECT c.chunk_id, c.doc_id, d.source, c.ordinal, c.text, c.title, c.headings, c.page, c.start, c."end" '
            f"FROM chunks c JOIN documents d ON d.doc_id = c.doc_id WHERE c.chunk_id IN ({marks})"
        )
        with self._lock:
            rows = self._connection.execute(query, [int(i) for i in ids]).fetchall()
        found = {}
        for cid, doc_id, source, ordinal, text, title, headings, page, start, end in rows:
            chunk = Chunk(text, title, tuple(json.loads(headings)), page, start, end)
            found[cid] = StoredChunk(cid, doc_id, source, ordinal, chunk)
        return found

    def integrity_problems(self) -> list[str]:
        """What SQLite's `PRAGMA integrity_check` finds wrong in the file; empty when it is sound."""
        with self._lock:
            try:
                rows = self._connection.execute("PRAGMA integrity_check").fetchall()
            except sqlite3.DatabaseError as error:  # damage the check itself cannot walk past
                return [str(error)]
        return [row[0] for row in rows if row[0] != "ok"]

    def orphan_chunk_ids(self) -> list[int]:
        """Chunks whose document row is gone."""
        with self._lock:
            rows = self._connection.execute(
                "SELECT chunk_id FROM chunks WHERE doc_id NOT IN (SELECT doc_id FROM documents)"
            ).fetchall()
        return [row[0] for row in rows]

    def wrong_chunk_counts(self) -> dict[str, tuple[int, int]]:
        """doc_id -> (recorded chunk_count, chunks actually stored), for documents where they differ."""
        with self._lock:
            rows = self._connection.execute(
                "SELECT d.doc_id, d.chunk_count, COUNT(c.chunk_id) FROM documents d "
                "LEFT JOIN chunks c ON c.doc_id = d.doc_id GROUP BY d.doc_id HAVING COUNT(c.chunk_id) != d.chunk_count"
            ).fetchall()
        return {doc_id: (recorded, stored) for doc_id, recorded, stored in rows}

    def repair(self, generation: int, *, drop_chunk_ids: Sequence[int], chunk_counts: dict[str, int]) -> None:
        """In one transaction: delete these chunks, set these documents' chunk counts, record `generation`."""
        with self._lock:
            connection = self._connection
            connection.execute("BEGIN IMMEDIATE")
            try:
                keyword_index.delete_chunks(connection, drop_chunk_ids)
                connection.executemany(
                    "DELETE FROM chunks WHERE chunk_id = ?", [(int(i),) for i in drop_chunk_ids]
                )
                connection.executemany(
                    "UPDATE documents SET chunk_count = ? WHERE doc_id = ?",
                    [(count, doc_id) for doc_id, count in chunk_counts.items()],
                )
                connection.execute("UPDATE state SET value = ? WHERE key = 'generation'", (generation,))
                connection.execute("COMMIT")
            except BaseException:
                if connection.in_transaction:
                    connection.execute("ROLLBACK")
                raise

    def commit(
        self,
        generation: int,
        documents: Sequence[tuple[DocumentRecord, Sequence[tuple[int, Chunk]]]],
        removed: Sequence[str] = (),
    ) -> None:
        """In one transaction: replace these documents' chunks, delete `removed`, record `generation`."""
        with self._lock:
            connection = self._connection
            connection.execute("BEGIN IMMEDIATE")
            try:
                for record, chunks in documents:
                    keyword_index.delete_document(connection, record.doc_id)
                    connection.execute("DELETE FROM chunks WHERE doc_id = ?", (record.doc_id,))
                    connection.execute(
                        "INSERT OR REPLACE INTO documents VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                        (
                            record.doc_id,
                            record.source,
                            record.title,
                            record.content_hash,
                            record.size_bytes,
                            record.chunking,
                            record.added_at,
                            record.updated_at,
                            record.chunk_count,
                        ),
                    )
                    connection.executemany(
                        "INSERT INTO chunks VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                        [
                            (
                                cid,
                                record.doc_id,
                                ordinal,
                                c.text,
                                c.title,
                                json.dumps(c.headings),
                                c.page,
                                c.start,
                                c.end,
                            )
                            for ordinal, (cid, c) in enumerate(chunks)
                        ],
                    )
                    keyword_index.insert_rows(
                        connection, ((cid, c.title, c.headings, c.text) for cid, c in chunks)
                    )
                for doc_id in removed:
                    keyword_index.delete_document(connection, doc_id)
                    connection.execute("DELETE FROM chunks WHERE doc_id = ?", (doc_id,))
                    connection.execute("DELETE FROM documents WHERE doc_id = ?", (doc_id,))
                connection.execute("UPDATE state SET value = ? WHERE key = 'generation'", (generation,))
                # Inside the try: a full disk can fail the COMMIT itself, which must not leave it open.
                connection.execute("COMMIT")
            except BaseException:
                if connection.in_transaction:
                    connection.execute("ROLLBACK")
                raise


def _connect_read_only(path: Path, busy_timeout_s: float) -> sqlite3.Connection:
    if not path.exists():
        connection = sqlite3.connect(":memory:", isolation_level=None, check_same_thread=False)
        connection.executescript(_SCHEMA)
        return connection
    # In a folder nobody can write to, SQLite cannot create the WAL's shared-memory file, and no
    # writer can change the database either: `immutable` reads it without that file.
    flag = "mode=ro" if os.access(path.parent, os.W_OK) else "immutable=1"
    return sqlite3.connect(
        f"{path.resolve().as_uri()}?{flag}",
        uri=True,
        timeout=busy_timeout_s,
        isolation_level=None,
        check_same_thread=False,
    )
