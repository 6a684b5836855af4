"""Hostile entries in an ingested folder: links out of it, FIFOs, devices, hidden files, names that forge lines.

Each is refused (or counted) with one line naming it, the rest of the batch is stored, and a
refused file never reaches the registry or the index.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from ingest.document import IngestError, printable
from ingest.embeddings import HashingEmbedder, load_packaged_tokenizer
from ingest.knowledge_base import KnowledgeBase
from ingest.loaders import find_files, hash_files
from ingest.registry import Registry

GOOD = "Opened routers can be returned within 30 days with the receipt.\n"
SECRET = "root:x:0:0:the secret outside the folder\n"


@pytest.fixture(scope="module")
def embedder() -> HashingEmbedder:
    return HashingEmbedder(load_packaged_tokenizer(), dimension=256)


@pytest.fixture
def hostile(tmp_path) -> Path:
    """A folder with one good file and every hostile entry next to it."""
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "passwd.txt").write_text(SECRET, encoding="utf-8")
    docs = tmp_path / "docs"
    (docs / "sub").mkdir(parents=True)
    (docs / "good.txt").write_text(GOOD, encoding="utf-8")
    (docs / "passwd.txt").symlink_to(outside / "passwd.txt")
    (docs / "outdir").symlink_to(outside)
    (docs / "zero.txt").symlink_to("/dev/zero")
    os.mkfifo(docs / "pipe.txt")
    (docs / ".hidden.txt").write_text(SECRET, encoding="utf-8")
    (docs / ".git").mkdir()
    (docs / "sub" / "inside-link.txt").symlink_to(docs / "good.txt")
    return docs


def _reasons(errors: list[IngestError]) -> dict[str, str]:
    return {Path(error.path).name: error.reason for error in errors}


def _stored_texts(directory: Path) -> list[str]:
    registry = Registry(directory / "registry.sqlite3")
    try:
        return [stored.chunk.text for stored in registry.chunks(registry.chunk_ids()).values()]
    finally:
        registry.close()


def test_folder_scan_refuses_links_out_fifos_and_devices_and_counts_hidden(hostile):
    found = find_files([hostile])

    assert [path.name for path in found.files] == ["good.txt", "inside-link.txt"]
    reasons = _reasons(found.errors)
    assert sorted(reasons) == ["outdir", "passwd.txt", "pipe.txt", "zero.txt"]
    assert reasons["passwd.txt"].startswith(
        f"links to {hostile.parent / 'outside' / 'passwd.txt'}, outside {hostile}"
    )
    assert "--follow-symlinks" in reasons["passwd.txt"]
    assert reasons["outdir"].startswith(f"links to {hostile.parent / 'outside'}, outside")
    assert reasons["zero.txt"].startswith("links to /dev/zero")
    assert reasons["pipe.txt"].startswith("a FIFO (named pipe), not a regular file")
    assert found.hidden == 2  # .hidden.txt and .git


def test_follow_symlinks_reads_links_out_but_still_refuses_special_files(hostile):
    found = find_files([hostile], follow_symlinks=True)

    names = sorted(str(path.relative_to(hostile)) for path in found.files)
    assert names == ["good.txt", "outdir/passwd.txt", "passwd.txt", "sub/inside-link.txt"]
    reasons = _reasons(found.errors)
    assert sorted(reasons) == ["pipe.txt", "zero.txt"]
    assert reasons["zero.txt"].startswith("a device, not a regular file")


def test_a_link_named_directly_is_judged_against_its_own_folder(hostile):
    found = find_files([hostile / "passwd.txt", hostile / "good.txt"])
    assert [path.name for path in found.files] == ["good.txt"]
    assert _reasons(found.errors)["passwd.txt"].startswith("links to ")


def test_ingest_stores_the_good_file_only_and_never_the_secret(tmp_path, hostile, embedder):
    with KnowledgeBase(tmp_path / "index", embedder, parse_workers=1) as kb:
        report = kb.ingest([hostile])
        assert [Path(source).name for source in report.added] == ["good.txt"]
        assert sorted(_reasons(report.failed)) == ["outdir", "passwd.txt", "pipe.txt", "zero.txt"]
        assert report.hidden == 2 and report.as_dict()["hidden"] == 2
        assert [Path(record.source).name for record in kb.documents()] == ["good.txt"]
    assert _stored_texts(tmp_path / "index") == [GOOD.strip()]


def test_hashing_refuses_a_fifo_swapped_in_after_the_scan_instead_of_hanging(tmp_path):
    """The folder was listed with a regular file; by the time it is read, it is a FIFO with no writer."""
    swapped = tmp_path / "swapped.txt"
    os.mkfifo(swapped)
    good = tmp_path / "good.txt"
    good.write_text(GOOD, encoding="utf-8")

    results = dict(hash_files([swapped, good], max_bytes=2**20, timeout_s=10, workers=1))

    assert isinstance(results[swapped], IngestError)
    assert results[swapped].reason.startswith("a FIFO (named pipe), not a regular file")
    assert results[good][1] == len(GOOD)


def test_hashing_that_runs_past_the_limit_is_stopped_and_the_batch_goes_on(tmp_path):
    slow = tmp_path / "slow.txt"
    with open(slow, "wb") as handle:
        handle.truncate(8 * 2**30)  # sparse: 8 GiB of zeros to hash (several seconds), no disk used
    good = tmp_path / "good.txt"
    good.write_text(GOOD, encoding="utf-8")

    results = dict(hash_files([slow, good], max_bytes=2**34, timeout_s=1.0, workers=1))

    assert isinstance(results[slow], IngestError)
    assert results[slow].reason.startswith("reading the file took longer than 1s and was stopped")
    assert results[good][1] == len(GOOD)


def test_names_with_control_characters_are_printed_escaped():
    name = "/docs/n\nerror: forged.txt\x1b[2J"
    assert printable(name) == "/docs/n\\nerror: forged.txt\\x1b[2J"
    message = str(IngestError(name, "looks like binary data\nerror: fake"))
    assert "\n" not in message and "\x1b" not in message
    assert printable("/docs/plain café.txt") == "/docs/plain café.txt"


def test_store_is_unchanged_after_a_batch_of_only_hostile_entries(tmp_path, hostile, embedder):
    with KnowledgeBase(tmp_path / "index", embedder, parse_workers=1) as kb:
        kb.ingest([hostile / "good.txt"])
        generation = kb.generation()
        (hostile / "good.txt").unlink()
        report = kb.ingest([hostile])
        assert report.added == []
        reasons = _reasons(report.failed)
        assert sorted(reasons) == ["inside-link.txt", "outdir", "passwd.txt", "pipe.txt", "zero.txt"]
        assert reasons["inside-link.txt"].startswith("a broken link")
        assert kb.generation() == generation
    assert _stored_texts(tmp_path / "index") == [GOOD.strip()]
    assert [path.name for path in (tmp_path / "index").glob("index-*")] == [f"index-{generation}.faiss"]
