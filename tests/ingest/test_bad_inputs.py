"""Every bad input gets a one-line error naming the file and what to do; the rest of the batch goes through."""

from __future__ import annotations

from pathlib import Path

import pytest

from ingest.document import IngestError, ParsedDocument
from ingest.loaders import iter_parsed, parse_file
from ingest.safety import check_zip, safe_upload_name
from ingest.sections import full_text

MAX_BYTES = 10 * 2**20


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("empty.txt", "file is empty"),
        ("blank.md", "no text found"),
        ("binary.txt", "looks like binary data"),
        ("corrupt.pdf", "damaged or unreadable PDF"),
        ("encrypted.pdf", "PDF is encrypted with a password"),
        ("bomb.docx", "likely zip bomb"),
        ("truncated.docx", "not a valid DOCX"),
        ("no_fields.csv", "no question/answer fields (found: name, price)"),
        ("broken.json", "invalid JSON at line 1 column 30"),
        ("image.png", "unsupported file type '.png'"),
    ],
)
def test_bad_file_gets_a_one_line_error_naming_it(bad_files, name, reason):
    path = bad_files[name]
    with pytest.raises(IngestError) as caught:
        parse_file(path, MAX_BYTES)
    message = str(caught.value)
    assert message.startswith(f"{path}: ")
    assert reason in message
    assert "\n" not in message
    assert ";" in caught.value.reason  # every reason ends with what to do


def test_file_over_the_size_limit_is_refused_before_parsing(bad_files):
    with pytest.raises(IngestError, match=r"over the 0\.0 MiB limit \(ingest\.max_file_mb\)"):
        parse_file(bad_files["big.txt"], max_bytes=1000)


def test_zip_bomb_is_caught_from_the_zip_directory_alone(bad_files):
    with pytest.raises(IngestError, match=r"would expand to 32 MiB \(\d+x its size\)"):
        check_zip(bad_files["bomb.docx"])


def test_real_docx_passes_the_zip_check(samples):
    check_zip(samples["pro.docx"])


def test_pdf_with_only_an_owner_password_opens(bad_files, pdf_pages):
    document = parse_file(bad_files["owner_only.pdf"], MAX_BYTES)
    assert [section.text for section in document.sections] == pdf_pages


def test_html_scripts_and_styles_are_stripped_not_errors(tmp_path):
    page = tmp_path / "x.html"
    page.write_text("<script>var a = 1;</script><style>p {}</style><p>Reset takes 10 seconds.</p>")
    assert full_text(parse_file(page, MAX_BYTES)) == "Reset takes 10 seconds."


def test_spinning_parser_is_stopped_and_the_batch_goes_on(samples, bad_files):
    paths = [samples["guide.md"], bad_files["slow.pdf"], samples["notes.txt"], bad_files["corrupt.pdf"]]
    results = dict(iter_parsed(paths, max_bytes=MAX_BYTES, parse_timeout_s=1.0, workers=2))
    slow = results[bad_files["slow.pdf"]]
    assert isinstance(slow, IngestError)
    assert str(slow) == (
        f"{bad_files['slow.pdf']}: parsing took longer than 1s and was stopped; the file may be damaged or hostile"
        " - re-export it, or raise ingest.parse_timeout_s"
    )
    assert isinstance(results[samples["guide.md"]], ParsedDocument)
    assert isinstance(results[samples["notes.txt"]], ParsedDocument)
    assert "damaged or unreadable PDF" in str(results[bad_files["corrupt.pdf"]])


@pytest.mark.parametrize(
    ("name", "clean"),
    [
        ("guide.md", "guide.md"),
        ("docs/guide.md", "docs/guide.md"),
        ("./docs//guide.md", "docs/guide.md"),
        ("docs\\guide.md", "docs/guide.md"),
        ("..guide.md", "..guide.md"),  # dots inside a name are not a traversal
    ],
)
def test_safe_upload_name_keeps_relative_names(name, clean):
    assert safe_upload_name(name) == clean


@pytest.mark.parametrize(
    "name",
    [
        "../secret.md",
        "docs/../../etc/passwd",
        "/etc/passwd",
        "\\\\server\\share\\x.md",
        "C:\\x.md",
        "..",
        "",
        "a\0b",
    ],
)
def test_safe_upload_name_refuses_traversal_and_absolute_paths(name):
    with pytest.raises(IngestError) as caught:
        safe_upload_name(name)
    assert "\n" not in str(caught.value)
    assert "rename the file" in caught.value.reason


def test_bad_file_reason_names_the_path_only_once(bad_files):
    error = pytest.raises(IngestError, parse_file, bad_files["empty.txt"], MAX_BYTES).value
    assert str(error).count(Path(bad_files["empty.txt"]).name) == 1
