"""Uploaded documents: checked on the server (name, type, size), saved under the uploads folder, ingested
one file at a time, with one result line per file. A bad file never stops the rest of the batch and
never loses what is already stored: a failed replacement puts the previous file back.

Knows nothing about Streamlit: the page hands in (name, bytes) pairs and a progress callback.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from ingest.atomic import write_bytes_atomically
from ingest.document import IngestError
from ingest.knowledge_base import IngestReport, KnowledgeBase, KnowledgeBaseError
from ingest.loaders import SUPPORTED_SUFFIXES
from ingest.safety import safe_upload_name


@dataclass(frozen=True)
class Upload:
    name: str  # as the browser sent it; untrusted
    data: bytes


@dataclass(frozen=True)
class FileResult:
    name: str
    status: str  # added | updated | unchanged | failed
    detail: str = ""


def check_upload(upload: Upload, *, max_bytes: int) -> str:
    """The upload's safe relative name; raises `IngestError` naming the file and what to do."""
    name = safe_upload_name(upload.name)
    suffix = Path(name).suffix.lower()
    if suffix not in SUPPORTED_SUFFIXES:
        supported = " ".join(sorted(SUPPORTED_SUFFIXES))
        raise IngestError(name, f"unsupported file type '{suffix or '(none)'}'; supported: {supported}")
    if not upload.data:
        raise IngestError(name, "file is empty; add content and upload it again")
    if len(upload.data) > max_bytes:
        raise IngestError(
            name,
            f"file is {len(upload.data) / 2**20:.3g} MiB, over the {max_bytes / 2**20:.3g} MiB limit "
            "(ingest.max_file_mb); split the file or raise the limit",
        )
    return name


def ingest_uploads(
    knowledge_base: KnowledgeBase,
    uploads: Sequence[Upload],
    folder: Path,
    *,
    max_bytes: int,
    on_file: Callable[[int, str], None] = lambda done, name: None,
) -> list[FileResult]:
    """Check, save and ingest each upload; `on_file(index, name)` is called before each one."""
    results = []
    for index, upload in enumerate(uploads):
        on_file(index, upload.name)
        try:
            name = check_upload(upload, max_bytes=max_bytes)
        except IngestError as error:
            results.append(FileResult(upload.name, "failed", error.reason))
            continue
        results.append(_ingest_one(knowledge_base, folder / name, upload.data, name))
    return results


def reindex(knowledge_base: KnowledgeBase) -> list[FileResult]:
    """Ingest every stored document's source again: changed files are re-chunked, unchanged ones skipped."""
    results = []
    for record in knowledge_base.documents():
        source = Path(record.source)
        if not source.is_file():
            results.append(
                FileResult(source.name, "failed", "source file is gone; delete the document or restore it")
            )
            continue
        results.append(_result(source.name, source, knowledge_base.ingest([source])))
    return results


def remove_document(knowledge_base: KnowledgeBase, doc_id: str, folder: Path) -> str:
    """Delete a document from the index; its file too when it was uploaded here. Returns its title."""
    record = knowledge_base.remove(doc_id)
    source = Path(record.source)
    if source.is_relative_to(folder.resolve()):
        source.unlink(missing_ok=True)
    return record.title or source.name


def _ingest_one(knowledge_base: KnowledgeBase, target: Path, data: bytes, name: str) -> FileResult:
    previous = target.read_bytes() if target.is_file() else None
    try:
        write_bytes_atomically(target, data)
        result = _result(name, target, knowledge_base.ingest([target]))
    except KnowledgeBaseError as error:
        result = FileResult(name, "failed", str(error))
    if result.status == "failed":
        # Keep the folder in step with the index: the previous good file back, or no file at all.
        if previous is None:
            target.unlink(missing_ok=True)
        else:
            write_bytes_atomically(target, previous)
    return result


def _result(name: str, path: Path, report: IngestReport) -> FileResult:
    if report.failed:
        return FileResult(name, "failed", "; ".join(error.reason for error in report.failed))
    source = str(path.resolve())
    if source in report.added:
        return FileResult(name, "added", f"{report.chunks_written} chunks")
    if source in report.updated:
        return FileResult(name, "updated", f"{report.chunks_written} chunks")
    return FileResult(name, "unchanged", "same content as the stored version")
