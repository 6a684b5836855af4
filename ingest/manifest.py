"""The index manifest: which embedding model, dimension and chunking an index folder was built with.

Knows nothing about FAISS or SQLite.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, replace
from pathlib import Path

from ingest.atomic import write_text_atomically

# 2: the registry holds an FTS5 keyword table. Version 1 folders are upgraded when opened (the table
# is filled from the stored chunks); nothing older exists.
SCHEMA_VERSION = 2
UPGRADABLE_VERSIONS = (1,)
MANIFEST_NAME = "manifest.json"


class KnowledgeBaseError(RuntimeError):
    """Any problem with an index folder; the message says what is wrong and what to do."""


class IncompatibleIndexError(KnowledgeBaseError):
    """The index folder was built with another embedding model, dimension or schema."""


@dataclass(frozen=True)
class Manifest:
    embedding_model: str
    dimension: int
    chunk_tokens: int
    overlap_tokens: int
    max_tokens: int
    index_type: str
    schema_version: int = SCHEMA_VERSION


def save_manifest(directory: Path, manifest: Manifest) -> None:
    text = json.dumps(asdict(manifest), indent=2, sort_keys=True) + "\n"
    write_text_atomically(directory / MANIFEST_NAME, text)


def load_manifest(directory: Path) -> Manifest | None:
    """The manifest of `directory`, or None when no index was ever written there."""
    path = directory / MANIFEST_NAME
    if not path.exists():
        return None
    try:
        return Manifest(**json.loads(path.read_text(encoding="utf-8")))
    except (ValueError, TypeError) as error:
        raise IncompatibleIndexError(
            f"{path}: unreadable index manifest ({error}); build the index again in an empty --home"
        ) from None


def upgrade_manifest(directory: Path, manifest: Manifest) -> None:
    """Record the current schema version once an older folder has been brought up to it."""
    if manifest.schema_version in UPGRADABLE_VERSIONS:
        save_manifest(directory, replace(manifest, schema_version=SCHEMA_VERSION))


def check_compatible(manifest: Manifest, *, embedding_model: str, dimension: int, location: Path) -> None:
    """Refuse an index built with another model: its vectors mean nothing to this one."""
    if manifest.schema_version not in (SCHEMA_VERSION, *UPGRADABLE_VERSIONS):
        raise IncompatibleIndexError(
            f"the index in {location} has schema version {manifest.schema_version}, this Tunedesk reads "
            f"version {SCHEMA_VERSION}; build the index again in another --home"
        )
    if manifest.embedding_model != embedding_model or manifest.dimension != dimension:
        raise IncompatibleIndexError(
            f"the index in {location} was built with embedding model {manifest.embedding_model!r} "
            f"({manifest.dimension} dimensions), not {embedding_model!r} ({dimension} dimensions); "
            f"set embedding.model = {manifest.embedding_model!r} to use it, or ingest into another --home "
            "to build an index with the new model"
        )
