"""KnowledgeBase on real files, SQLite and FAISS with the hashing embedder: incremental ingest, removal,
index/registry consistency under random operation sequences, crash safety, locking and concurrent reads."""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import textwrap
import threading
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ingest.document import Chunk
from ingest.embeddings import HashingEmbedder, load_packaged_tokenizer
from ingest.knowledge_base import (
    KnowledgeBase,
    KnowledgeBaseBusyError,
    KnowledgeBaseError,
    StagedDocument,
    UnknownDocumentError,
)
from ingest.manifest import IncompatibleIndexError
from ingest.registry import Registry
from ingest.retriever import KnowledgeBaseRetriever
from ingest.vector_index import IndexFiles

REPO = Path(__file__).resolve().parents[2]

TOPICS = {
    "returns.md": "# Returns\n\nOpened routers can be returned within 30 days with the receipt.\n",
    "warranty.md": "# Warranty\n\nThe warranty covers hardware faults for two years from delivery.\n",
    "shipping.txt": "Shipping takes three working days; express courier delivery arrives overnight.\n",
}


@pytest.fixture(scope="module")
def embedder() -> HashingEmbedder:
    return HashingEmbedder(load_packaged_tokenizer(), dimension=256)


def _write(folder: Path, files: dict[str, str]) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (folder / name).write_text(text, encoding="utf-8")
    return [folder / name for name in files]


def _on_disk(directory: Path, dimension: int = 256) -> tuple[list[int], list[int]]:
    """(index ids, registry chunk ids) as a fresh reader sees them: the committed generation's file.
    The keyword channel's rows must always be exactly the registry's chunks."""
    registry = Registry(directory / "registry.sqlite3")
    try:
        index = IndexFiles(directory, dimension).load(registry.generation())
        assert sorted(registry.keyword_ids()) == sorted(registry.chunk_ids())
        return sorted(index.ids().tolist()), sorted(registry.chunk_ids())
    finally:
        registry.close()


def _open(directory: Path, embedder: HashingEmbedder, **options: object) -> KnowledgeBase:
    return KnowledgeBase(directory, embedder, chunk_tokens=40, overlap_tokens=8, parse_workers=1, **options)


def test_ingest_search_reingest_update_remove(tmp_path, embedder):
    docs = tmp_path / "docs"
    _write(docs, TOPICS)
    kb = _open(tmp_path / "index", embedder)

    first = kb.ingest([docs])
    assert sorted(Path(source).name for source in first.added) == sorted(TOPICS)
    assert (first.updated, first.unchanged, first.failed) == ([], [], [])
    assert first.chunks_written == sum(doc.chunk_count for doc in kb.documents()) >= 3
    hits = kb.search("how long is the warranty on hardware", 2)
    assert Path(hits[0].source).name == "warranty.md"
    assert hits[0].title == "Warranty" and "two years" in hits[0].text
    assert hits[0].score > hits[1].score

    again = kb.ingest([docs])
    assert (again.added, again.updated, len(again.unchanged), again.chunks_written) == ([], [], 3, 0)

    (docs / "warranty.md").write_text("# Warranty\n\nThe guarantee now lasts five years.\n", encoding="utf-8")
    changed = kb.ingest([docs])
    assert [Path(source).name for source in changed.updated] == ["warranty.md"]
    assert changed.chunks_removed >= 1 and changed.chunks_written == 1
    assert "five years" in kb.search("guarantee years", 1)[0].text
    assert all("two years" not in hit.text for hit in kb.search("warranty hardware faults", 3))

    removed = kb.remove(str(docs / "shipping.txt"))
    assert Path(removed.source).name == "shipping.txt"
    assert sorted(Path(doc.source).name for doc in kb.documents()) == ["returns.md", "warranty.md"]
    index_ids, chunk_ids = _on_disk(tmp_path / "index")
    assert index_ids == chunk_ids and len(chunk_ids) == sum(doc.chunk_count for doc in kb.documents())
    assert sorted(path.name for path in (tmp_path / "index").glob("index-*")) == [
        "index-3.faiss"
    ]  # the unchanged re-ingest committed nothing
    kb.close()


