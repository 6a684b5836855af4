"""`tunedesk ask | compare | chat` with the tiny model, real adapters and a real knowledge base."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from assistant.adapter_choice import store_choice
from assistant.answer import CORE_MODES, MODES
from assistant.cli.app import app
from assistant.storage import Storage
from core.home import HomeLayout

QUESTION = "How many days do I have to return a router for a full refund?"


@pytest.fixture
def env(monkeypatch, tiny_model_dir):
    monkeypatch.setenv("TUNEDESK_MODEL__BASE", str(tiny_model_dir))
    monkeypatch.setenv("TUNEDESK_GENERATION__MAX_NEW_TOKENS", "6")
    monkeypatch.setenv("TUNEDESK_DEVICE", "cpu")


@pytest.fixture
def bare_home(tmp_path, env) -> Path:
    """No adapters, no documents."""
    home = tmp_path / "bare"
    home.mkdir()
    return home


def run(home: Path, *args: str, input: str | None = None):
    return CliRunner().invoke(app, ["--home", str(home), *args], input=input)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["ask", QUESTION, "--mode", "tuned"],
            "needs a fine-tuned adapter and none exists yet; create one with `tunedesk train`",
        ),
        (
            ["ask", QUESTION, "--mode", "rag"],
            "needs documents and the knowledge base is empty; add them with `tunedesk ingest PATH`",
        ),
        (
            ["ask", QUESTION, "--mode", "sideways"],
            "--mode 'sideways': use one of base, rag, tuned, tuned\\+rag",
        ),
    ],
)
def test_clear_one_line_errors(bare_home, args, message):
    result = run(bare_home, *args)
    assert result.exit_code == 1
    (line,) = result.stderr.strip().splitlines()
    assert line.startswith("error: ")
    assert re.search(message, line), line


def test_unknown_adapter_lists_the_known_ones(full_home, env):
    result = run(full_home, "ask", QUESTION, "--mode", "tuned", "--adapter", "gamma")
    assert result.exit_code == 1
    assert result.stderr.strip() == "error: unknown adapter 'gamma' (known: alpha, beta)"


@pytest.mark.parametrize(
    "args",
    [
        ["ask", QUESTION, "--mode", "base"],
        ["ask", QUESTION, "--mode", "rag"],
        ["ask", QUESTION, "--mode", "tuned+rag"],
        ["compare", QUESTION],
        ["chat", "--mode", "base"],
    ],
)
def test_an_adapter_that_does_not_exist_fails_in_every_mode(full_home, env, args):
    conversations = len(Storage(full_home / "chat.sqlite3").conversations())
    result = run(full_home, *args, "--adapter", "nope", input="hello\n/quit\n")
    assert result.exit_code == 1
    assert result.stderr.strip() == "error: unknown adapter 'nope' (known: alpha, beta)"
    assert result.stdout == ""  # nothing was answered
    assert len(Storage(full_home / "chat.sqlite3").conversations()) == conversations


@pytest.mark.parametrize("mode", ["base", "rag"])
def test_ask_refuses_an_adapter_with_a_mode_that_uses_none(full_home, env, mode):
    result = run(full_home, "ask", QUESTION, "--mode", mode, "--adapter", "alpha")
    assert result.exit_code == 1
    assert result.stderr.strip() == (
        f"error: --adapter 'alpha': mode {mode} uses no adapter; use --mode tuned or tuned+rag, "
        "or leave out --adapter"
    )
    assert result.stdout == ""


def test_ask_json_is_the_answer_contract_and_uses_the_newest_adapter(full_home, env):
    result = run(full_home, "ask", QUESTION, "--mode", "tuned+rag", "--json")
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    assert payload["mode"] == "tuned+rag" and payload["adapter"] == "beta"  # beta is the newer adapter
    assert payload["sources"][0]["title"] == "Returns policy" and payload["sources"][0]["score"] > 0.35
    assert 0 < payload["completion_tokens"] <= 6 and isinstance(payload["answer"], str)


def test_ask_uses_the_adapter_chosen_in_the_app_unless_one_is_named(full_home, env):
    store_choice(HomeLayout(full_home).active_adapter_file, "alpha")  # the older one
    try:
        chosen = run(full_home, "ask", QUESTION, "--mode", "tuned", "--json")
        named = run(full_home, "ask", QUESTION, "--mode", "tuned", "--adapter", "beta", "--json")
    finally:
        HomeLayout(full_home).active_adapter_file.unlink()
    assert chosen.exit_code == 0 and json.loads(chosen.stdout)["adapter"] == "alpha"
    assert named.exit_code == 0 and json.loads(named.stdout)["adapter"] == "beta"


def test_ask_streams_text_then_sources(full_home, env):
    result = run(full_home, "ask", QUESTION, "--mode", "rag")
    assert result.exit_code == 0, result.output
    assert "[1] Returns policy (" in result.stdout and "(rag; " in result.stdout


def test_ask_abstains_on_an_off_topic_question(full_home, env):
    result = run(full_home, "ask", "what is the capital of mongolia", "--mode", "rag", "--json")
    payload = json.loads(result.stdout)
    assert payload["abstained"] is True and payload["completion_tokens"] == 0
    message, nearest = payload["answer"].split("\n\n")
    assert message == "I couldn't find this in the documentation. Please contact support."
    assert payload["sources"] and not any(source["cited"] for source in payload["sources"])
    assert all(source["title"] in nearest for source in payload["sources"])
    text = run(full_home, "ask", "what is the capital of mongolia", "--mode", "rag")
    assert text.exit_code == 0 and "Nearest documents: " in text.stdout


@pytest.mark.slow  # loads the embedding model and the tiny LLM in several commands
def test_compare_answers_in_all_four_modes(full_home, env):
    result = run(full_home, "compare", QUESTION, "--adapter", "alpha", "--json")
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    assert list(payload) == list(MODES)
    assert [payload[mode]["adapter"] for mode in CORE_MODES] == [None, None, "alpha", "alpha"]
    assert payload["base"]["sources"] == [] and payload["rag"]["sources"]
    # No example exchanges in this home: the fewshot columns say how to build them.
    assert all("tunedesk fewshot-index" in payload[mode]["error"] for mode in ("fewshot", "fewshot+rag"))
    table = run(full_home, "compare", QUESTION)
    assert table.exit_code == 0 and all(mode in table.stdout for mode in MODES)


def test_compare_without_adapters_reports_the_tuned_modes_and_runs_the_rest(bare_home):
    result = run(bare_home, "compare", QUESTION, "--json")
    payload = json.loads(result.stdout)
    assert "tunedesk train" in payload["tuned"]["error"] and "tunedesk ingest" in payload["rag"]["error"]
    assert payload["base"]["mode"] == "base" and payload["base"]["completion_tokens"] > 0


@pytest.mark.slow  # loads the embedding model and the tiny LLM in several commands
def test_chat_keeps_history_switches_modes_and_saves_the_conversation(full_home, env):
    script = f"{QUESTION}\n/sources\n/mode base\nand if it was opened?\n/mode sideways\n/quit\n"
    result = run(full_home, "chat", input=script)
    assert result.exit_code == 0, result.output
    assert "[1] Returns policy" in result.stdout and "mode base" in result.stdout
    assert "unknown mode 'sideways'" in result.stderr
    storage = Storage(full_home / "chat.sqlite3")
    conversation = storage.conversations()[-1]
    messages = storage.messages(conversation.id)
    assert [(m.role, m.mode) for m in messages] == [
        ("user", None),
        ("assistant", "rag"),
        ("user", None),
        ("assistant", "base"),
    ]
    assert messages[1].sources and messages[1].sources[0]["title"] == "Returns policy"
