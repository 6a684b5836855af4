"""Loads a DOCX with python-docx: Heading 1-3 paragraphs give the heading path, tables become text rows."""

from __future__ import annotations

from pathlib import Path

import docx
from docx.table import Table
from docx.text.paragraph import Paragraph

from ingest.document import IngestError, ParsedDocument
from ingest.safety import check_zip
from ingest.sections import Piece, assemble

_HEADING_LEVELS = {"Heading 1": 1, "Heading 2": 2, "Heading 3": 3}


def load_docx(path: Path) -> ParsedDocument:
    check_zip(path)
    try:
        document = docx.Document(str(path))
        blocks = list(document.iter_inner_content())
        core_title = document.core_properties.title
    except Exception as error:  # noqa: BLE001 - python-docx/lxml raise many types on damaged files
        reason = f"{type(error).__name__}: {error}".splitlines()[0][:200]
        raise IngestError(
            path, f"damaged or unreadable DOCX ({reason}); re-save it from a word processor"
        ) from None
    pieces: list[Piece] = []
    stack: list[tuple[int, str]] = []
    lines: list[str] = []
    title = core_title or ""
    for block in blocks:
        if isinstance(block, Table):
            lines.append(_table_text(block))
            continue
        level = _heading_level(block)
        text = block.text.strip()
        if not title and text and block.style is not None and block.style.name == "Title":
            title = text
        if level is None or not text:
            lines.append(block.text)
            continue
        pieces.append(Piece("\n\n".join(lines), headings=tuple(name for _, name in stack)))
        lines = []
        stack = [(depth, name) for depth, name in stack if depth < level]
        stack.append((level, text))
        if level == 1 and not title:
            title = text
    pieces.append(Piece("\n\n".join(lines), headings=tuple(name for _, name in stack)))
    return assemble(title or path.stem, pieces)


def _heading_level(paragraph: Paragraph) -> int | None:
    style = paragraph.style
    return _HEADING_LEVELS.get(style.name) if style is not None else None


def _table_text(table: Table) -> str:
    rows = []
    for row in table.rows:
        cells: list[str] = []
        for cell in row.cells:
            text = " ".join(cell.text.split())
            # A merged cell is returned once per grid column it spans; show it once.
            if not cells or cells[-1] != text:
                cells.append(text)
        rows.append(" | ".join(cells))
    return "\n".join(rows)
