"""Regenerate the sample PDF and DOCX documents in data/docs from their Markdown sources in data/sources.

Run: python data/make_binary_docs.py   (needs fpdf2 and python-docx, both in the dev install)

The generated files are committed, so nobody needs to run this unless a source changes. The Markdown
understood here is the small subset the sources use: `#`/`##`/`###` headings, paragraphs, `-` and
`1.` list items, pipe tables, and `**bold**` markers (dropped). Output dates are fixed so that a rerun
only changes a file when its source changed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import docx
from docx.shared import Pt
from fpdf import FPDF
from fpdf.fonts import FontFace

DATA = Path(__file__).resolve().parent
SOURCES = DATA / "sources"
DOCS = DATA / "docs"
FIXED_DATE = datetime(2026, 8, 1, tzinfo=UTC)
AUTHOR = "Brightwave Networks Ltd."

# Source (relative to data/sources) -> output format; the output keeps the same relative path.
OUTPUTS = {
    "products/halo-spec-sheet-2026.md": "pdf",
    "plans/price-list-2025.md": "pdf",
    "plans/price-list-2026-04.md": "pdf",
    "help-centre/halo-quick-start-2025.md": "pdf",
    "policies/warranty-policy.md": "docx",
    "plans/halo-care-plus-terms.md": "docx",
    "help-centre/brightwave-home-app-guide.md": "docx",
}

# The PDF core fonts cover Latin-1 only; the sources use a few typographic characters beyond it.
PDF_REPLACEMENTS = {"–": "-", "—": "-", "’": "'", "“": '"', "”": '"', "›": ">", "×": "x", "…": "..."}


@dataclass(frozen=True)
class Block:
    """One block of the Markdown subset: kind is heading, paragraph, bullet, number or table."""

    kind: str
    text: str = ""
    level: int = 0
    rows: tuple[tuple[str, ...], ...] = ()


def strip_inline(text: str) -> str:
    return re.sub(r"\*\*(.+?)\*\*", r"\1", text).replace("`", "")


def parse_markdown(source: str) -> list[Block]:
    blocks: list[Block] = []
    table: list[tuple[str, ...]] = []
    paragraph: list[str] = []

    def flush() -> None:
        if paragraph:
            blocks.append(Block("paragraph", strip_inline(" ".join(paragraph))))
            paragraph.clear()
        if table:
            blocks.append(Block("table", rows=tuple(table)))
            table.clear()

    for raw in source.splitlines():
        line = raw.strip()
        if line.startswith("|"):
            cells = tuple(strip_inline(cell.strip()) for cell in line.strip("|").split("|"))
            if not all(re.fullmatch(r":?-+:?", cell) for cell in cells):  # the header separator row
                table.append(cells)
            continue
        if table:
            flush()
        if not line:
            flush()
        elif heading := re.match(r"(#{1,3}) (.+)", line):
            flush()
            blocks.append(Block("heading", strip_inline(heading.group(2)), level=len(heading.group(1))))
        elif line.startswith("- "):
            flush()
            blocks.append(Block("bullet", strip_inline(line[2:])))
        elif number := re.match(r"\d+\. (.+)", line):
            flush()
            blocks.append(Block("number", strip_inline(number.group(1))))
        else:
            paragraph.append(line)
    flush()
    return blocks


def pdf_text(text: str) -> str:
    for old, new in PDF_REPLACEMENTS.items():
        text = text.replace(old, new)
    return text


def write_pdf(blocks: list[Block], title: str, target: Path) -> None:
    pdf = FPDF(format="Letter")
    pdf.set_title(title)
    pdf.set_author(AUTHOR)
    pdf.set_creator(AUTHOR)
    pdf.set_creation_date(FIXED_DATE)
    pdf.set_margins(20, 20, 20)
    pdf.set_auto_page_break(auto=True, margin=20)
    pdf.add_page()
    numbered = 0
    for block in blocks:
        numbered = numbered + 1 if block.kind == "number" else 0
        if block.kind == "heading":
            pdf.ln(3)
            pdf.set_font("Helvetica", "B", {1: 18, 2: 14, 3: 12}[block.level])
            pdf.multi_cell(0, 8, pdf_text(block.text), new_x="LMARGIN", new_y="NEXT")
            pdf.ln(1)
        elif block.kind == "table":
            pdf.set_font("Helvetica", "", 9)
            heading_style = FontFace(emphasis="BOLD", fill_color=(225, 232, 240))
            # Column widths in mm: never narrower than the longest word (so "BW-P7M" is not split), and
            # a long cell counts at most 45 mm so one port list can't squeeze the other columns.
            widths = tuple(
                max(
                    max(pdf.get_string_width(pdf_text(word)) for cell in column for word in cell.split())
                    * 1.1
                    + 5,
                    min(45, max(pdf.get_string_width(pdf_text(cell)) + 5 for cell in column)),
                )
                for column in zip(*block.rows, strict=True)
            )
            with pdf.table(
                headings_style=heading_style, line_height=5, padding=1.5, col_widths=widths
            ) as table:
                for cells in block.rows:
                    row = table.row()
                    for cell in cells:
                        row.cell(pdf_text(cell))
            pdf.ln(3)
        else:
            marker = {"bullet": "- ", "number": f"{numbered}. "}.get(block.kind, "")
            pdf.set_font("Helvetica", "", 10.5)
            pdf.multi_cell(0, 5.5, pdf_text(marker + block.text), new_x="LMARGIN", new_y="NEXT")
            pdf.ln(1.5)
    pdf.output(str(target))


def write_docx(blocks: list[Block], title: str, target: Path) -> None:
    document = docx.Document()
    document.core_properties.title = title
    document.core_properties.author = AUTHOR
    document.core_properties.last_modified_by = AUTHOR
    document.core_properties.created = FIXED_DATE
    document.core_properties.modified = FIXED_DATE
    document.styles["Normal"].font.size = Pt(10.5)
    for block in blocks:
        if block.kind == "heading":
            document.add_heading(block.text, level=block.level)
        elif block.kind == "table":
            table = document.add_table(rows=0, cols=len(block.rows[0]))
            table.style = "Table Grid"
            for index, cells in enumerate(block.rows):
                row = table.add_row().cells
                for cell, text in zip(row, cells, strict=True):
                    cell.text = text
                    if index == 0:
                        cell.paragraphs[0].runs[0].bold = True
        else:
            style = {"bullet": "List Bullet", "number": "List Number"}.get(block.kind)
            document.add_paragraph(block.text, style=style)
    document.save(str(target))


def build(relative: str, kind: str) -> Path:
    blocks = parse_markdown((SOURCES / relative).read_text(encoding="utf-8"))
    title = next(block.text for block in blocks if block.kind == "heading")
    target = (DOCS / relative).with_suffix(f".{kind}")
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(f".{target.name}.partial")
    (write_pdf if kind == "pdf" else write_docx)(blocks, title, partial)
    partial.replace(target)  # a failed run never leaves half a document in data/docs
    return target


def main() -> None:
    for relative, kind in OUTPUTS.items():
        print(build(relative, kind).relative_to(DATA))


if __name__ == "__main__":
    main()