def test_bad_files_fail_with_reasons_and_the_rest_goes_in(tmp_path, embedder):
    docs = tmp_path / "docs"
    good = _write(docs, TOPICS)
    (docs / "broken.pdf").write_bytes(b"%PDF-1.4 this is not really a pdf")
    (docs / "empty.md").write_text("   \n", encoding="utf-8")
    unsupported = _write(tmp_path / "other", {"notes.xyz": "text"})[0]
    kb = _open(tmp_path / "index", embedder)

    report = kb.ingest([docs, unsupported, tmp_path / "missing.md"])

    assert sorted(Path(source).name for source in report.added) == sorted(path.name for path in good)
    failed = {Path(error.path).name: error.reason for error in report.failed}
    assert set(failed) == {"broken.pdf", "empty.md", "notes.xyz", "missing.md"}
    assert "unsupported file type" in failed["notes.xyz"]
    assert all(reason for reason in failed.values())
    assert json.loads(json.dumps(report.as_dict()))["failed"][0].keys() == {"path", "reason"}


def test_another_embedding_model_is_refused_with_a_clear_message(tmp_path, embedder):
    _write(tmp_path / "docs", TOPICS)
    with _open(tmp_path / "index", embedder) as kb:
        kb.ingest([tmp_path / "docs"])
    other = HashingEmbedder(embedder.tokenizer, dimension=128)
    with pytest.raises(
        IncompatibleIndexError, match=r"built with embedding model 'hashing-bag-of-words-256'.*another --home"
    ):
        _open(tmp_path / "index", other)
    manifest = json.loads((tmp_path / "index" / "manifest.json").read_text())
    assert manifest["embedding_model"] == "hashing-bag-of-words-256" and manifest["dimension"] == 256
    assert (manifest["chunk_tokens"], manifest["overlap_tokens"], manifest["schema_version"]) == (40, 8, 2)


def test_changed_chunking_settings_rechunk_unchanged_files(tmp_path, embedder):
    _write(tmp_path / "docs", TOPICS)
    with _open(tmp_path / "index", embedder) as kb:
        kb.ingest([tmp_path / "docs"])
    with KnowledgeBase(
        tmp_path / "index", embedder, chunk_tokens=20, overlap_tokens=4, parse_workers=1
    ) as kb:
        report = kb.ingest([tmp_path / "docs"])
        assert len(report.updated) == 3 and report.unchanged == []
        assert all(doc.chunking.startswith("chunk_tokens=20,") for doc in kb.documents())


def test_unknown_document_and_missing_or_corrupt_index_file(tmp_path, embedder):
    _write(tmp_path / "docs", TOPICS)
    kb = _open(tmp_path / "index", embedder)
    kb.ingest([tmp_path / "docs"])
    with pytest.raises(UnknownDocumentError, match="no document with id or path 'nope'"):
        kb.remove("nope")
    kb.close()

    current = tmp_path / "index" / "index-1.faiss"
    current.write_bytes(b"garbage")
    with (
        _open(tmp_path / "index", embedder) as reopened,
        pytest.raises(KnowledgeBaseError, match="unreadable"),
    ):
        reopened.search("warranty", 1)
    current.unlink()
    with _open(tmp_path / "index", embedder) as reopened, pytest.raises(KnowledgeBaseError, match="missing"):
        reopened.search("warranty", 1)


