"""Upload checks and ingestion with a real knowledge base: one result per file, nothing good lost."""

from __future__ import annotations

import pytest

from assistant.builders import open_knowledge_base
from core.settings import Settings
from ingest.document import IngestError
from ingest.uploads import Upload, check_upload, ingest_uploads, reindex, remove_document

LIMIT = 10_000


@pytest.mark.parametrize(
    ("name", "data", "reason"),
    [
        ("../etc/passwd.md", b"x", "'..'"),
        ("/abs/file.md", b"x", "'..'"),
        ("C:\\Windows\\x.md", b"x", "'..'"),
        ("notes.exe", b"x", "unsupported file type '.exe'"),
        ("noext", b"x", "unsupported file type '(none)'"),
        ("empty.md", b"", "file is empty"),
        ("big.md", b"x" * (LIMIT + 1), "over the"),
    ],
)
def test_bad_uploads_are_refused_with_a_reason(name, data, reason):
    with pytest.raises(IngestError, match=reason.replace("(", r"\(").replace(")", r"\)").replace(".", r"\.")):
        check_upload(Upload(name, data), max_bytes=LIMIT)


def test_nested_names_stay_inside_the_folder():
    assert check_upload(Upload("guides\\setup.md", b"# x"), max_bytes=LIMIT) == "guides/setup.md"


@pytest.fixture(scope="module")
def knowledge_base(tmp_path_factory):
    home = tmp_path_factory.mktemp("home")
    with open_knowledge_base(Settings(home=home, device="cpu")) as knowledge_base:
        yield knowledge_base


def test_failed_replacement_keeps_the_previous_file_and_chunks(knowledge_base, tmp_path):
    folder = tmp_path / "uploads"
    good = Upload("faq.md", b"# FAQ\n\nThe router warranty lasts two years.\n")
    [first] = ingest_uploads(knowledge_base, [good], folder, max_bytes=LIMIT)
    assert first.status == "added"
    seen = []
    results = ingest_uploads(
        knowledge_base,
        [
            Upload("faq.md", b"\x00\x01\x02" * 100),
            good,
            Upload("new.md", b"# New\n\nMesh points pair in a minute.\n"),
        ],
        folder,
        max_bytes=LIMIT,
        on_file=lambda index, name: seen.append((index, name)),
    )
    assert [(result.name, result.status) for result in results] == [
        ("faq.md", "failed"),
        ("faq.md", "unchanged"),
        ("new.md", "added"),
    ]
    assert "binary" in results[0].detail
    assert seen == [(0, "faq.md"), (1, "faq.md"), (2, "new.md")]
    assert (folder / "faq.md").read_bytes() == good.data  # the good version is back on disk
    titles = {record.title: record for record in knowledge_base.documents()}
    assert set(titles) >= {"FAQ", "New"}
    assert "two years" in knowledge_base.search("how long is the warranty", k=1)[0].text

    (folder / "new.md").write_text("# New\n\nMesh points now pair in ten seconds.\n", encoding="utf-8")
    changed = {result.name: result.status for result in reindex(knowledge_base)}
    assert changed["new.md"] == "updated" and changed["faq.md"] == "unchanged"

    assert remove_document(knowledge_base, titles["New"].doc_id, folder) == "New"
    assert not (folder / "new.md").exists()
    assert "New" not in {record.title for record in knowledge_base.documents()}
