"""The knowledge base: ingest files into a FAISS index plus SQLite registry, search it, remove documents.

A write goes: take the folder's lock -> write `index-<n+1>.faiss` (temp, fsync, rename) -> one SQLite
transaction that stores the chunks and makes generation n+1 current -> delete older index files.
A crash before the transaction leaves generation n in force; after it, n+1. Readers never lock:
each search reads the committed generation (one cheap query) and reloads the index when it moved.
A missing or corrupt index file of the committed generation is reported, not repaired: the fix is
to build the index again in a fresh folder. Turning files into chunks and vectors is `staging`'s job.
Search asks three channels, the FAISS vectors, the registry's FTS5 keyword table and the documents'
mean vectors (`document_channel`), and fuses their rankings (`hybrid`) with the weights calibrated
for this folder, keeping at most `max_chunks_per_document` chunks of one document.
"""

from __future__ import annotations

import os
import sqlite3
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal

import numpy as np
from filelock import FileLock, Timeout

from ingest.document_channel import DocumentCentroids
from ingest.embeddings import Embedder
from ingest.hybrid import Candidate, drop_near_duplicates, fuse, limit_per_document, load_weights
from ingest.keyword_index import TermCoverage
from ingest.loaders import find_files
from ingest.manifest import (
    KnowledgeBaseError,
    Manifest,
    check_compatible,
    load_manifest,
    save_manifest,
    upgrade_manifest,
)
from ingest.registry import DocumentRecord, Registry, StoredChunk, chunk_id, document_id
from ingest.staging import IngestReport, StagedDocument, select_changed, stage
from ingest.vector_index import INDEX_TYPE, FlatIndex, IndexFiles
from ingest.verify import Inspection, inspect, repair

__all__ = [
    "IngestReport",
    "KnowledgeBase",
    "KnowledgeBaseBusyError",
    "KnowledgeBaseError",
    "SearchHit",
    "StagedDocument",
    "UnknownDocumentError",
]


_WRITABLE_ADVICE = (
    "free disk space there or make the folder writable (or choose another --home), then try again"
)


class KnowledgeBaseBusyError(KnowledgeBaseError):
    """Another process holds the write lock."""


class UnknownDocumentError(KnowledgeBaseError):
    pass


@dataclass(frozen=True)
class SearchHit:
    chunk_id: int
    doc_id: str
    source: str
    title: str
    page: int | None
    score: float  # cosine similarity, -1..1
    text: str
    headings: tuple[str, ...]
    start: int
    end: int
    # What each channel said (rank None: that channel did not return the chunk); `tunedesk search --explain`.
    fused: float = 0.0
    dense_rank: int | None = None
    keyword_rank: int | None = None
    keyword_score: float | None = None
    document_rank: int | None = None


Channel = list[tuple[int, float]]  # (chunk id, score), best first
RetrievalMode = Literal["hybrid", "dense", "keyword"]


@dataclass(frozen=True)
class ChannelRankings:
    """What each channel says about one query, before fusion; what calibration fuses with trial weights."""

    dense: Channel
    keyword: dict[float, Channel]  # per heading weight
    sources: dict[int, str]  # chunk id -> source, for every chunk named
    document_of: dict[int, str]  # chunk id -> doc id, for every chunk named
    document_rank: dict[str, int]  # doc id -> rank in the document channel


