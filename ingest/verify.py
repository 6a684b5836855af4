"""Checks an index folder's FAISS index against its SQLite registry, and repairs what is safe to repair.

Checks: the registry file (`PRAGMA integrity_check`), the manifest, the committed generation's index
file (present, loadable, right dimension), ids both ways (vectors without a chunk, chunks without a
vector, duplicated ids), chunks without a document, recorded chunk counts, and index files of other
generations. A repair writes a new generation as an ingest does (index file first, then one registry
transaction), so a crash during it leaves the state it started from. Knows nothing about the CLI.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ingest.chunk_context import CONTEXT_SHARE, embedding_text
from ingest.embeddings import Embedder
from ingest.manifest import MANIFEST_NAME, KnowledgeBaseError, load_manifest
from ingest.registry import Registry
from ingest.vector_index import FlatIndex, IndexFiles

_EMBED_GROUP = 512  # chunks re-embedded per encode call
_REBUILD_BY_HAND = "not repairable in place: ingest your documents again into an empty --home"


@dataclass(frozen=True)
class Finding:
    problem: str  # one line: what is wrong, naming the file
    action: str  # what a repair does about it, or what to do by hand
    repairable: bool


@dataclass(frozen=True)
class Inspection:
    findings: list[Finding]
    generation: int
    index: FlatIndex | None  # the committed index; None when its file is missing or unreadable
    drop_ids: list[int]  # vectors to delete: no chunk, a chunk without a document, or duplicated
    embed_ids: list[int]  # chunks to (re-)embed: no vector, or a duplicated one
    orphan_chunks: list[int]
    chunk_counts: dict[str, int]  # doc_id -> chunks actually stored, where the record says otherwise

    @property
    def needs_new_generation(self) -> bool:
        return bool(
            self.index is None or self.drop_ids or self.embed_ids or self.orphan_chunks or self.chunk_counts
        )


def inspect(directory: Path, registry: Registry, files: IndexFiles) -> Inspection:
    """Everything wrong with the folder, without changing anything."""
    findings = [
        Finding(f"{registry.path}: SQLite integrity check: {problem}", _REBUILD_BY_HAND, False)
        for problem in registry.integrity_problems()[:5]
    ]
    if findings:  # nothing read from a damaged registry can be trusted
        return Inspection(findings, 0, None, [], [], [], {})
    generation = registry.generation()
    chunk_ids = set(registry.chunk_ids())
    try:
        manifest_missing = load_manifest(directory) is None and bool(chunk_ids)
        if manifest_missing:
            findings.append(
                Finding(
                    f"{directory / MANIFEST_NAME}: missing, yet the registry holds chunks",
                    _REBUILD_BY_HAND,
                    False,
                )
            )
    except KnowledgeBaseError as error:
        manifest_missing = True
        findings.append(Finding(str(error), _REBUILD_BY_HAND, False))
    if manifest_missing:  # without it the vectors' model and dimension are unknown: nothing more to compare
        return Inspection(findings, generation, None, [], [], [], {})
    committed = files.path(generation)
    stray = sorted(path for path in directory.glob("index-*") if path != committed)
    if stray:
        names = ", ".join(path.name for path in stray)
        findings.append(
            Finding(f"{directory}: files of no committed generation: {names}", "delete them", True)
        )

    orphans = registry.orphan_chunk_ids()
    if orphans:
        findings.append(
            Finding(
                f"{registry.path}: {len(orphans)} chunks belong to no document",
                "delete them and their vectors",
                True,
            )
        )
    valid = chunk_ids - set(orphans)
    index: FlatIndex | None
    try:
        index = files.load(generation)
    except FileNotFoundError:
        index = None
        findings.append(
            Finding(
                f"{committed}: the index file of committed generation {generation} is missing",
                f"re-embed all {len(valid)} chunks from the registry into a new index file",
                True,
            )
        )
    except KnowledgeBaseError as error:
        index = None
        findings.append(
            Finding(
                str(error), f"re-embed all {len(valid)} chunks from the registry into a new index file", True
            )
        )
    drop, embed = set(orphans), set(valid)
    if index is not None:
        ids = index.ids().tolist()
        present = set(ids)
        duplicated = {i for i in present if ids.count(i) > 1} if len(ids) != len(present) else set()
        extra, missing = present - chunk_ids, valid - present
        drop, embed = (set(orphans) & present) | extra | duplicated, missing | (duplicated & valid)
        if extra:
            findings.append(
                Finding(
                    f"{committed}: {len(extra)} vectors have no chunk in the registry",
                    "delete those vectors",
                    True,
                )
            )
        if missing:
            findings.append(
                Finding(
                    f"{committed}: {len(missing)} chunks of the registry have no vector",
                    "re-embed those chunks",
                    True,
                )
            )
        if duplicated:
            findings.append(
                Finding(
                    f"{committed}: {len(duplicated)} ids appear more than once",
                    "keep one vector per id",
                    True,
                )
            )
    counts = registry.wrong_chunk_counts()
    for doc_id, (recorded, stored) in counts.items():
        findings.append(
            Finding(
                f"{registry.path}: document {doc_id} records {recorded} chunks but {stored} are stored",
                f"record {stored}",
                True,
            )
        )
    return Inspection(
        findings,
        generation,
        index,
        sorted(drop),
        sorted(embed),
        orphans,
        {doc_id: stored for doc_id, (_, stored) in counts.items()},
    )


def repair(
    inspection: Inspection, registry: Registry, files: IndexFiles, embedder: Embedder | None
) -> list[str]:
    """Do the safe repairs of `inspection` (taken under the write lock); returns what was done, one line each.

    Files of no committed generation are not handled here: taking the write lock deletes them.
    Nothing is repaired while a finding needs a rebuild: a repair would build on a state that is wrong.
    """
    done: list[str] = []
    if any(not finding.repairable for finding in inspection.findings):
        return done
    if inspection.needs_new_generation:
        if inspection.embed_ids and embedder is None:
            raise KnowledgeBaseError("re-embedding chunks needs the embedding model; open with it to repair")
        index = inspection.index or FlatIndex(files.dimension)
        removed = index.remove(np.array(inspection.drop_ids, dtype=np.int64))
        stored = registry.chunks(inspection.embed_ids)
        ids = list(stored)
        for start in range(0, len(ids), _EMBED_GROUP):
            group = ids[start : start + _EMBED_GROUP]
            # A quarter of the window is the largest room ingest keeps for a context line, and no line
            # shorter than its document's room is ever cut: the same text ingest embedded.
            budget = embedder.max_tokens // CONTEXT_SHARE
            vectors = embedder.encode(
                [embedding_text(stored[i].chunk, embedder.tokenizer, budget) for i in group]
            )
            index.add(np.array(group, dtype=np.int64), vectors)
        generation = inspection.generation + 1
        files.save(index, generation)
        registry.repair(
            generation, drop_chunk_ids=inspection.orphan_chunks, chunk_counts=inspection.chunk_counts
        )
        files.remove_all_but(generation)
        done.append(
            f"wrote generation {generation}: {removed} vectors deleted, {len(ids)} chunks re-embedded, "
            f"{len(inspection.orphan_chunks)} orphan chunks deleted, {len(inspection.chunk_counts)} chunk counts fixed"
        )
    return done
