"""`KnowledgeBase.verify` / `repair` on a real index corrupted in each way a crash, a bug or a hand can leave it."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from pathlib import Path

import faiss
import numpy as np
import pytest
from typer.testing import CliRunner

from ingest.embeddings import HashingEmbedder, load_packaged_tokenizer
from ingest.knowledge_base import KnowledgeBase
from ingest.registry import Registry
from ingest.vector_index import FlatIndex

DOCS = {
    f"page{number}.md": f"# Page {number}\n\n"
    + " ".join(f"topic{number} detail{i}." for i in range(60))
    + "\n"
    for number in range(4)
}


@pytest.fixture(scope="module")
def embedder() -> HashingEmbedder:
    return HashingEmbedder(load_packaged_tokenizer(), dimension=64)


@pytest.fixture
def built(tmp_path, embedder) -> Path:
    docs = tmp_path / "docs"
    docs.mkdir()
    for name, text in DOCS.items():
        (docs / name).write_text(text, encoding="utf-8")
    with _open(tmp_path / "index", embedder) as kb:
        assert not kb.ingest([docs]).failed
        assert kb.verify().findings == []
    return tmp_path / "index"


def _open(index: Path, embedder: HashingEmbedder | None, *, read_only: bool = False) -> KnowledgeBase:
    return KnowledgeBase(
        index, embedder, chunk_tokens=40, overlap_tokens=0, parse_workers=1, read_only=read_only
    )


def _sql(index: Path, statement: str) -> None:
    connection = sqlite3.connect(index / "registry.sqlite3")
    connection.execute(statement)
    connection.commit()
    connection.close()


def _rewrite_index(index: Path, change: Callable[[FlatIndex], None]) -> None:
    registry = Registry(index / "registry.sqlite3")
    path = index / f"index-{registry.generation()}.faiss"
    registry.close()
    flat = FlatIndex.load(path)
    change(flat)
    flat.save(path)


def _state(index: Path) -> tuple[list[int], dict[int, np.ndarray]]:
    """(registry chunk ids, index id -> vector) as stored."""
    registry = Registry(index / "registry.sqlite3")
    try:
        chunk_ids = sorted(registry.chunk_ids())
        stored = faiss.read_index(str(index / f"index-{registry.generation()}.faiss"))
    finally:
        registry.close()
    ids = faiss.vector_to_array(stored.id_map)
    vectors = faiss.downcast_index(stored.index).reconstruct_n(0, stored.ntotal)
    return chunk_ids, {int(i): vectors[row] for row, i in enumerate(ids)}


def _first_chunk(index: Path) -> int:
    return _state(index)[0][0]


def _drop_one_vector(index: Path) -> None:
    victim = _first_chunk(index)
    _rewrite_index(index, lambda flat: flat.remove(np.array([victim])))


def _add_stray_vector(index: Path) -> None:
    _rewrite_index(
        index, lambda flat: flat.add(np.array([12345]), np.ones((1, flat.dimension), np.float32) / 8)
    )


def _duplicate_one_vector(index: Path) -> None:
    victim = _first_chunk(index)
    _rewrite_index(
        index, lambda flat: flat.add(np.array([victim]), np.ones((1, flat.dimension), np.float32) / 8)
    )


CASES = {
    "stray-generation-file": (
        lambda index: (index / "index-9.faiss").write_bytes(b"left by a killed writer"),
        "files of no committed generation: index-9.faiss",
    ),
    "index-file-missing": (
        lambda index: (index / "index-1.faiss").unlink(),
        "index-1.faiss: the index file of committed generation 1 is missing",
    ),
    "index-file-garbage": (
        lambda index: (index / "index-1.faiss").write_bytes(b"not faiss"),
        "index-1.faiss: unreadable FAISS index",
    ),
    "vector-missing": (_drop_one_vector, "index-1.faiss: 1 chunks of the registry have no vector"),
    "vector-without-chunk": (_add_stray_vector, "index-1.faiss: 1 vectors have no chunk in the registry"),
    "duplicated-id": (_duplicate_one_vector, "index-1.faiss: 1 ids appear more than once"),
    "wrong-chunk-count": (
        lambda index: _sql(index, "UPDATE documents SET chunk_count = 99 WHERE source LIKE '%page2.md'"),
        "records 99 chunks but",
    ),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_each_corruption_is_found_repaired_and_vectors_come_back_identical(built, embedder, case):
    corrupt, expected = CASES[case]
    chunk_ids, vectors = _state(built)
    corrupt(built)

    with _open(built, None) as reader:
        findings = reader.verify().findings
    assert len(findings) == 1, findings
    assert expected in findings[0].problem and findings[0].repairable

    with _open(built, embedder) as kb:
        done = kb.repair()
        assert kb.verify().findings == []
        assert kb.search("topic2 detail5", 1)[0].source.endswith("page2.md")
        assert sum(record.chunk_count for record in kb.documents()) == len(chunk_ids)
    assert done or case == "stray-generation-file"
    repaired_ids, repaired = _state(built)
    assert repaired_ids == chunk_ids and sorted(repaired) == chunk_ids
    for chunk in chunk_ids:
        np.testing.assert_allclose(repaired[chunk], vectors[chunk], atol=1e-6)
    assert sorted(path.name for path in built.glob("index-*")) == [f"index-{2 if done else 1}.faiss"]


def test_chunks_of_a_deleted_document_are_dropped_with_their_vectors(built, embedder):
    _sql(built, "PRAGMA foreign_keys = OFF")
    _sql(built, "DELETE FROM documents WHERE source LIKE '%page3.md'")
    with _open(built, embedder) as kb:
        [finding] = kb.verify().findings
        assert finding.problem.endswith("chunks belong to no document")
        kb.repair()
        assert kb.verify().findings == []
        assert len(kb.documents()) == 3
    chunk_ids, vectors = _state(built)
    assert sorted(vectors) == chunk_ids


def test_problems_that_need_a_rebuild_are_reported_not_touched(built, embedder):
    (built / "manifest.json").unlink()
    with _open(built, None) as reader:
        [finding] = reader.verify().findings
    assert finding.problem == f"{built / 'manifest.json'}: missing, yet the registry holds chunks"
    assert not finding.repairable and "empty --home" in finding.action


def test_a_damaged_sqlite_page_fails_the_integrity_check(built):
    connection = sqlite3.connect(built / "registry.sqlite3")
    connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    page_size = connection.execute("PRAGMA page_size").fetchone()[0]
    root = connection.execute(
        "SELECT rootpage FROM sqlite_master WHERE name = 'chunks_by_document'"
    ).fetchone()[0]
    connection.close()
    with open(built / "registry.sqlite3", "r+b") as handle:  # zero the index's root page: a torn write
        handle.seek((root - 1) * page_size)
        handle.write(b"\0" * page_size)
    # Read-only, as `tunedesk doctor` opens it: a writable open would first bring the keyword channel
    # up to date, and fail on the damaged page before any check could name it.
    with _open(built, None, read_only=True) as reader:
        findings = reader.verify().findings
    assert findings and all(not finding.repairable for finding in findings[:1])
    assert findings[0].problem.startswith(f"{built / 'registry.sqlite3'}: SQLite integrity check: ")


def test_doctor_command_lists_then_repairs(tmp_path):
    from assistant.cli.app import app

    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "returns.md").write_text("# Returns\n\nOpened routers can be returned within 30 days.\n")
    home = tmp_path / "home"

    def run(*args: str):
        return CliRunner().invoke(app, ["--home", str(home), "--device", "cpu", *args])

    assert run("ingest", str(docs)).exit_code == 0
    clean = run("doctor")
    assert (clean.exit_code, clean.stdout) == (0, f"no problems found in {home / 'index'}\n")
    (home / "index" / "index-1.faiss").unlink()

    found = run("doctor")
    assert found.exit_code == 1
    assert found.stdout.splitlines() == [
        f"problem: {home / 'index' / 'index-1.faiss'}: the index file of committed generation 1 is missing",
        "  repair: re-embed all 1 chunks from the registry into a new index file",
        "run `tunedesk doctor --repair` to do the repairs",
    ]
    repaired = run("doctor", "--repair", "--json")
    assert repaired.exit_code == 0
    assert '"remaining": []' in repaired.stdout and "1 chunks re-embedded" in repaired.stdout
    assert run("search", "return an opened router", "-k", "1").stdout.startswith("1. [")


def test_repair_changes_nothing_while_a_rebuild_is_needed(built, embedder):
    (built / "manifest.json").unlink()
    (built / "index-1.faiss").unlink()
    with _open(built, embedder) as kb:
        assert kb.repair() == []
        assert not kb.verify().findings[0].repairable
    assert not list(built.glob("index-*")) and Registry(built / "registry.sqlite3").generation() == 1
