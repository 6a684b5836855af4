"""`tunedesk data check` through the real CLI, packaged tokenizer and files: report, JSON, exit codes."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from assistant.cli.app import app


def _run(home: Path, *args: str):
    return CliRunner().invoke(app, ["--home", str(home), "data", "check", *args])


def _line(*turns: tuple[str, str]) -> str:
    return json.dumps({"messages": [{"role": role, "content": content} for role, content in turns]})


def _good(folder: Path) -> Path:
    path = folder / "good.jsonl"
    lines = [
        _line(
            ("user", f"Can I return router number {i}? Mail me at me{i}@example.com"), ("assistant", "Yes.")
        )
        for i in range(5)
    ]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_usable_data_prints_the_report_and_exits_0(tmp_path: Path) -> None:
    result = _run(tmp_path / "home", str(_good(tmp_path)), "--json")

    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    assert payload["conversations_in"] == payload["conversations_kept"] == 5
    assert payload["train"] + payload["validation"] == 5
    assert payload["pii"]["found"] == {"email": 5}
    assert len(payload["data_hash"]) == 64
    assert not (tmp_path / "home" / "models").exists()  # checking data never converts the model


def test_bad_lines_are_reported_and_exit_1_but_the_rest_is_checked(tmp_path: Path) -> None:
    good = _good(tmp_path)
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"messages": [\n' + _line(("user", "hi"), ("bot", "hello")) + "\n", encoding="utf-8")

    result = _run(tmp_path / "home", str(good), str(bad), "--no-scrub-pii", "--over-long", "drop")

    assert result.exit_code == 1
    assert "conversations kept            5" in result.stdout
    assert f"{bad}:1: not valid JSON" in result.stdout
    assert f"{bad}:2: message 2 has role 'bot'" in result.stdout
    assert "personal data replaced" not in result.stdout
    assert "error: some input could not be parsed" in result.stderr


def test_nothing_usable_exits_1(tmp_path: Path) -> None:
    only_questions = tmp_path / "q.jsonl"
    only_questions.write_text(_line(("user", "anyone?")) + "\n", encoding="utf-8")

    result = _run(tmp_path / "home", str(only_questions))

    assert result.exit_code == 1
    assert "dropped: one_sided" in result.stdout
    assert "error: no usable conversations remain" in result.stderr


def test_usage_errors_exit_2(tmp_path: Path) -> None:
    missing = _run(tmp_path, str(tmp_path / "nope.jsonl"))
    assert missing.exit_code == 2 and "no such file or folder" in missing.stderr
    bad_flag = _run(tmp_path, str(_good(tmp_path)), "--over-long", "shorten")
    assert bad_flag.exit_code == 2 and "data.over_long" in bad_flag.stderr
