"""Registry on real SQLite: ids, one-transaction commits, snapshots that ignore later commits."""

from __future__ import annotations

import sqlite3

import pytest

from ingest.document import Chunk
from ingest.registry import DocumentRecord, Registry, chunk_id, document_id


def _record(source: str, chunks: int, content_hash: str = "h1") -> DocumentRecord:
    return DocumentRecord(
        doc_id=document_id(source),
        source=source,
        title=f"Title of {source}",
        content_hash=content_hash,
        size_bytes=100,
        chunking="chunk_tokens=200",
        added_at="2026-01-01T00:00:00+00:00",
        updated_at="2026-01-01T00:00:00+00:00",
        chunk_count=chunks,
    )


def _chunks(record: DocumentRecord, texts: list[str]) -> list[tuple[int, Chunk]]:
    return [
        (
            chunk_id(record.doc_id, n, text),
            Chunk(text, record.title, ("Part", f"Sec {n}"), n + 1, n * 10, n * 10 + 9),
        )
        for n, text in enumerate(texts)
    ]


def test_ids_are_stable_non_negative_int64_and_depend_on_doc_position_and_text():
    doc = document_id("/docs/a.md")
    assert doc == document_id("/docs/a.md") and len(doc) == 16
    ids = {
        chunk_id(doc, 0, "x"),
        chunk_id(doc, 1, "x"),
        chunk_id(document_id("/docs/b.md"), 0, "x"),
        chunk_id(doc, 0, "y"),
    }
    assert len(ids) == 4
    assert all(0 <= value < 2**63 for value in ids)
    assert chunk_id(doc, 0, "x") == chunk_id(doc, 0, "x")


def test_commit_stores_documents_chunks_and_generation(tmp_path):
    registry = Registry(tmp_path / "r.sqlite3")
    assert registry.generation() == 0
    a, b = _record("/a.md", 2), _record("/b.md", 1)
    a_chunks, b_chunks = _chunks(a, ["alpha one", "alpha two"]), _chunks(b, ["beta"])
    registry.commit(1, [(a, a_chunks), (b, b_chunks)])

    assert registry.generation() == 1
    assert [doc.source for doc in registry.documents()] == ["/a.md", "/b.md"]
    assert registry.document_by_source("/a.md") == a
    assert sorted(registry.chunk_ids()) == sorted(cid for cid, _ in a_chunks + b_chunks)
    stored = registry.chunks([a_chunks[1][0], 12345])
    assert list(stored) == [a_chunks[1][0]]
    hit = stored[a_chunks[1][0]]
    assert (hit.source, hit.ordinal, hit.chunk) == ("/a.md", 1, a_chunks[1][1])


def test_commit_replaces_a_documents_chunks_and_removes_others(tmp_path):
    registry = Registry(tmp_path / "r.sqlite3")
    a, b = _record("/a.md", 2), _record("/b.md", 1)
    registry.commit(1, [(a, _chunks(a, ["one", "two"])), (b, _chunks(b, ["beta"]))])
    a2 = _record("/a.md", 1, content_hash="h2")
    new_chunks = _chunks(a2, ["three"])
    registry.commit(2, [(a2, new_chunks)], removed=[b.doc_id])

    assert registry.generation() == 2
    assert registry.documents() == [a2]
    assert registry.chunk_ids() == [new_chunks[0][0]]


def test_failed_commit_changes_nothing(tmp_path):
    registry = Registry(tmp_path / "r.sqlite3")
    a = _record("/a.md", 1)
    registry.commit(1, [(a, _chunks(a, ["one"]))])
    b = _record("/b.md", 1)
    clash = [(chunk_id(a.doc_id, 0, "one"), Chunk("dup id", "t", (), None, 0, 6))]  # primary key taken by a
    with pytest.raises(sqlite3.IntegrityError, match="UNIQUE"):
        registry.commit(2, [(b, clash)])
    assert registry.generation() == 1
    assert registry.documents() == [a]


def test_snapshot_keeps_reading_the_state_it_started_with(tmp_path):
    reader, writer = Registry(tmp_path / "r.sqlite3"), Registry(tmp_path / "r.sqlite3")
    a = _record("/a.md", 1)
    writer.commit(1, [(a, _chunks(a, ["one"]))])
    with reader.snapshot() as snapshot:
        assert snapshot.generation() == 1
        writer.commit(2, [], removed=[a.doc_id])  # WAL: the writer is not blocked by the reader
        assert snapshot.generation() == 1
        assert snapshot.chunk_ids() == [chunk_id(a.doc_id, 0, "one")]
    assert reader.generation() == 2
    assert reader.chunk_ids() == []
