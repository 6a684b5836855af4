"""Loads a PDF with pypdf: one section per page that has text, numbered from 1."""

from __future__ import annotations

from pathlib import Path

from pypdf import PasswordType, PdfReader

from ingest.document import IngestError, ParsedDocument
from ingest.sections import Piece, assemble


def load_pdf(path: Path) -> ParsedDocument:
    try:
        reader = PdfReader(path)
        if reader.is_encrypted:
            _unlock(reader, path)
        title = (reader.metadata.title if reader.metadata else None) or path.stem
        pieces = [
            Piece(page.extract_text() or "", page=number) for number, page in enumerate(reader.pages, start=1)
        ]
    except IngestError:
        raise
    except Exception as error:  # noqa: BLE001 - pypdf raises many types on damaged files; each means "unreadable"
        reason = f"{type(error).__name__}: {error}".splitlines()[0][:200]
        raise IngestError(
            path, f"damaged or unreadable PDF ({reason}); re-export it or print it to a new PDF"
        ) from None
    document = assemble(str(title), pieces)
    if not document.sections:
        raise IngestError(path, "PDF has no extractable text (a scan?); run OCR on it first")
    return document


def _unlock(reader: PdfReader, path: Path) -> None:
    """Open a PDF that is encrypted with an empty user password (common for "no copying" PDFs)."""
    try:
        unlocked = reader.decrypt("") != PasswordType.NOT_DECRYPTED
    except Exception:  # noqa: BLE001 - e.g. AES without the optional crypto package: still "cannot open"
        unlocked = False
    if not unlocked:
        raise IngestError(path, "PDF is encrypted with a password; save an unprotected copy and ingest that")
