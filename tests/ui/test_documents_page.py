"""The Documents page: uploads checked on the server, per-file results, list, delete, search, password gate."""

from __future__ import annotations

from assistant.builders import open_knowledge_base
from core.settings import load_settings

GOOD = (
    "shipping.md",
    b"# Shipping\n\nOrders ship within two business days from our warehouse.\n",
    "text/markdown",
)
BINARY = ("manual.txt", bytes(range(256)) * 8, "text/plain")
TRAVERSAL = (
    "../../escape.md",
    b"# Escape\n\nThis must never be written outside the uploads folder.\n",
    "text/markdown",
)
WRONG_TYPE = ("tool.exe", b"MZ\x90\x00", "application/octet-stream")


def documents_in_index():
    with open_knowledge_base(load_settings(), with_model=False) as knowledge_base:
        return {record.title: record for record in knowledge_base.documents()}


def test_upload_good_and_bad_files_reports_each_and_keeps_the_good_one(use_empty_home, app):
    page = app("documents")
    page.file_uploader[0].set_value([GOOD, BINARY, TRAVERSAL, WRONG_TYPE])
    page.button[0].click().run()
    assert not page.exception, [item.value for item in page.exception]

    rows = {row["file"]: row for row in page.dataframe[0].value.to_dict("records")}
    assert rows["shipping.md"]["result"] == "added"
    assert rows["manual.txt"]["result"] == "failed" and "binary" in rows["manual.txt"]["detail"]
    assert rows["../../escape.md"]["result"] == "failed" and "'..'" in rows["../../escape.md"]["detail"]
    assert rows["tool.exe"]["result"] == "failed" and "unsupported file type" in rows["tool.exe"]["detail"]
    assert len(page.error) == 3 and page.success[0].value == "1 of 4 file(s) stored."

    assert set(documents_in_index()) == {"Shipping"}
    assert (use_empty_home / "uploads" / "shipping.md").is_file()
    assert not (use_empty_home / "uploads" / "manual.txt").exists()  # a failed file is not kept
    assert not (use_empty_home.parent / "escape.md").exists()
    listed = page.dataframe[1].value.to_dict("records")
    assert [(row["title"], row["file"]) for row in listed] == [("Shipping", "shipping.md")]
    assert listed[0]["chunks"] >= 1 and listed[0]["added"]


def test_oversized_upload_is_refused_on_the_server(use_empty_home, monkeypatch, app):
    monkeypatch.setenv("TUNEDESK_INGEST__MAX_FILE_MB", "0.001")  # about 1 KiB
    page = app("documents")
    page.file_uploader[0].set_value([("big.md", b"# Big\n\n" + b"word " * 400, "text/markdown")])
    page.button[0].click().run()
    assert page.error[0].value.startswith("big.md: file is 0.00191 MiB, over the")
    assert "(ingest.max_file_mb)" in page.error[0].value
    assert documents_in_index() == {}


def test_search_then_delete(use_empty_home, app):
    page = app("documents")
    page.file_uploader[0].set_value([GOOD])
    page.button[0].click().run()
    page.text_input[0].set_value("how fast do orders ship").run()
    assert "Shipping" in page.markdown[-1].value and "shipping.md" in page.markdown[-1].value
    assert "two business days" in page.caption[-1].value

    [delete] = [button for button in page.button if button.label == "Delete"]
    delete.click().run()
    assert documents_in_index() == {}
    assert not (use_empty_home / "uploads" / "shipping.md").exists()


def test_password_gate(use_empty_home, monkeypatch, app):
    monkeypatch.setenv("TUNEDESK_UI__ADMIN_PASSWORD", "s3cret")
    page = app("documents")
    assert not page.file_uploader
    page.text_input[0].set_value("wrong")
    page.button[0].click().run()
    assert page.error[0].value == "Wrong password." and not page.file_uploader
    page.text_input[0].set_value("s3cret")
    page.button[0].click().run()
    assert page.file_uploader  # unlocked for this session


def test_the_page_says_which_index_ranks_answers(use_empty_home, tmp_path, monkeypatch, app):
    from typer.testing import CliRunner

    from assistant.cli.app import app as cli

    page = app("documents")
    page.file_uploader[0].set_value([GOOD])
    page.button[0].click().run()
    assert set(documents_in_index()) == {"Shipping"}

    def ranking_home(name: str, files: dict[str, bytes]):
        docs = tmp_path / f"{name}-docs"
        docs.mkdir()
        for file_name, data in files.items():
            (docs / file_name).write_bytes(data)
        home = tmp_path / name
        result = CliRunner().invoke(cli, ["--home", str(home), "--device", "cpu", "ingest", str(docs)])
        assert result.exit_code == 0, result.output
        return home / "index"

    other = ranking_home("other", {"returns.md": b"# Returns\n\nReturns are free within 30 days.\n"})
    monkeypatch.setenv("TUNEDESK_RETRIEVAL__RANKING_INDEX", str(other))
    page = app("documents")
    assert any("holds other documents than this knowledge base" in item.value for item in page.warning)

    # The same document under another file name: the same content, so the ranking index is in use, and the
    # search box shows what it returns (its own copy), as an answer would.
    same = ranking_home("same", {f"ranked-{GOOD[0]}": GOOD[1]})
    monkeypatch.setenv("TUNEDESK_RETRIEVAL__RANKING_INDEX", str(same))
    page = app("documents")
    assert not page.warning
    assert any("Answers are ranked by the ranking index" in item.value for item in page.caption)
    page.text_input[0].set_value("how fast do orders ship").run()
    assert f"ranked-{GOOD[0]}" in page.markdown[-1].value
