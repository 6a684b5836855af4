"""Parses one file into a `ParsedDocument` in this process: safety checks, then the loader for its suffix.

This module has no time limit; `ingest.loaders` runs it in worker processes that can be stopped.
"""

from __future__ import annotations

from pathlib import Path

from ingest.document import IngestError, ParsedDocument
from ingest.load_docx import load_docx
from ingest.load_faq import load_faq
from ingest.load_html import load_html
from ingest.load_markdown import load_markdown
from ingest.load_pdf import load_pdf
from ingest.load_text import load_text
from ingest.safety import check_size

SUPPORTED_SUFFIXES: frozenset[str] = frozenset(
    {".txt", ".md", ".markdown", ".html", ".htm", ".pdf", ".docx", ".json", ".jsonl", ".csv"}
)


def parse_file(path: Path, max_bytes: int) -> ParsedDocument:
    """Parse one file. Raises `IngestError` with a one-line reason and what to do."""
    try:
        check_size(path, max_bytes)
        document = _load(path)
    except OSError as error:
        raise IngestError(
            path, f"cannot read the file ({error.strerror or error}); check it exists and is readable"
        ) from None
    if not document.sections:
        raise IngestError(path, "no text found in the file; add content or remove it from the batch")
    return document


def unsupported(path: Path) -> IngestError:
    supported = " ".join(sorted(SUPPORTED_SUFFIXES))
    return IngestError(path, f"unsupported file type '{path.suffix or '(none)'}'; supported: {supported}")


def _load(path: Path) -> ParsedDocument:
    match path.suffix.lower():
        case ".txt":
            return load_text(path)
        case ".md" | ".markdown":
            return load_markdown(path)
        case ".html" | ".htm":
            return load_html(path)
        case ".pdf":
            return load_pdf(path)
        case ".docx":
            return load_docx(path)
        case ".json" | ".jsonl" | ".csv":
            return load_faq(path)
    raise unsupported(path)
