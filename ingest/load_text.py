"""Loads a plain-text file as one section, titled by the file name."""

from __future__ import annotations

from pathlib import Path

from ingest.document import ParsedDocument
from ingest.safety import decode_text
from ingest.sections import Piece, assemble


def load_text(path: Path) -> ParsedDocument:
    text = decode_text(path, path.read_bytes())
    return assemble(path.stem, [Piece(text)])
