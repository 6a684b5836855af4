"""`tunedesk fewshot-index` and the fewshot modes from the command line (tiny model, real MiniLM embedder)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from assistant.cli.app import app
from assistant.fewshot_store import MANIFEST
from tests.assistant.fewshot_data import PLANTED_REPLY, TRANSCRIPTS, distinct_customer_turns

QUESTION = "Is water damage covered by the warranty?"


@pytest.fixture
def env(monkeypatch, tiny_model_dir, tmp_path):
    monkeypatch.setenv("TUNEDESK_MODEL__BASE", str(tiny_model_dir))
    monkeypatch.setenv("TUNEDESK_GENERATION__MAX_NEW_TOKENS", "6")
    monkeypatch.setenv("TUNEDESK_DEVICE", "cpu")


def run(home: Path, *args: str, input: str | None = None):
    return CliRunner().invoke(app, ["--home", str(home), *args], input=input)


def one_error_line(result) -> str:
    (line,) = result.stderr.strip().splitlines()
    assert line.startswith("error: "), line
    return line


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (["ask", QUESTION, "--mode", "fewshot"], 1, "mode fewshot needs example exchanges.*fewshot-index"),
        (["ask", QUESTION, "--mode", "fewshot", "--adapter", "x"], 1, "unknown adapter 'x'"),
        (["fewshot-index"], 2, "DATA: give transcript files or folders, or set assistant.fewshot_data"),
        (["fewshot-index", "no/such/folder"], 2, "DATA: no such file or folder: no/such/folder"),
    ],
)
def test_clear_one_line_errors(tmp_path, env, args, code, message):
    result = run(tmp_path, *args)
    assert result.exit_code == code
    assert re.search(message, one_error_line(result))


@pytest.mark.slow  # loads the embedding model and the tiny LLM
def test_fewshot_index_stores_what_it_can_read_and_ask_answers_from_it(
    tmp_path, env, transcripts_file, monkeypatch
):
    data = tmp_path / "data"
    data.mkdir()
    (data / "chats.jsonl").write_text(transcripts_file.read_text() + '{"messages": [\n', encoding="utf-8")
    home = tmp_path / "home"
    built = run(home, "fewshot-index", str(data))
    # The cut-off line is reported and fails the command; the rest is stored.
    assert built.exit_code == 1
    assert "warning: skipped" in built.stderr and f"chats.jsonl:{len(TRANSCRIPTS) + 1}" in built.stderr
    exchanges = sum(len(conversation) for conversation in TRANSCRIPTS) - 1  # one exact repeat
    assert built.stdout.startswith(f"stored {exchanges} example exchanges in {home / 'fewshot'}")
    manifest = json.loads((home / "fewshot" / MANIFEST).read_text())
    assert manifest["exchanges"] == exchanges and manifest["embedding_model"] == "all-MiniLM-L6-v2"

    answer = json.loads(run(home, "ask", QUESTION, "--mode", "fewshot", "--json").stdout)
    assert answer["mode"] == "fewshot" and answer["completion_tokens"] > 0
    assert answer["examples"][0]["customer"] == QUESTION  # the same question was asked in the transcripts
    assert len(answer["examples"]) == 3  # assistant.fewshot_k
    chat = run(home, "chat", "--mode", "base", input="/mode fewshot\nDoes the warranty cover water?\n/quit\n")
    assert chat.exit_code == 0, chat.output
    assert "mode fewshot\n[fewshot] you> assistant> " in chat.stdout


@pytest.mark.slow  # loads the embedding model and the tiny LLM
def test_the_store_is_built_on_first_use_from_the_setting_without_evaluation_questions(
    tmp_path, env, transcripts_file, monkeypatch
):
    questions = tmp_path / "questions.jsonl"
    questions.write_text(json.dumps({"question": TRANSCRIPTS[1][0][0]}) + "\n", encoding="utf-8")
    monkeypatch.setenv("TUNEDESK_ASSISTANT__FEWSHOT_DATA", str(transcripts_file))
    monkeypatch.setenv("TUNEDESK_DATA__EVAL_QUESTIONS", str(questions))
    monkeypatch.setenv("TUNEDESK_ASSISTANT__FEWSHOT_K", "20")
    home = tmp_path / "home"
    result = run(home, "ask", TRANSCRIPTS[1][0][0], "--mode", "fewshot", "--json")
    assert result.exit_code == 0, result.output
    answer = json.loads(result.stdout)
    assert (home / "fewshot" / MANIFEST).is_file()
    # One exchange per customer turn, but none for the turn resembling the evaluation question.
    assert len(answer["examples"]) == len(distinct_customer_turns()) - 1
    assert all(example["agent"] != PLANTED_REPLY for example in answer["examples"])