def test_retriever_returns_documents_with_citation_metadata(tmp_path, embedder):
    _write(tmp_path / "docs", TOPICS)
    with _open(tmp_path / "index", embedder) as kb:
        kb.ingest([tmp_path / "docs"])
        documents = KnowledgeBaseRetriever(knowledge_base=kb, k=2).invoke("returned within 30 days receipt")
    assert len(documents) == 2
    top = documents[0]
    assert "30 days" in top.page_content
    assert Path(top.metadata["source"]).name == "returns.md"
    assert top.metadata["title"] == "Returns" and top.metadata["score"] > documents[1].metadata["score"]
    assert {"doc_id", "page", "headings", "start", "end", "chunk_id"} <= top.metadata.keys()


def test_long_lived_reader_sees_new_commits(tmp_path, embedder):
    reader, writer = _open(tmp_path / "index", embedder), _open(tmp_path / "index", embedder)
    _write(tmp_path / "a", {"returns.md": TOPICS["returns.md"]})
    writer.ingest([tmp_path / "a"])
    assert Path(reader.search("warranty two years", 1)[0].source).name == "returns.md"
    _write(tmp_path / "b", {"warranty.md": TOPICS["warranty.md"]})
    writer.ingest([tmp_path / "b"])
    assert Path(reader.search("warranty two years", 1)[0].source).name == "warranty.md"
    writer.remove(str(tmp_path / "b" / "warranty.md"))
    assert [Path(hit.source).name for hit in reader.search("warranty two years", 5)] == ["returns.md"]


# --- the registry and the index never disagree, whatever the order of operations -----------------

_OPERATIONS = st.lists(
    st.tuples(st.sampled_from(["put", "put", "remove"]), st.integers(0, 4), st.integers(0, 3)), max_size=12
)


def _staged(embedder: HashingEmbedder, name: str, version: int) -> StagedDocument:
    texts = [
        f"{name} version {version} part {n} " + "word " * (n + version) for n in range(1 + (version * 3) % 4)
    ]
    chunks = [Chunk(text, name, ("H",), None, 0, len(text)) for text in texts]
    return StagedDocument(
        f"/corpus/{name}.md", name, f"hash-{name}-{version}", 10, chunks, embedder.encode(texts)
    )


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(operations=_OPERATIONS)
def test_index_ids_equal_registry_chunk_ids_after_any_operations(embedder, operations):
    expected: dict[str, int] = {}  # source -> chunk count
    with tempfile.TemporaryDirectory() as folder, _open(Path(folder), embedder) as kb:
        for action, doc, version in operations:
            name = f"doc{doc}"
            if action == "put":
                document = _staged(embedder, name, version)
                kb.commit([document])
                expected[document.source] = len(document.chunks)
            elif f"/corpus/{name}.md" in expected:
                kb.remove(f"/corpus/{name}.md")
                del expected[f"/corpus/{name}.md"]
            else:
                with pytest.raises(UnknownDocumentError):
                    kb.remove(f"/corpus/{name}.md")
            index_ids, chunk_ids = _on_disk(Path(folder))
            assert index_ids == chunk_ids
            assert len(set(chunk_ids)) == len(chunk_ids) == sum(expected.values())
            assert {doc.source: doc.chunk_count for doc in kb.documents()} == expected


