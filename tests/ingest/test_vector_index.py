"""FlatIndex and IndexFiles on real FAISS: exact search, id handling, atomic generation files."""

from __future__ import annotations

import numpy as np
import pytest

from ingest.vector_index import FlatIndex, IndexFileError, IndexFiles


def _unit(rows: int, dimension: int, seed: int = 0) -> np.ndarray:
    vectors = np.random.default_rng(seed).normal(size=(rows, dimension)).astype(np.float32)
    return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


def test_search_returns_exact_neighbours_by_inner_product_with_caller_ids():
    vectors = _unit(200, 16)
    ids = np.arange(200, dtype=np.int64) * 1_000_003 + (2**62)  # large ids, still int64 >= 0
    index = FlatIndex(16)
    index.add(ids, vectors)

    scores, found = index.search(vectors[[7, 42]], 3)

    assert found[:, 0].tolist() == [ids[7], ids[42]]
    assert scores[:, 0] == pytest.approx([1.0, 1.0], abs=1e-5)
    brute = vectors @ vectors[7]
    assert found[0].tolist() == ids[np.argsort(-brute)[:3]].tolist()


def test_remove_drops_only_the_given_ids_and_counts_them():
    index = FlatIndex(8)
    index.add(np.arange(10), _unit(10, 8))

    assert index.remove(np.array([2, 5, 99])) == 2
    assert sorted(index.ids().tolist()) == [0, 1, 3, 4, 6, 7, 8, 9]
    assert len(index) == 8
    assert index.remove(np.array([], dtype=np.int64)) == 0


def test_k_larger_than_index_and_empty_index():
    index = FlatIndex(8)
    scores, ids = index.search(_unit(1, 8), 5)
    assert ids.shape == (1, 0)
    index.add(np.array([3, 4]), _unit(2, 8))
    scores, ids = index.search(_unit(1, 8, seed=1), 5)
    assert sorted(ids[0].tolist()) == [3, 4]


def test_add_refuses_wrong_shape():
    with pytest.raises(ValueError, match="dimension 8"):
        FlatIndex(8).add(np.array([1]), _unit(1, 4))


def test_generation_files_round_trip_and_cleanup(tmp_path):
    files = IndexFiles(tmp_path, 8)
    index = files.load(0)
    assert len(index) == 0
    vectors = _unit(5, 8)
    index.add(np.arange(5), vectors)
    files.save(index, 1)
    files.save(index, 2)
    (tmp_path / "index-3.faiss.tmp-123").write_bytes(b"half written")

    reloaded = files.load(2)
    assert sorted(reloaded.ids().tolist()) == [0, 1, 2, 3, 4]
    assert reloaded.search(vectors[[4]], 1)[1][0, 0] == 4

    files.remove_all_but(2)
    assert sorted(path.name for path in tmp_path.iterdir()) == ["index-2.faiss"]


def test_missing_and_corrupt_files_are_reported(tmp_path):
    files = IndexFiles(tmp_path, 8)
    with pytest.raises(FileNotFoundError):
        files.load(4)
    files.path(4).write_bytes(b"not a faiss index")
    with pytest.raises(IndexFileError, match=r"index-4\.faiss: unreadable FAISS index"):
        files.load(4)


def test_file_of_another_dimension_is_refused(tmp_path):
    index = FlatIndex(4)
    index.add(np.array([1]), _unit(1, 4))
    IndexFiles(tmp_path, 4).save(index, 1)
    with pytest.raises(IndexFileError, match="4-dimensional vectors, expected 8"):
        IndexFiles(tmp_path, 8).load(1)
