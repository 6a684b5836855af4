"""Document-aware ranking on a real FAISS index and SQLite registry: the document channel's centroids,
its place in the fusion and the calibration, and the limit of chunks per document in a result list."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from ingest.document_channel import DocumentCentroids
from ingest.embeddings import HashingEmbedder, load_packaged_tokenizer
from ingest.hybrid import FusionWeights, fuse, limit_per_document, save_weights
from ingest.knowledge_base import KnowledgeBase
from ingest.search_calibration import Judged, choose_weights, hits_at
from ingest.vector_index import FlatIndex


@pytest.fixture(scope="module")
def embedder() -> HashingEmbedder:
    return HashingEmbedder(load_packaged_tokenizer(), dimension=256)


def _kb(directory: Path, embedder: HashingEmbedder, **options: object) -> KnowledgeBase:
    return KnowledgeBase(directory, embedder, chunk_tokens=60, overlap_tokens=8, parse_workers=1, **options)


def _corpus(folder: Path, files: dict[str, str]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (folder / name).write_text(text, encoding="utf-8")
    return folder


def test_centroids_rank_a_document_by_all_its_chunks_not_its_best_one():
    index = FlatIndex(3)
    rows = {
        1: [0.6, 0.8, 0.0],  # document a: two chunks, each only partly along the query
        2: [0.6, -0.8, 0.0],
        3: [1.0, 0.0, 0.0],  # document b: one chunk exactly the query, one about something else
        4: [0.0, 0.0, 1.0],
        5: [0.0, 1.0, 0.0],  # a chunk of no known document (a torn write) is left out
    }
    index.add(np.array(list(rows)), np.array(list(rows.values()), dtype=np.float32))
    ids, vectors = index.vectors()
    assert sorted(ids.tolist()) == [1, 2, 3, 4, 5]
    assert np.allclose(vectors[list(ids).index(3)], rows[3])
    centroids = DocumentCentroids(ids, vectors, {1: "a", 2: "a", 3: "b", 4: "b"})
    # a's mean is (0.6, 0, 0): along the query, cosine 1; b's mean is (0.5, 0, 0.5), cosine 0.71.
    assert centroids.ranks(np.array([1.0, 0.0, 0.0], dtype=np.float32)) == {"a": 1, "b": 2}
    assert centroids.ranks(np.array([0.0, 0.0, 1.0], dtype=np.float32)) == {"b": 1, "a": 2}


def test_fuse_adds_the_documents_reciprocal_rank_only_with_a_document_weight():
    dense = [(1, 0.9), (2, 0.8)]
    keyword = [(1, 7.0), (2, 6.0)]
    document_rank = {1: 5, 2: 1}
    alone = fuse(dense, keyword, FusionWeights(dense=0.5, keyword=0.5, rrf_k=1.0), document_rank)
    assert [c.chunk_id for c in alone] == [1, 2] and alone[0].document_rank is None
    weights = FusionWeights(dense=0.5, keyword=0.5, rrf_k=1.0, document=1.0)
    ranked = fuse(dense, keyword, weights, document_rank)
    assert [c.chunk_id for c in ranked] == [2, 1]  # 1/3 + 1/2 = 0.833 against 1/2 + 1/6 = 0.667
    assert ranked[0].fused == pytest.approx(0.5 / 3 + 0.5 / 3 + 1 / 2)
    assert (ranked[0].document_rank, ranked[1].document_rank) == (1, 5)


def test_limit_per_document_keeps_order_and_makes_room_for_other_documents():
    ranked = fuse([(1, 0.9), (2, 0.8), (3, 0.7), (4, 0.6)], [], FusionWeights())
    document_of = {1: "a", 2: "a", 3: "a", 4: "b"}
    assert [c.chunk_id for c in limit_per_document(ranked, document_of, 1)] == [1, 4]
    assert [c.chunk_id for c in limit_per_document(ranked, document_of, 2)] == [1, 2, 4]
    assert [c.chunk_id for c in limit_per_document(ranked, document_of, 0)] == [1, 2, 3, 4]


def test_calibration_takes_the_document_channel_when_it_finds_the_answer():
    # Both chunk channels put chunk 1 first; only its document's rank (10 against 1) tells them apart.
    question = Judged(
        [(1, 0.9), (2, 0.8)],
        {1.0: [(1, 7.0), (2, 6.0)]},
        frozenset({2}),
        {1: "mixed", 2: "policy"},
        {"policy": 1, "mixed": 10},
    )
    chosen = choose_weights([question], calibrated_on="test")
    assert chosen.document > 0
    assert hits_at([question], chosen, (1,))["hit@1"] == 1.0
    chunks_alone = choose_weights([question], calibrated_on="test", document_weights=(0.0,))
    assert chunks_alone.document == 0 and hits_at([question], chunks_alone, (1,))["hit@1"] == 0.0


def test_search_keeps_one_chunk_per_document_so_the_next_document_is_listed(tmp_path, embedder):
    long = "\n\n".join(
        f"# Warranty part {n}\n\nThe router warranty covers hardware faults, part {n}." for n in range(3)
    )
    docs = _corpus(
        tmp_path / "docs",
        {
            "long.md": long + "\n",
            "short.md": "# Care plan\n\nA care plan extends the router warranty.\n",
            "other.md": "# Parental controls\n\nPause a child's devices at bedtime.\n",
        },
    )
    with _kb(tmp_path / "all", embedder, max_chunks_per_document=0) as kb:
        kb.ingest([docs])
        unlimited = [Path(hit.source).name for hit in kb.search("router warranty hardware faults", 3)]
    with _kb(tmp_path / "one", embedder, max_chunks_per_document=1) as kb:
        kb.ingest([docs])
        limited = [Path(hit.source).name for hit in kb.search("router warranty hardware faults", 3)]
    assert unlimited == ["long.md"] * 3
    assert limited[:2] == ["long.md", "short.md"] and len(set(limited)) == len(limited)


def test_document_channel_lifts_the_document_all_about_the_question(tmp_path, embedder):
    docs = _corpus(
        tmp_path / "docs",
        {
            "mixed.md": "# Refund\n\nrefund window opened router\n\n"
            "# Parental\n\nbedtime pause child devices schedule\n\n"
            "# Speed\n\nslow wifi channel interference microwave\n",
            "policy.md": "# Returns\n\nthe refund window for an opened router is thirty days\n\n"
            "# Refund timing\n\na refund arrives days after the opened router comes back\n\n"
            "# Window\n\nthe return window for a router starts at delivery\n",
        },
    )
    query = "refund window opened router"
    with _kb(tmp_path / "index", embedder) as kb:
        kb.ingest([docs])
        save_weights(kb.directory, FusionWeights(dense=1.0, keyword=0.0, rrf_k=1.0))
        alone = kb.search(query, 2)
        save_weights(kb.directory, FusionWeights(dense=1.0, keyword=0.0, rrf_k=1.0, document=5.0))
        with_documents = kb.search(query, 2)
    assert Path(alone[0].source).name == "mixed.md" and alone[0].document_rank is None
    assert Path(with_documents[0].source).name == "policy.md"
    assert with_documents[0].document_rank == 1 and with_documents[1].document_rank == 2