@pytest.mark.slow  # hypothesis: whole ingests per example
@settings(max_examples=5, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(versions=st.lists(st.tuples(st.integers(0, 2), st.integers(0, 2)), min_size=1, max_size=3))
def test_index_ids_equal_registry_chunk_ids_through_file_ingests(embedder, versions):
    with tempfile.TemporaryDirectory() as folder, _open(Path(folder) / "index", embedder) as kb:
        for doc, version in versions:
            text = f"# Doc {doc}\n\n" + "\n\n".join(
                f"Version {version} paragraph {n}. " * 6 for n in range(version + 1)
            )
            _write(Path(folder) / "docs", {f"doc{doc}.md": text})
            report = kb.ingest([Path(folder) / "docs" / f"doc{doc}.md"])
            assert report.failed == []
            index_ids, chunk_ids = _on_disk(Path(folder) / "index")
            assert index_ids == chunk_ids == sorted(set(chunk_ids))


# --- concurrency: readers keep working during a write; writers are serialised ---------------------


class _GatedEmbedder:
    """The hashing embedder, except that encoding chunks of a document mentioning 'gate' waits for a signal,
    which holds an ingest open (lock taken, nothing committed yet) for as long as the test needs."""

    def __init__(self, inner: HashingEmbedder) -> None:
        self.inner, self.entered, self.release = inner, threading.Event(), threading.Event()
        self.name, self.dimension, self.max_tokens, self.tokenizer = (
            inner.name,
            inner.dimension,
            inner.max_tokens,
            inner.tokenizer,
        )

    def encode(self, texts):
        if any("gate" in text for text in texts):
            self.entered.set()
            assert self.release.wait(30)
        return self.inner.encode(texts)


def test_search_during_ingest_sees_last_commit_and_second_writer_times_out(tmp_path, embedder):
    gated = _GatedEmbedder(embedder)
    _write(tmp_path / "first", TOPICS)
    _write(tmp_path / "second", {"gate.md": "# Gate\n\nThe gate opens at nine every morning.\n"})
    writer = _open(tmp_path / "index", gated)
    writer.ingest([tmp_path / "first"])
    reader = _open(tmp_path / "index", embedder, lock_timeout_s=0.2)

    outcome: dict[str, object] = {}
    thread = threading.Thread(target=lambda: outcome.update(report=writer.ingest([tmp_path / "second"])))
    thread.start()
    try:
        assert gated.entered.wait(30)
        hits = reader.search("gate opens nine morning", 5)
        assert {Path(hit.source).name for hit in hits} <= set(TOPICS)
        with pytest.raises(KnowledgeBaseBusyError, match=r"another ingest is running on .*index; wait"):
            reader.ingest([tmp_path / "second"])
        with pytest.raises(KnowledgeBaseBusyError):
            reader.remove(str(tmp_path / "first" / "returns.md"))
    finally:
        gated.release.set()
        thread.join(30)
    assert [Path(source).name for source in outcome["report"].added] == ["gate.md"]
    assert Path(reader.search("gate opens nine morning", 1)[0].source).name == "gate.md"
    assert len(reader.documents()) == 4


@pytest.mark.slow
def test_searches_from_another_process_keep_working_during_ingests(tmp_path, embedder):
    """A real second process searches in a loop while this one commits six times."""
    _write(tmp_path / "docs", TOPICS)
    with _open(tmp_path / "index", embedder) as kb:
        kb.ingest([tmp_path / "docs"])
    script = textwrap.dedent(
        f"""
        import sys, time
        from pathlib import Path
        from ingest.embeddings import HashingEmbedder, load_packaged_tokenizer
        from ingest.knowledge_base import KnowledgeBase
        kb = KnowledgeBase(Path({str(tmp_path / "index")!r}), HashingEmbedder(load_packaged_tokenizer()))
        print("ready", flush=True)
        searches = 0
        deadline = time.time() + 60
        while not Path({str(tmp_path / "stop")!r}).exists() and time.time() < deadline:
            hits = kb.search("warranty hardware two years", 3)
            assert hits and len(hits) == len({{hit.chunk_id for hit in hits}}), hits
            searches += 1
            time.sleep(0.01)  # leave the writer some CPU on small machines
        print("searches", searches, flush=True)
        """
    )
    child = subprocess.Popen([sys.executable, "-c", script], cwd=REPO, stdout=subprocess.PIPE, text=True)
    try:
        assert child.stdout.readline().strip() == "ready"
        with _open(tmp_path / "index", embedder) as kb:
            for round_ in range(4):
                _write(
                    tmp_path / "more", {f"extra{round_}.md": f"# Extra {round_}\n\nwarranty note {round_}\n"}
                )
                kb.ingest([tmp_path / "more"])
                if round_ % 2:
                    kb.remove(str(tmp_path / "more" / f"extra{round_ - 1}.md"))
        (tmp_path / "stop").touch()
        output, _ = child.communicate(timeout=60)
    finally:
        child.kill()
    assert child.returncode == 0
    assert int(output.split()[-1]) > 0


# --- crash safety: SIGKILL at each step of a write leaves a consistent, loadable state ------------

_CRASH_CHILD = """
import os, signal, sys
from pathlib import Path
from ingest.embeddings import HashingEmbedder, load_packaged_tokenizer
from ingest.knowledge_base import KnowledgeBase
from ingest.registry import Registry

home, point = Path(sys.argv[1]), sys.argv[2]
embedder = HashingEmbedder(load_packaged_tokenizer())
kb = KnowledgeBase(home / "index", embedder, chunk_tokens=40, overlap_tokens=8, parse_workers=1)
report = kb.ingest([home / "first"])
assert not report.failed, report.failed
print("committed", flush=True)
(home / "first" / "warranty.md").write_text("# Warranty\\n\\nThe guarantee now lasts five years.\\n")

def die(*args, **kwargs):
    os.kill(os.getpid(), signal.SIGKILL)

if point == "while-embedding":
    embedder.encode = die
elif point == "after-index-temp-written":
    os.replace = die  # the next rename is the one that would publish the new index file
elif point == "before-registry-commit":
    Registry.commit = die
elif point == "before-old-files-deleted":
    original = Registry.commit
    def commit_then_die(self, *args, **kwargs):
        original(self, *args, **kwargs)
        die()
    Registry.commit = commit_then_die
kb.ingest([home / "second", home / "first"])
print("finished", flush=True)
"""


@pytest.mark.slow
@pytest.mark.parametrize(
    "point",
    ["while-embedding", "after-index-temp-written", "before-registry-commit", "before-old-files-deleted"],
)
def test_sigkill_during_ingest_keeps_the_last_committed_state(tmp_path, embedder, point):
    _write(tmp_path / "first", TOPICS)
    _write(
        tmp_path / "second", {"new.md": "# New\n\nA brand new page.\n", "link.md": "# Link\n\nSee returns.\n"}
    )
    child = subprocess.run(
        [sys.executable, "-c", _CRASH_CHILD, str(tmp_path), point],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert child.returncode == -9, child.stderr[-2000:]
    assert child.stdout.split() == ["committed"]

    index_ids, chunk_ids = _on_disk(tmp_path / "index")
    assert index_ids == chunk_ids and chunk_ids
    survived = point == "before-old-files-deleted"  # the registry transaction went through
    with _open(tmp_path / "index", embedder) as kb:
        names = sorted(Path(doc.source).name for doc in kb.documents())
        assert names == sorted([*TOPICS, "link.md", "new.md"] if survived else TOPICS)
        warranty = kb.search("warranty guarantee years", 1)[0]
        assert Path(warranty.source).name == "warranty.md"
        assert ("five years" if survived else "two years") in warranty.text
        # The next writer cleans up what the killed one left and carries on.
        report = kb.ingest([tmp_path / "second", tmp_path / "first"])
        assert report.failed == []
        assert len(report.unchanged) == (5 if survived else 2)
    index_ids, chunk_ids = _on_disk(tmp_path / "index")
    assert index_ids == chunk_ids
    assert len(list((tmp_path / "index").glob("index-*"))) == 1


def test_vectors_round_trip_through_storage(tmp_path, embedder):
    """What `commit` stores is what search scores against: a stored text scores 1.0 against itself."""
    with _open(tmp_path, embedder) as kb:
        document = _staged(embedder, "solo", 2)
        kb.commit([document])
        hit = kb.search(document.chunks[1].text, 1)[0]
    assert hit.text == document.chunks[1].text
    assert hit.score == pytest.approx(
        float(np.dot(document.vectors[1], embedder.encode([hit.text])[0])), abs=1e-5
    )
