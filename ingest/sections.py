"""Assembles a loader's pieces of text into a `ParsedDocument` whose sections carry offsets.

A document's extracted text is its sections' texts joined by `SECTION_SEPARATOR`; `Section.start`
is each section's offset in it, so chunk offsets index that one string (`full_text`). This module
knows no file format.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from ingest.document import ParsedDocument, Section

SECTION_SEPARATOR = "\n\n"
_BLANK_RUNS = re.compile(r"\n{3,}")
_TRAILING_SPACE = re.compile(r"[ \t]+\n")


@dataclass(frozen=True)
class Piece:
    """A section before it has an offset."""

    text: str
    headings: tuple[str, ...] = ()
    page: int | None = None
    whole: bool = False


def tidy(text: str) -> str:
    """Strip the ends, drop trailing spaces on lines, and keep at most one blank line in a row."""
    return _BLANK_RUNS.sub("\n\n", _TRAILING_SPACE.sub("\n", text)).strip()


def assemble(title: str, pieces: Iterable[Piece]) -> ParsedDocument:
    """Build the document from pieces in reading order, dropping pieces with no text."""
    sections: list[Section] = []
    offset = 0
    for piece in pieces:
        text = tidy(piece.text)
        if not text:
            continue
        if sections:
            offset += len(SECTION_SEPARATOR)
        sections.append(
            Section(text=text, headings=piece.headings, page=piece.page, start=offset, whole=piece.whole)
        )
        offset += len(text)
    return ParsedDocument(title=title.strip(), sections=sections)


def full_text(document: ParsedDocument) -> str:
    """The document's extracted text, the string that section and chunk offsets index."""
    return SECTION_SEPARATOR.join(section.text for section in document.sections)
