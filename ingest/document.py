"""The data that flows through ingestion: parsed sections, chunks, and the one error type.

Loaders turn a file into `Section`s; the chunker turns sections into `Chunk`s; the knowledge base
stores chunks. This module holds data only and knows no parser, model or storage.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path


def section_path(title: str, headings: Sequence[str]) -> str:
    """`Returns policy > How long you have`: the title, then the headings, each once (a document titled by
    its first heading reads "Returns", not "Returns > Returns")."""
    return " > ".join(dict.fromkeys(part for part in (title, *headings) if part))


def printable(name: str) -> str:
    """`name` with every non-printable character (newline, escape, ...) written as a Python escape.

    File names come from users; printed raw, a name holding a newline could forge a second output
    line (`error: ...`), and one holding terminal escapes could rewrite the screen.
    """
    if name.isprintable():
        return name
    return "".join(
        char if char.isprintable() else char.encode("unicode_escape").decode("ascii") for char in name
    )


class IngestError(Exception):
    """One input could not be ingested. `str()` is a one-line message naming the file and what to do."""

    def __init__(self, path: Path | str, reason: str) -> None:
        self.path = str(path)
        self.reason = reason
        super().__init__(f"{printable(self.path)}: {printable(reason)}")


@dataclass(frozen=True)
class Section:
    """A stretch of a document's text under one heading path (or one PDF page, or one FAQ pair).

    `start` is the character offset of `text` in the document's full extracted text, so chunk
    offsets can be given relative to the whole document.
    """

    text: str
    headings: tuple[str, ...] = ()
    page: int | None = None  # 1-based, PDFs only
    start: int = 0
    whole: bool = False  # True for an FAQ pair: keep as one chunk unless it exceeds the token limit


@dataclass(frozen=True)
class ParsedDocument:
    """What a loader returns: the document's title and its sections in reading order."""

    title: str
    sections: list[Section] = field(default_factory=list)

    @property
    def text_length(self) -> int:
        return sum(len(section.text) for section in self.sections)


@dataclass(frozen=True)
class Chunk:
    """A piece of a document small enough for the embedding model, with everything needed to cite it."""

    text: str
    title: str
    headings: tuple[str, ...]
    page: int | None
    start: int  # character offsets into the document's extracted text
    end: int

    @property
    def heading_path(self) -> str:
        return " > ".join(self.headings)
