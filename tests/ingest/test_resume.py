"""Ingest commits in bounded groups: a `kill -9` mid-batch keeps every finished group, and a re-run resumes.

The child is a real `tunedesk ingest` process with the hashing embedder swapped in through the
knowledge base builder's seam, killed from outside once some groups are committed.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from ingest.embeddings import HashingEmbedder, load_packaged_tokenizer
from ingest.knowledge_base import KnowledgeBase
from ingest.registry import Registry
from ingest.vector_index import IndexFiles

REPO = Path(__file__).resolve().parents[2]
FILES = 60
COMMIT_EVERY = 5

# Each file is slow to embed (0.1 s), so the kill lands mid-batch.
_CHILD = """
import sys, time
from pathlib import Path
from ingest.embeddings import HashingEmbedder, load_packaged_tokenizer
from ingest.knowledge_base import KnowledgeBase

class SlowEmbedder(HashingEmbedder):
    def encode(self, texts):
        time.sleep(0.1 * len(texts))
        return super().encode(texts)

docs, index, every = Path(sys.argv[1]), Path(sys.argv[2]), int(sys.argv[3])
kb = KnowledgeBase(index, SlowEmbedder(load_packaged_tokenizer()), parse_workers=1, commit_every=every, embed_group=1)
report = kb.ingest([docs])
print("finished", len(report.added), flush=True)
"""


def _consistent_state(index: Path) -> tuple[int, int, list[int], list[int]]:
    """(generation, documents, index ids, registry chunk ids) as a fresh reader sees them."""
    registry = Registry(index / "registry.sqlite3")
    try:
        generation = registry.generation()
        ids = IndexFiles(index, 256).load(generation).ids().tolist() if generation else []
        return generation, len(registry.documents()), sorted(ids), sorted(registry.chunk_ids())
    finally:
        registry.close()


@pytest.mark.slow
def test_kill_9_mid_ingest_keeps_committed_groups_and_a_rerun_finishes(tmp_path):
    docs = tmp_path / "docs"
    docs.mkdir()
    for number in range(FILES):
        (docs / f"page-{number:03d}.txt").write_text(f"Page {number} explains step {number} of the setup.\n")
    index = tmp_path / "index"
    child = subprocess.Popen(
        [sys.executable, "-c", _CHILD, str(docs), str(index), str(COMMIT_EVERY)], cwd=REPO
    )
    try:
        deadline = time.monotonic() + 120
        # Kill once at least two groups are in: the registry says how far the writer got.
        while time.monotonic() < deadline:
            time.sleep(0.2)
            if (index / "registry.sqlite3").exists() and _consistent_state(index)[1] >= 2 * COMMIT_EVERY:
                break
        child.send_signal(signal.SIGKILL)
        child.wait(30)
    finally:
        child.kill()
    assert child.returncode == -9

    generation, documents, index_ids, chunk_ids = _consistent_state(index)
    assert 2 * COMMIT_EVERY <= documents < FILES
    assert documents % COMMIT_EVERY == 0  # whole groups only
    assert generation == documents // COMMIT_EVERY
    assert index_ids == chunk_ids and len(chunk_ids) == documents

    embedder = HashingEmbedder(load_packaged_tokenizer())
    with KnowledgeBase(index, embedder, parse_workers=1, commit_every=COMMIT_EVERY) as kb:
        report = kb.ingest([docs])
        assert len(report.unchanged) == documents
        assert len(report.added) == FILES - documents and report.failed == []
    generation, documents, index_ids, chunk_ids = _consistent_state(index)
    assert documents == FILES
    assert index_ids == chunk_ids and len(chunk_ids) == FILES
    assert [path.name for path in index.glob("index-*")] == [f"index-{generation}.faiss"]