class KnowledgeBase:
    """One index folder. `embedder` may be None for listing and removing documents without loading a model."""

    def __init__(
        self,
        directory: Path,
        embedder: Embedder | None,
        *,
        chunk_tokens: int = 200,
        overlap_tokens: int = 32,
        max_file_bytes: int = 50 * 2**20,
        parse_timeout_s: float = 30.0,
        lock_timeout_s: float = 60.0,
        parse_workers: int = 2,
        embed_group: int = 512,  # chunks encoded per call; the model sorts each group by length
        commit_every: int = 200,  # files per commit: what a crash can lose, against one index write each
        read_only: bool = False,  # never write a byte (listing, searching): works on read-only storage
        retrieval: RetrievalMode = "hybrid",
        candidates: int = 50,  # chunks each channel contributes to the fusion
        duplicate_similarity: float = 0.95,  # cosine at which a lower-ranked chunk counts as a repeat
        max_chunks_per_document: int = 1,  # in one result list; 0 = no limit
    ) -> None:
        if not read_only:
            try:
                directory.mkdir(parents=True, exist_ok=True)
            except OSError as error:
                raise KnowledgeBaseError(
                    f"{directory}: cannot create the index folder ({error.strerror}); choose a writable --home"
                ) from None
            if not os.access(directory, os.W_OK):
                raise KnowledgeBaseError(
                    f"{directory}: the index folder is read-only; make it writable or choose another --home "
                    "(reading needs no write access)"
                )
        self.directory = directory
        self._read_only = read_only
        self._embedder = embedder
        self._chunk_tokens = chunk_tokens
        self._overlap_tokens = overlap_tokens
        self._max_file_bytes = max_file_bytes
        self._parse_timeout_s = parse_timeout_s
        self._lock_timeout_s = lock_timeout_s
        self._parse_workers = parse_workers
        self._embed_group = embed_group
        self._commit_every = commit_every
        self._retrieval = retrieval
        self._candidates = candidates
        self._duplicate_similarity = duplicate_similarity
        self.max_chunks_per_document = max_chunks_per_document
        self._lock = FileLock(directory / "write.lock", timeout=lock_timeout_s)
        manifest = load_manifest(directory)
        if manifest is not None and embedder is not None:
            check_compatible(
                manifest, embedding_model=embedder.name, dimension=embedder.dimension, location=directory
            )
        dimension = embedder.dimension if embedder else (manifest.dimension if manifest else 0)
        self._files = IndexFiles(directory, dimension)
        try:
            self._registry = Registry(directory / "registry.sqlite3", read_only=read_only)
        except sqlite3.Error as error:
            raise KnowledgeBaseError(
                f"{directory / 'registry.sqlite3'}: cannot open the registry ({error}); "
                f"{'check the file is readable' if read_only else _WRITABLE_ADVICE}"
            ) from None
        if manifest is not None and not read_only:
            upgrade_manifest(directory, manifest)  # the registry has just added what the new version needs
        self._loaded: tuple[int, FlatIndex] | None = None
        self._centroids: tuple[int, DocumentCentroids] | None = None

    def close(self) -> None:
        self._registry.close()

    def __enter__(self) -> KnowledgeBase:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def generation(self) -> int:
        """The committed generation: 0 for an empty knowledge base, +1 per write."""
        return self._registry.generation()

    def documents(self) -> list[DocumentRecord]:
        return self._registry.documents()

    def search(self, query: str, k: int = 5) -> list[SearchHit]:
        """The `k` best chunks for `query`, fused from both channels, near-duplicates dropped, from the
        last committed generation. `score` is the chunk's cosine similarity to the query whichever
        channel found it, so a relevance threshold means the same in every retrieval mode."""
        vector = self._require_embedder().encode([query])[0]
        for _attempt in range(3):
            with self._registry.snapshot() as snapshot:
                generation = snapshot.generation()
                try:
                    index = self._index_at(generation)
                except FileNotFoundError:
                    continue  # a newer commit replaced that file after we read its number: read again
                weights = load_weights(self.directory)
                dense, keyword = self._channels(index, snapshot, vector, query, weights.heading_weight)
                stored = snapshot.chunks(sorted({cid for cid, _ in (*dense, *keyword)}))
                of = {cid: chunk.doc_id for cid, chunk in stored.items()}
                # The document channel is a ranking signal of hybrid search; one-channel modes stay pure.
                ranks = (
                    self._centroids_at(generation, index, snapshot).ranks(vector)
                    if weights.document and self._retrieval == "hybrid"
                    else {}
                )
                ranked = fuse(
                    dense, keyword, weights, {cid: ranks[doc] for cid, doc in of.items() if doc in ranks}
                )
                ranked = limit_per_document(ranked, of, self.max_chunks_per_document)
                kept = drop_near_duplicates(ranked, index.vector, self._duplicate_similarity, k)
            return [
                _hit(stored[c.chunk_id], float(vector @ index.vector(c.chunk_id)), c)
                for c in kept
                if c.chunk_id in stored
            ]
        raise KnowledgeBaseError(
            f"{self._files.path(generation)}: the index file of the committed state is missing; "
            f"ingest your documents again into an empty --home"
        )

    def coverage(self, query: str, hits: Sequence[SearchHit]) -> TermCoverage:
        """How much of `query`'s content words these hits hold, weighted by rarity, and which of them no
        document holds (see `keyword_index.TermCoverage`); an abstention signal beside the cosine score."""
        with self._registry.snapshot() as snapshot:
            return snapshot.term_coverage(query, [hit.chunk_id for hit in hits])

    def similarity(self, query: str, texts: Sequence[str]) -> list[float]:
        """Cosine similarity of each of `texts` to `query` under the embedding model (one batch)."""
        vectors = self._require_embedder().encode([query, *texts])
        return [float(score) for score in vectors[1:] @ vectors[0]]

    def channel_rankings(
        self, queries: Sequence[str], n: int, heading_weights: Sequence[float] = (1.0,)
    ) -> list[ChannelRankings]:
        """For each query: the dense channel's top `n`, the keyword channel's top `n` for each heading
        weight and the document channel (whatever the retrieval mode), with the source and document
        of every chunk named."""
        vectors = self._require_embedder().encode(list(queries))
        with self._registry.snapshot() as snapshot:
            generation = snapshot.generation()
            index = self._index_at(generation)
            documents = self._centroids_at(generation, index, snapshot)
            rankings = []
            for query, vector in zip(queries, vectors, strict=True):
                scores, ids = index.search(vector[None, :], n)
                dense = [(int(i), float(s)) for s, i in zip(scores[0], ids[0], strict=True) if i >= 0]
                keyword = {weight: snapshot.keyword_search(query, n, weight) for weight in heading_weights}
                named = {cid for cid, _ in dense} | {
                    cid for ranking in keyword.values() for cid, _ in ranking
                }
                stored = snapshot.chunks(sorted(named))
                rankings.append(
                    ChannelRankings(
                        dense,
                        keyword,
                        {cid: chunk.source for cid, chunk in stored.items()},
                        {cid: chunk.doc_id for cid, chunk in stored.items()},
                        documents.ranks(vector),
                    )
                )
        return rankings

    def ingest(
        self, paths: Sequence[Path], *, progress: bool = False, follow_symlinks: bool = False
    ) -> IngestReport:
        """Add new files, replace changed ones, skip unchanged ones; one bad file never stops the rest.

        Documents are committed in groups of `commit_every` files, each group one generation: a
        crash loses at most the group in progress, and the next run skips what was committed.
        """
        started = time.perf_counter()
        report = IngestReport()
        found = find_files([Path(path) for path in paths], follow_symlinks=follow_symlinks)
        report.failed.extend(found.errors)
        report.hidden = found.hidden
        report.unsupported = found.unsupported
        with self._writing():
            embedder = self._require_embedder()
            pending = select_changed(
                found.files,
                self._registry.document_by_source,
                chunking=self._chunking(),
                max_bytes=self._max_file_bytes,
                read_timeout_s=self._parse_timeout_s,
                workers=self._parse_workers,
                report=report,
            )
            known = {item.source for item in pending if item.known}
            group: list[StagedDocument] = []
            for document in stage(
                pending,
                embedder,
                report,
                chunk_tokens=self._chunk_tokens,
                overlap_tokens=self._overlap_tokens,
                max_bytes=self._max_file_bytes,
                parse_timeout_s=self._parse_timeout_s,
                workers=self._parse_workers,
                embed_group=self._embed_group,
                progress=progress,
            ):
                group.append(document)
                if len(group) >= self._commit_every:
                    self._commit_group(group, known, report)
                    group = []
            self._commit_group(group, known, report)
        report.seconds = time.perf_counter() - started
        return report

    def commit(self, staged: Sequence[StagedDocument], removed: Sequence[str] = ()) -> tuple[int, int]:
        """Store these documents (replacing earlier versions) and delete `removed` doc ids, atomically.

        Returns (chunks written, chunks removed).
        """
        with self._writing():
            return self._commit(staged, removed)

    def remove(self, doc_id_or_path: str) -> DocumentRecord:
        """Delete one document, named by id or source path, from the index and the registry."""
        record = (
            self._registry.document(doc_id_or_path)
            or self._registry.document_by_source(str(Path(doc_id_or_path).resolve()))
            or self._registry.document_by_source(doc_id_or_path)
        )
        if record is None:
            raise UnknownDocumentError(f"no document with id or path {doc_id_or_path!r} in {self.directory}")
        self.commit([], [record.doc_id])
        return record

    def verify(self) -> Inspection:
        """What is wrong between the index and the registry (see `ingest.verify`); changes nothing."""
        return inspect(self.directory, self._registry, self._files)

    def repair(self) -> list[str]:
        """Do the safe repairs `verify` proposes, under the write lock; returns what was done."""
        with self._writing():  # taking the lock deletes index files of no committed generation
            done = repair(self.verify(), self._registry, self._files, self._embedder)
        self._loaded = None
        self._centroids = None
        return done

    @contextmanager
    def _writing(self) -> Iterator[None]:
        if self._read_only:
            raise KnowledgeBaseError(f"the knowledge base in {self.directory} was opened read-only")
        try:
            self._lock.acquire()
        except Timeout:  # before OSError: filelock's Timeout is a TimeoutError, an OSError
            raise KnowledgeBaseBusyError(
                f"another ingest is running on {self.directory}; wait for it to finish, or raise "
                f"ingest.lock_timeout_s (now {self._lock_timeout_s:g} s) to wait longer"
            ) from None
        except OSError as error:
            raise KnowledgeBaseError(
                f"{self.directory}: cannot take the write lock ({error.strerror}); {_WRITABLE_ADVICE}"
            ) from None
        try:
            # Files of a writer that was killed: a temp file, or the next generation it never committed.
            self._files.remove_all_but(self._registry.generation())
            yield
        finally:
            self._lock.release()

    def _commit_group(self, group: Sequence[StagedDocument], known: set[str], report: IngestReport) -> None:
        if not group:
            return
        written, removed = self._commit(group)
        report.chunks_written += written
        report.chunks_removed += removed
        for document in group:
            (report.updated if document.source in known else report.added).append(document.source)

    def _require_embedder(self) -> Embedder:
        if self._embedder is None:
            raise KnowledgeBaseError("this knowledge base was opened without an embedding model")
        return self._embedder

    def _index_at(self, generation: int) -> FlatIndex:
        loaded = self._loaded
        if loaded is None or loaded[0] != generation:
            loaded = (generation, self._files.load(generation))
            self._loaded = loaded
        return loaded[1]

    def _centroids_at(self, generation: int, index: FlatIndex, snapshot: Registry) -> DocumentCentroids:
        built = self._centroids
        if built is None or built[0] != generation:
            built = (generation, DocumentCentroids(*index.vectors(), snapshot.chunk_documents()))
            self._centroids = built
        return built[1]

    def _channels(
        self, index: FlatIndex, snapshot: Registry, vector: np.ndarray, query: str, heading_weight: float
    ) -> tuple[Channel, Channel]:
        dense: Channel = []
        if self._retrieval != "keyword":
            scores, ids = index.search(vector[None, :], self._candidates)
            dense = [(int(i), float(s)) for s, i in zip(scores[0], ids[0], strict=True) if i >= 0]
        keyword = (
            snapshot.keyword_search(query, self._candidates, heading_weight)
            if self._retrieval != "dense"
            else []
        )
        return dense, keyword

    def _chunking(self) -> str:
        embedder = self._require_embedder()
        # "context=reserved": title and headings fit inside the limit; older chunks get re-made once.
        return (
            f"chunk_tokens={self._chunk_tokens},overlap_tokens={self._overlap_tokens},"
            f"max_tokens={embedder.max_tokens},context=reserved"
        )

    def _commit(self, staged: Sequence[StagedDocument], removed: Sequence[str] = ()) -> tuple[int, int]:
        sources = [document.source for document in staged]
        if len(set(sources)) != len(sources):
            raise ValueError("one commit cannot hold two versions of the same source")
        if staged:
            self._ensure_manifest()
        generation = self._registry.generation()
        try:
            index = self._files.load(generation)
        except FileNotFoundError:
            raise KnowledgeBaseError(
                f"{self._files.path(generation)}: the index file of the committed state is missing; "
                "ingest your documents again into an empty --home"
            ) from None
        now = datetime.now(UTC).isoformat(timespec="seconds")
        entries, written, dropped = [], 0, 0
        for document in staged:
            doc_id = document_id(document.source)
            previous = self._registry.document(doc_id)
            dropped += index.remove(np.array(self._registry.chunk_ids(doc_id), dtype=np.int64))
            ids = [chunk_id(doc_id, ordinal, chunk.text) for ordinal, chunk in enumerate(document.chunks)]
            index.add(np.array(ids, dtype=np.int64), document.vectors)
            written += len(ids)
            record = DocumentRecord(
                doc_id=doc_id,
                source=document.source,
                title=document.title,
                content_hash=document.content_hash,
                size_bytes=document.size_bytes,
                chunking=self._chunking(),
                added_at=previous.added_at if previous else now,
                updated_at=now,
                chunk_count=len(ids),
            )
            entries.append((record, list(zip(ids, document.chunks, strict=True))))
        for doc_id in removed:
            dropped += index.remove(np.array(self._registry.chunk_ids(doc_id), dtype=np.int64))
        try:
            self._files.save(index, generation + 1)
        except OSError as error:
            raise KnowledgeBaseError(
                f"{self._files.path(generation + 1)}: cannot write the index ({error.strerror}); {_WRITABLE_ADVICE}; "
                "nothing was stored"
            ) from None
        try:
            self._registry.commit(generation + 1, entries, removed)
        except sqlite3.Error as error:
            self._files.remove_all_but(generation)
            raise KnowledgeBaseError(
                f"{self._registry.path}: cannot store the batch ({error}); {_WRITABLE_ADVICE}; nothing was stored"
            ) from None
        self._loaded = (generation + 1, index)
        self._files.remove_all_but(generation + 1)
        return written, dropped

    def _ensure_manifest(self) -> None:
        embedder = self._require_embedder()
        manifest = load_manifest(self.directory)
        if manifest is not None:
            check_compatible(
                manifest, embedding_model=embedder.name, dimension=embedder.dimension, location=self.directory
            )
            return
        manifest = Manifest(
            embedding_model=embedder.name,
            dimension=embedder.dimension,
            chunk_tokens=self._chunk_tokens,
            overlap_tokens=self._overlap_tokens,
            max_tokens=embedder.max_tokens,
            index_type=INDEX_TYPE,
        )
        try:
            save_manifest(self.directory, manifest)
        except OSError as error:
            raise KnowledgeBaseError(
                f"{self.directory}: cannot write the index manifest ({error.strerror}); {_WRITABLE_ADVICE}"
            ) from None


def _hit(stored: StoredChunk, score: float, candidate: Candidate) -> SearchHit:
    chunk = stored.chunk
    return SearchHit(
        chunk_id=stored.chunk_id,
        doc_id=stored.doc_id,
        source=stored.source,
        title=chunk.title,
        page=chunk.page,
        score=score,
        text=chunk.text,
        headings=chunk.headings,
        start=chunk.start,
        end=chunk.end,
        fused=candidate.fused,
        dense_rank=candidate.dense_rank,
        keyword_rank=candidate.keyword_rank,
        keyword_score=candidate.keyword_score,
        document_rank=candidate.document_rank,
    )
