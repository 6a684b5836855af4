"""Vector search over normalised embeddings: a FAISS exact inner-product index keyed by stable int64 ids.

`FlatIndex` holds the vectors; `IndexFiles` keeps one file per committed generation
(`index-<generation>.faiss`) so readers can keep using the last committed file while a writer
prepares the next one. Nothing here knows about documents, chunks or SQLite.
"""

from __future__ import annotations

import re
from pathlib import Path

import faiss
import numpy as np

from ingest.atomic import write_atomically
from ingest.manifest import KnowledgeBaseError

INDEX_TYPE = "IndexIDMap2(IndexFlatIP)"  # exact search: recall is 1.0 by construction
_FILE_PATTERN = re.compile(r"^index-(\d+)\.faiss$")


class IndexFileError(KnowledgeBaseError):
    """The index file of the committed generation is missing or unreadable."""


class FlatIndex:
    """Cosine similarity as inner product over unit vectors; ids are caller-chosen int64 values >= 0."""

    def __init__(self, dimension: int, index: faiss.Index | None = None) -> None:
        self.dimension = dimension
        self._index = index if index is not None else faiss.IndexIDMap2(faiss.IndexFlatIP(dimension))

    def __len__(self) -> int:
        return self._index.ntotal

    def add(self, ids: np.ndarray, vectors: np.ndarray) -> None:
        vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        ids = np.ascontiguousarray(ids, dtype=np.int64)
        if vectors.shape != (len(ids), self.dimension):
            raise ValueError(
                f"expected {len(ids)} vectors of dimension {self.dimension}, got shape {vectors.shape}"
            )
        self._index.add_with_ids(vectors, ids)

    def remove(self, ids: np.ndarray) -> int:
        """Remove these ids; returns how many were present."""
        ids = np.ascontiguousarray(ids, dtype=np.int64)
        if len(ids) == 0:
            return 0
        return int(self._index.remove_ids(faiss.IDSelectorBatch(ids)))

    def search(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """(scores, ids), each of shape (len(queries), k'); k' = min(k, len(self)), best first."""
        k = min(k, len(self))
        if k == 0:
            empty = np.empty((len(queries), 0))
            return empty.astype(np.float32), empty.astype(np.int64)
        return self._index.search(np.ascontiguousarray(queries, dtype=np.float32), k)

    def ids(self) -> np.ndarray:
        return faiss.vector_to_array(self._index.id_map).astype(np.int64)

    def vectors(self) -> tuple[np.ndarray, np.ndarray]:
        """(ids, vectors) of everything stored, row i of the vectors for id i; one copy of the index."""
        return self.ids(), self._index.index.reconstruct_n(0, len(self))

    def vector(self, id_: int) -> np.ndarray:
        """The stored vector of one id (raises RuntimeError for an unknown id)."""
        return self._index.reconstruct(int(id_))

    def save(self, path: Path) -> None:
        """Write atomically. Serialised in memory first (a transient copy of the vectors) and written by
        Python, so a full disk or read-only folder surfaces as a plain `OSError`, not FAISS's C++ trace."""
        data = faiss.serialize_index(self._index)
        write_atomically(path, lambda temp: temp.write_bytes(memoryview(data)))

    @classmethod
    def load(cls, path: Path) -> FlatIndex:
        if not path.is_file():
            raise FileNotFoundError(path)
        try:
            index = faiss.read_index(str(path))
        except RuntimeError as error:
            raise IndexFileError(f"{path}: unreadable FAISS index ({_first_line(error)})") from None
        return cls(index.d, index)


class IndexFiles:
    """One index file per committed generation inside `directory`; generation 0 is the empty index."""

    def __init__(self, directory: Path, dimension: int) -> None:
        self.directory = directory
        self.dimension = dimension

    def path(self, generation: int) -> Path:
        return self.directory / f"index-{generation}.faiss"

    def load(self, generation: int) -> FlatIndex:
        """Raises FileNotFoundError when the file is gone (a newer commit may have replaced it)."""
        if generation == 0:
            return FlatIndex(self.dimension)
        index = FlatIndex.load(self.path(generation))
        if index.dimension != self.dimension:
            raise IndexFileError(
                f"{self.path(generation)}: holds {index.dimension}-dimensional vectors, expected {self.dimension}"
            )
        return index

    def save(self, index: FlatIndex, generation: int) -> None:
        index.save(self.path(generation))

    def remove_all_but(self, generation: int) -> None:
        """Delete files of other generations and temp files left by an interrupted writer."""
        for path in self.directory.glob("index-*"):
            match = _FILE_PATTERN.match(path.name)
            if match is None or int(match.group(1)) != generation:
                path.unlink(missing_ok=True)


def _first_line(error: Exception) -> str:
    lines = [line for line in str(error).splitlines() if line.strip()]
    return lines[-1].strip() if lines else type(error).__name__
