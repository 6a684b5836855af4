"""Loaders on small real files of every supported format: titles, heading paths, pages, offsets, FAQ pairs."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import docx
import psutil
import pytest

from ingest.document import IngestError, ParsedDocument
from ingest.loaders import SUPPORTED_SUFFIXES, find_files, iter_parsed, load_document, parse_file
from ingest.sections import SECTION_SEPARATOR, full_text
from ingest.timed_pool import Crashed, TimedOut, run_timed

MAX_BYTES = 10 * 2**20


def parse(path: Path) -> ParsedDocument:
    return parse_file(path, MAX_BYTES)


def test_markdown_sections_follow_the_heading_path(samples):
    document = parse(samples["guide.md"])
    assert document.title == "Halo Router guide"
    assert [(section.headings, section.text) for section in document.sections] == [
        (("Halo Router guide",), "The Halo Router covers up to 2,000 sq ft."),
        (("Halo Router guide", "Setup"), "Plug the router into the modem.\n\nOpen the Brightwave Home app."),
        (("Halo Router guide", "Setup", "Pairing"), "Hold the button until the light is blue."),
        (("Halo Router guide", "Reset"), "Hold the reset button for 10 seconds."),
    ]


def test_html_drops_chrome_and_scripts_and_keeps_headings_and_tables(samples):
    document = parse(samples["returns.html"])
    text = full_text(document)
    assert document.title == "Returns policy"
    for chrome in (
        "alert",
        "color: red",
        "Menu item",
        "Brightwave Support",
        "cookies",
        "Related",
        "Copyright",
        "Enable",
    ):
        assert chrome not in text
    assert [section.headings for section in document.sections] == [
        ("Returns policy",),
        ("Returns policy", "Opened items"),
    ]
    assert document.sections[0].text == "You have 30 days to return a router."
    assert document.sections[1].text == "A restocking fee of 15% applies.\n\nItem | Fee\nRouter | 15%"


def test_html_article_header_is_content_but_page_header_is_not(tmp_path):
    page = tmp_path / "article.html"
    page.write_text(
        "<body><header>Site menu</header><article><header><h1>Guest network</h1></header>"
        "<p>Guests get their own Wi-Fi.</p><footer>Updated 2026</footer></article><footer>Legal</footer></body>"
    )
    document = parse(page)
    assert document.title == "Guest network"
    assert [(section.headings, section.text) for section in document.sections] == [
        (("Guest network",), "Guests get their own Wi-Fi.\n\nUpdated 2026")
    ]


def test_html_title_falls_back_to_the_title_tag(tmp_path):
    page = tmp_path / "page.htm"
    page.write_text("<html><head><title>Plans</title></head><body><p>Halo Shield costs $5.</p></body></html>")
    document = parse(page)
    assert (document.title, document.sections[0].text, document.sections[0].headings) == (
        "Plans",
        "Halo Shield costs $5.",
        (),
    )


def test_pdf_gives_one_section_per_page_numbered_from_one(samples, pdf_pages):
    document = parse(samples["manual.pdf"])
    assert document.title == "Halo manual"
    assert [section.page for section in document.sections] == [1, 2, 3]
    assert [section.text for section in document.sections] == pdf_pages


def test_docx_headings_and_tables(samples):
    document = parse(samples["pro.docx"])
    assert document.title == "Halo Pro manual"
    assert [(section.headings, section.text) for section in document.sections] == [
        (("Halo Pro manual",), "The Halo Pro Router is a Wi-Fi 7 router."),
        (("Halo Pro manual", "Ports"), "It has one 10 GbE WAN port.\n\nPort | Speed\nWAN | 10 GbE"),
        (("Halo Pro manual", "Ports", "Lights"), "Solid white means online."),
        (("Warranty",), "Three years."),
    ]


def test_docx_title_style_names_the_document(tmp_path):
    document = docx.Document()
    document.add_heading("Brightwave returns", level=0)  # level 0 is the "Title" style
    document.add_paragraph("Thirty days.")
    document.save(str(tmp_path / "returns.docx"))
    parsed = parse(tmp_path / "returns.docx")
    assert parsed.title == "Brightwave returns"
    assert full_text(parsed) == "Brightwave returns\n\nThirty days."


@pytest.mark.parametrize("name", ["faq.json", "faq.jsonl", "faq.csv"])
def test_faq_pairs_become_whole_sections(samples, name):
    document = parse(samples[name])
    assert [section.text for section in document.sections] == [
        "Q: How long is the warranty?\nA: Two years for the Halo Router.",
        "Q: What is the admin address?\nA: 10.50.0.1 on firmware 4.0 and later.",
    ]
    assert all(section.whole for section in document.sections)
    assert document.title == "faq"


def test_faq_category_becomes_the_heading(samples):
    document = parse(samples["faq.json"])
    assert [section.headings for section in document.sections] == [("Warranty",), ()]


def test_latin1_text_is_detected_and_decoded(samples, latin1_text):
    document = parse(samples["latin1.txt"])
    assert full_text(document) == latin1_text.strip()


def test_utf16_with_bom_is_decoded(tmp_path):
    path = tmp_path / "wide.txt"
    path.write_bytes("Größe: 2,000 sq ft".encode("utf-16"))
    assert full_text(parse(path)) == "Größe: 2,000 sq ft"


@pytest.mark.parametrize(
    "name", ["guide.md", "returns.html", "manual.pdf", "pro.docx", "faq.csv", "notes.txt"]
)
def test_section_offsets_index_the_full_text(samples, name):
    document = parse(samples[name])
    text = full_text(document)
    for section in document.sections:
        assert text[section.start : section.start + len(section.text)] == section.text
    assert len(text) == document.text_length + len(SECTION_SEPARATOR) * (len(document.sections) - 1)


def test_find_files_walks_sorted_skips_hidden_and_unsupported(tmp_path):
    for name in (
        "b/2.md",
        "b/1.txt",
        "a.pdf",
        ".hidden/x.md",
        "b/.secret.md",
        "b/image.png",
        "c/deep/z.HTML",
    ):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text("x")
    (tmp_path / "named.png").write_text("x")
    found, errors, hidden, _other_types = find_files(
        [tmp_path, tmp_path / "b" / "1.txt", tmp_path / "missing.md", tmp_path / "named.png"]
    )
    assert hidden == 2  # the folder .hidden and the file b/.secret.md
    relative = [path.relative_to(tmp_path).as_posix() for path in found]
    assert relative == ["a.pdf", "b/1.txt", "b/2.md", "c/deep/z.HTML"]
    assert [(Path(error.path).name, error.reason.split(";")[0]) for error in errors] == [
        ("missing.md", "no such file or folder"),
        ("named.png", "unsupported file type '.png'"),
    ]


def test_supported_suffixes_are_the_documented_set():
    assert {
        ".txt",
        ".md",
        ".markdown",
        ".html",
        ".htm",
        ".pdf",
        ".docx",
        ".json",
        ".jsonl",
        ".csv",
    } == SUPPORTED_SUFFIXES


def test_iter_parsed_yields_in_input_order_and_keeps_going_after_errors(samples, bad_files):
    paths = [samples["guide.md"], bad_files["empty.txt"], samples["manual.pdf"], samples["faq.csv"]]
    results = list(iter_parsed(paths, max_bytes=MAX_BYTES, parse_timeout_s=30, workers=2))
    assert [path for path, _ in results] == paths
    assert [type(outcome).__name__ for _, outcome in results] == [
        "ParsedDocument",
        "IngestError",
        "ParsedDocument",
        "ParsedDocument",
    ]
    assert results[2][1] == parse(samples["manual.pdf"])


def test_iter_parsed_works_with_torch_imported_and_leaves_no_processes(samples):
    import torch  # the caller embeds with torch; spawned workers must not inherit its threads

    torch.set_num_threads(2)
    before = {child.pid for child in psutil.Process(os.getpid()).children(recursive=True)}
    paths = [samples["notes.txt"], samples["guide.md"], samples["pro.docx"]] * 4
    results = list(iter_parsed(paths, max_bytes=MAX_BYTES, parse_timeout_s=30, workers=2))
    assert all(isinstance(outcome, ParsedDocument) for _, outcome in results)
    after = {child.pid for child in psutil.Process(os.getpid()).children(recursive=True)}
    assert after - before == set()


def test_closing_iter_parsed_early_stops_the_workers(samples):
    before = {child.pid for child in psutil.Process(os.getpid()).children(recursive=True)}
    results = iter_parsed([samples["notes.txt"]] * 20, max_bytes=MAX_BYTES, parse_timeout_s=30, workers=2)
    first_path, first = next(results)
    results.close()
    assert isinstance(first, ParsedDocument)
    after = {child.pid for child in psutil.Process(os.getpid()).children(recursive=True)}
    assert after - before == set()


def test_load_document_returns_the_document_or_raises(samples, bad_files):
    assert load_document(samples["notes.txt"], max_bytes=MAX_BYTES, parse_timeout_s=30).sections[0].text == (
        "Firmware 4.1 raised the device limit to 128."
    )
    with pytest.raises(IngestError, match="empty"):
        load_document(bad_files["empty.txt"], max_bytes=MAX_BYTES, parse_timeout_s=30)


# A stand-in worker for the pool: echoes its input, or crashes, or spins, as told.
FAKE_WORKER = """
import json, os, sys, time
for line in sys.stdin:
    item = json.loads(line)
    print(json.dumps({"started": time.monotonic()}), flush=True)
    if item == "crash":
        os._exit(3)
    if item == "spin":
        time.sleep(120)
    print(json.dumps({"echo": item}), flush=True)
"""


def test_pool_reports_crashes_and_timeouts_in_place_and_goes_on():
    before = {child.pid for child in psutil.Process(os.getpid()).children(recursive=True)}
    inputs = ["a", "crash", "b", "spin", "c", "d"]
    replies = list(
        run_timed([sys.executable, "-c", FAKE_WORKER], inputs, timeout_s=1.0, workers=2, read_ahead=3)
    )
    assert replies == [{"echo": "a"}, Crashed(3), {"echo": "b"}, TimedOut(1.0), {"echo": "c"}, {"echo": "d"}]
    after = {child.pid for child in psutil.Process(os.getpid()).children(recursive=True)}
    assert after - before == set()
