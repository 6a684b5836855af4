"""Loads a Markdown file as sections under its H1-H3 heading path, using LangChain's header splitter."""

from __future__ import annotations

from pathlib import Path

from langchain_text_splitters import MarkdownHeaderTextSplitter

from ingest.document import ParsedDocument
from ingest.safety import decode_text
from ingest.sections import Piece, assemble

_LEVELS = (("#", "h1"), ("##", "h2"), ("###", "h3"))


def load_markdown(path: Path) -> ParsedDocument:
    text = decode_text(path, path.read_bytes())
    splitter = MarkdownHeaderTextSplitter(headers_to_split_on=list(_LEVELS), strip_headers=True)
    parts = splitter.split_text(text)
    pieces = [
        # The splitter strips every line and joins paragraphs with "  \n"; no stripped line can end
        # in two spaces, so this restores the paragraph breaks the size splitter relies on.
        Piece(
            part.page_content.replace("  \n", "\n\n"),
            headings=tuple(part.metadata[name] for _, name in _LEVELS if part.metadata.get(name)),
        )
        for part in parts
    ]
    title = next((part.metadata["h1"] for part in parts if part.metadata.get("h1")), path.stem)
    return assemble(title, pieces)
