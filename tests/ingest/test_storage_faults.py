"""Read-only storage and a full disk: reading still works, writing fails with one line, nothing stored changes.

Uses real mounts (a small tmpfs, a read-only bind mount), so it runs only as root where `mount`
works, and is skipped elsewhere.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from ingest.embeddings import HashingEmbedder, load_packaged_tokenizer
from ingest.knowledge_base import KnowledgeBase, KnowledgeBaseError
from ingest.registry import Registry
from ingest.vector_index import IndexFiles

DIMENSION = 16  # small vectors: the index file grows far less than the registry per chunk


def _mount(*args: str) -> bool:
    return subprocess.run(["mount", *args], capture_output=True).returncode == 0


def _umount(target: Path) -> None:
    subprocess.run(["umount", "-l", str(target)], check=False)


@pytest.fixture
def tmpfs(tmp_path) -> Iterator[Path]:
    """A 16 MiB tmpfs (room for a small index and its SQLite write-ahead log), unmounted afterwards."""
    target = tmp_path / "small-disk"
    target.mkdir()
    if os.geteuid() != 0 or not _mount("-t", "tmpfs", "-o", "size=16m", "tmpfs", str(target)):
        pytest.skip("needs root and a working `mount -t tmpfs`")
    yield target
    _umount(target)


@pytest.fixture
def read_only_view(tmp_path) -> Iterator[tuple[Path, Path]]:
    """(writable folder, read-only bind mount of it)."""
    source, view = tmp_path / "rw", tmp_path / "ro"
    source.mkdir()
    view.mkdir()
    if os.geteuid() != 0 or not _mount("--bind", str(source), str(view)):
        pytest.skip("needs root and a working `mount --bind`")
    if not _mount("-o", "remount,bind,ro", str(view)):
        _umount(view)
        pytest.skip("cannot remount the bind mount read-only")
    yield source, view
    _umount(view)


@pytest.fixture(scope="module")
def embedder() -> HashingEmbedder:
    return HashingEmbedder(load_packaged_tokenizer(), dimension=DIMENSION)


def _page(number: int, words: int = 150) -> str:
    return f"# Page {number}\n\n" + " ".join(f"word{number}x{i}" for i in range(words)) + "\n"


def _write_docs(folder: Path, first: int, count: int) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for number in range(first, first + count):
        (folder / f"page-{number:03d}.md").write_text(_page(number), encoding="utf-8")
    return folder


def _fingerprint(index: Path) -> tuple[int, list[str], list[int], list[int], dict[str, str]]:
    """Everything a reader can see: generation, sources, chunk ids in registry and index, file hashes."""
    registry = Registry(index / "registry.sqlite3", read_only=True)
    try:
        generation = registry.generation()
        sources = [record.source for record in registry.documents()]
        chunk_ids = sorted(registry.chunk_ids())
    finally:
        registry.close()
    index_ids = sorted(IndexFiles(index, DIMENSION).load(generation).ids().tolist())
    files = {
        path.name: hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(index.iterdir())
        if path.name.startswith(("index-", "manifest"))
    }
    return generation, sources, chunk_ids, index_ids, files


def _fill(folder: Path, leave_bytes: int) -> None:
    """Fill the file system of `folder` until it is full, then give back `leave_bytes`."""
    filler = folder / "filler"
    # Unbuffered: a buffered file would try the failed bytes again when it closes and raise there.
    with open(filler, "wb", buffering=0) as handle:
        try:
            while True:
                handle.write(b"\0" * 65536)
        except OSError:
            pass
    size = filler.stat().st_size
    os.truncate(filler, max(0, size - leave_bytes))


def _open(index: Path, embedder: HashingEmbedder, **options: object) -> KnowledgeBase:
    return KnowledgeBase(index, embedder, chunk_tokens=200, overlap_tokens=0, parse_workers=1, **options)


@pytest.mark.slow  # fills a small file system, then ingests
@pytest.mark.parametrize(
    ("leave_bytes", "failing_file", "reason"),
    [
        (0, "index-2.faiss", "cannot write the index (No space left on device)"),
        (48 * 1024, "registry.sqlite3", "cannot store the batch (database or disk is full)"),
    ],
    ids=["during-index-write", "during-registry-commit"],
)
def test_full_disk_fails_with_one_line_and_keeps_the_stored_state(
    tmp_path, tmpfs, embedder, leave_bytes, failing_file, reason
):
    index = tmpfs / "index"
    with _open(index, embedder) as kb:
        assert not kb.ingest([_write_docs(tmp_path / "first", 0, 5)]).failed
    before = _fingerprint(index)
    more = _write_docs(tmp_path / "more", 100, 120)  # ~180 KiB of text, ~25 KiB of vectors
    _fill(tmpfs, leave_bytes)

    with _open(index, embedder) as kb, pytest.raises(KnowledgeBaseError) as caught:
        kb.ingest([more])

    message = str(caught.value)
    assert "\n" not in message
    assert message.startswith(str(index / failing_file)), message
    assert reason in message and "free disk space there" in message
    assert _fingerprint(index) == before
    (tmpfs / "filler").unlink()
    with _open(index, embedder) as kb:  # space is back: the same batch now goes in
        report = kb.ingest([more])
        assert len(report.added) == 120 and kb.generation() == before[0] + 1


def test_read_only_storage_reads_and_refuses_writes_with_one_line(tmp_path, read_only_view, embedder):
    source, view = read_only_view
    with _open(source / "index", embedder) as kb:
        assert not kb.ingest([_write_docs(tmp_path / "docs", 0, 3)]).failed
    before = _fingerprint(source / "index")

    with _open(view / "index", embedder, read_only=True) as reader:
        assert len(reader.documents()) == 3
        assert reader.search("word1x5 word1x6", 1)[0].source.endswith("page-001.md")
    with pytest.raises(KnowledgeBaseError) as caught:
        _open(view / "index", embedder)
    assert str(caught.value) == (
        f"{view / 'index'}: the index folder is read-only; make it writable or choose another --home "
        "(reading needs no write access)"
    )
    assert _fingerprint(source / "index") == before


def test_read_only_open_of_a_missing_folder_reads_empty_and_creates_nothing(tmp_path, embedder):
    with _open(tmp_path / "nowhere", embedder, read_only=True) as kb:
        assert kb.documents() == [] and kb.generation() == 0
    assert not (tmp_path / "nowhere").exists()


@pytest.mark.slow  # CLI commands, each loading the packaged embedding model
def test_cli_on_a_read_only_home_lists_and_searches_and_refuses_ingest_in_one_line(tmp_path, read_only_view):
    from typer.testing import CliRunner

    from assistant.cli.app import app

    def run(home: Path, *args: str):
        return CliRunner().invoke(app, ["--home", str(home), "--device", "cpu", *args])

    source, view = read_only_view
    docs = _write_docs(tmp_path / "docs", 0, 2)
    assert run(source, "ingest", str(docs)).exit_code == 0
    before = {path.name: path.read_bytes() for path in (source / "index").iterdir()}

    listed = run(view, "docs", "list")
    assert listed.exit_code == 0 and "page-001.md" in listed.stdout
    found = run(view, "search", "page 1", "-k", "1")
    assert found.exit_code == 0 and found.stdout.startswith("1. [")
    refused = run(view, "ingest", str(_write_docs(tmp_path / "more", 10, 1)))
    assert refused.exit_code == 2  # refused by the home check, before the knowledge base is opened
    assert refused.stderr == (
        f"error: home folder {view} is read-only and `ingest` writes there; make it writable or "
        "choose another --home\n"
    )
    assert {path.name: path.read_bytes() for path in (source / "index").iterdir()} == before
