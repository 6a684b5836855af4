"""One-line errors for a bad home folder and for file-system failures no command handled: each names the
folder or file and what to do, exits non-zero, and leaves what is stored as it was."""

from __future__ import annotations

import errno
import sqlite3
from pathlib import Path

import pytest
from typer.testing import CliRunner

from assistant.cli.app import app
from assistant.cli.context import describe_failure

READ_ONLY_COMMANDS = [["docs", "list"], ["search", "router"], ["adapters", "list"], ["keys", "list"]]


def run(home: Path, *args: str, debug: bool = False):
    return CliRunner().invoke(app, ["--home", str(home), *(["--debug"] if debug else []), *args])


def snapshot(folder: Path) -> dict[str, bytes]:
    return {str(path.relative_to(folder)): path.read_bytes() for path in folder.rglob("*") if path.is_file()}


def one_error_line(result) -> str:
    (line,) = result.stderr.strip().splitlines()
    assert line.startswith("error: ") and "Traceback" not in result.output
    return line


@pytest.mark.parametrize(
    "command", [*READ_ONLY_COMMANDS, ["keys", "add", "k"], ["ask", "hi", "--mode", "base"]]
)
def test_a_home_that_is_a_file_is_named_not_a_directory(tmp_path, command):
    home = tmp_path / "home.txt"
    home.write_text("not a folder", encoding="utf-8")
    result = run(home, *command)
    assert result.exit_code == 2
    assert one_error_line(result) == (
        f"error: home {home} is not a directory; point --home (or TUNEDESK_HOME) at a folder"
    )
    assert home.read_text(encoding="utf-8") == "not a folder"


@pytest.mark.parametrize("command", READ_ONLY_COMMANDS)
def test_read_only_commands_refuse_a_home_that_does_not_exist(tmp_path, command):
    home = tmp_path / "hoem"  # mistyped
    result = run(home, *command)
    assert result.exit_code == 2
    assert f"home folder {home} does not exist; check --home" in one_error_line(result)
    assert not home.exists()


def test_writing_commands_create_the_home_and_say_so_once(tmp_path):
    home = tmp_path / "new" / "home"
    first = run(home, "keys", "add", "first")
    second = run(home, "keys", "add", "second")
    assert first.exit_code == 0 and second.exit_code == 0
    assert first.stderr == f"note: created the home folder {home}\n"
    assert second.stderr == ""
    assert (home / "api_keys.json").is_file()


def test_a_home_that_cannot_be_created_is_named(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x", encoding="utf-8")
    result = run(blocker / "home", "keys", "add", "k")
    assert result.exit_code == 2
    assert f"home folder {blocker / 'home'} cannot be created (Not a directory)" in one_error_line(result)


def test_a_read_only_home_refuses_writing_commands_and_still_serves_reading_ones(tmpfs):
    home = tmpfs.mount("home", 256)
    assert run(home, "keys", "add", "kept").exit_code == 0
    tmpfs.read_only(home)
    before = snapshot(home)
    refused = run(home, "keys", "add", "another")
    listed = run(home, "keys", "list")
    assert refused.exit_code == 2
    assert one_error_line(refused) == (
        f"error: home folder {home} is read-only and `keys add` writes there; make it writable or "
        "choose another --home"
    )
    assert listed.exit_code == 0 and listed.stdout.startswith("kept\tuser")
    assert snapshot(home) == before


def test_a_read_only_index_folder_refuses_a_removal_in_one_line(tmp_path, tmpfs, documents):
    """Only the index folder is read-only (a mount over it): the knowledge base refuses to write there."""
    home, docs = tmp_path / "home", tmp_path / "docs"
    docs.mkdir()
    (docs / "returns.md").write_text(documents["returns.md"], encoding="utf-8")
    assert run(home, "--device", "cpu", "ingest", str(docs)).exit_code == 0
    stored = {path.name: path.read_bytes() for path in (home / "index").iterdir() if path.is_file()}
    index = tmpfs.mount("home/index", 4096)
    for name, data in stored.items():
        (index / name).write_bytes(data)
    tmpfs.read_only(index)
    before = snapshot(index)
    result = run(home, "docs", "remove", str(docs / "returns.md"))
    assert result.exit_code == 1
    line = one_error_line(result)
    assert str(home) in line and "read-only" in line
    assert snapshot(index) == before


def test_an_unhandled_file_system_error_is_one_line_and_debug_shows_the_traceback(
    tmp_path, documents, monkeypatch
):
    """A disk I/O error (which no test can cause for real) deep inside a command reaches the last-resort
    handler: one line naming the file, and the raw error under --debug."""
    from ingest.knowledge_base import KnowledgeBase

    home, docs = tmp_path / "home", tmp_path / "docs"
    docs.mkdir()
    (docs / "returns.md").write_text(documents["returns.md"], encoding="utf-8")
    assert run(home, "--device", "cpu", "ingest", str(docs)).exit_code == 0
    failing = home / "index" / "registry.sqlite3"

    def broken_disk(self, doc_id_or_path):
        raise OSError(errno.EIO, "Input/output error", str(failing))

    monkeypatch.setattr(KnowledgeBase, "remove", broken_disk)
    result = run(home, "docs", "remove", str(docs / "returns.md"))
    debugged = run(home, "docs", "remove", str(docs / "returns.md"), debug=True)
    assert result.exit_code == 1
    line = one_error_line(result)
    assert str(failing) in line and "Input/output error" in line
    assert isinstance(debugged.exception, OSError)  # raised, not turned into one line


def test_describe_failure_names_the_file_and_what_to_do(tmp_path):
    full = OSError(errno.ENOSPC, "No space left on device", str(tmp_path / "index" / "index-3.faiss"))
    assert describe_failure(full, tmp_path) == (
        f"{tmp_path / 'index' / 'index-3.faiss'}: No space left on device; free some disk space and run it again"
    )
    read_only = OSError(errno.EROFS, "Read-only file system")
    assert describe_failure(read_only, tmp_path) == (
        f"Read-only file system (working in the home folder {tmp_path}); "
        "the file system is read-only; choose a writable --home"
    )
    locked = sqlite3.OperationalError("database or disk is full")
    assert "database or disk is full" in describe_failure(locked, tmp_path)


@pytest.mark.parametrize(
    "command", [["serve", "--port", "8799"], ["ask", "how long is the return window", "--mode", "rag"]]
)
def test_a_ranking_index_that_is_not_there_is_one_line(full_home, tmp_path, monkeypatch, command):
    monkeypatch.setenv("TUNEDESK_RETRIEVAL__RANKING_INDEX", str(tmp_path / "nowhere"))

    def stored() -> dict[str, bytes]:  # SQLite's -shm and -wal side files appear on opening a database
        return {
            name: data for name, data in snapshot(full_home).items() if not name.endswith(("-shm", "-wal"))
        }

    before = stored()
    result = run(full_home, "--device", "cpu", *command)
    assert result.exit_code != 0
    assert "retrieval.ranking_index" in one_error_line(result) and "no index there" in result.stderr
    assert stored() == before and not (tmp_path / "nowhere").exists()  # nothing stored changed
    assert not any(data for name, data in snapshot(full_home).items() if name.endswith("-wal"))  # nor pending
