"""`tunedesk train` and `tunedesk adapters ...` through the real CLI, and under `accelerate launch`."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from assistant.cli.app import app

FAST = {"TUNEDESK_TRAINING__BATCH_SIZE": "2", "TUNEDESK_DATA__MAX_TOKENS": "256"}


@pytest.fixture
def runner(monkeypatch) -> CliRunner:
    for key, value in FAST.items():
        monkeypatch.setenv(key, value)
    return CliRunner()


def invoke(runner: CliRunner, home: Path, *args: str):
    return runner.invoke(app, ["--home", str(home), "--device", "cpu", *args])


@pytest.mark.slow  # trains through the CLI
def test_train_then_list_merge_remove(runner, tmp_path, support_jsonl, tiny_model_dir):
    home = tmp_path / "home"
    base = ["--base", str(tiny_model_dir)]
    result = invoke(
        runner, home, "train", str(support_jsonl), "--name", "cli", *base, "--max-steps", "2", "--json"
    )
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    assert payload["metrics"]["steps"] == 2 and payload["adapter"] == str(home / "adapters" / "cli")
    assert set(payload["metrics"]["perplexity"]) == {"validation", "general_text"}

    again = invoke(runner, home, "train", str(support_jsonl), "--name", "cli", *base, "--max-steps", "2")
    assert again.exit_code == 1
    assert "already exists; pass --force" in again.output

    listed = invoke(runner, home, "adapters", "list", "--json")
    assert [item["name"] for item in json.loads(listed.stdout)] == ["cli"]
    assert "validation perplexity" in invoke(runner, home, "adapters", "list").stdout

    merged = invoke(runner, home, "adapters", "merge", "cli", "--out", str(tmp_path / "merged"))
    assert merged.exit_code == 0, merged.output
    assert (tmp_path / "merged" / "model.safetensors").is_file()

    assert invoke(runner, home, "adapters", "remove", "cli").exit_code == 0
    assert json.loads(invoke(runner, home, "adapters", "list", "--json").stdout) == []


@pytest.mark.slow  # trains through the CLI
def test_human_output_reports_perplexity(runner, tmp_path, support_jsonl, tiny_model_dir):
    result = invoke(
        runner,
        tmp_path,
        "train",
        str(support_jsonl),
        "--name",
        "h",
        "--base",
        str(tiny_model_dir),
        "--max-steps",
        "1",
    )
    assert result.exit_code == 0, result.output
    assert "perplexity on validation conversations:" in result.stdout
    assert "perplexity on general text:" in result.stdout


@pytest.mark.slow  # trains through the CLI
def test_transcripts_like_evaluation_questions_are_left_out_and_counted(
    runner, tmp_path, support_jsonl, tiny_model_dir, monkeypatch
):
    first = json.loads(support_jsonl.read_text(encoding="utf-8").splitlines()[0])
    question = next(m["content"] for m in first["messages"] if m["role"] == "user")
    questions = tmp_path / "questions.jsonl"
    questions.write_text(json.dumps({"question": question}) + "\n", encoding="utf-8")
    monkeypatch.setenv("TUNEDESK_DATA__EVAL_QUESTIONS", str(questions))
    base = ["--base", str(tiny_model_dir), "--max-steps", "1"]

    result = invoke(runner, tmp_path / "home", "train", str(support_jsonl), "--name", "e", *base)

    assert result.exit_code == 0, result.output
    counted = re.search(
        r"left out of training: (\d+) conversations resembling evaluation questions", result.stdout
    )
    assert counted is not None and int(counted.group(1)) >= 1
    # The adapter folder's cleaning report names them, so the evaluation can trust the split.
    report = json.loads((tmp_path / "home" / "adapters" / "e" / "cleaning_report.json").read_text())
    assert report["dropped"]["eval_leak"]["count"] == int(counted.group(1))
    assert report["eval_questions"] == 1


def test_clear_errors(runner, tmp_path, tiny_model_dir):
    missing = invoke(runner, tmp_path, "train", str(tmp_path / "nowhere.jsonl"), "--name", "x")
    assert missing.exit_code == 2 and "no such file or folder" in missing.output

    bad_lr = invoke(runner, tmp_path, "train", str(tmp_path), "--name", "x", "--lr", "-1")
    assert bad_lr.exit_code == 2 and "training.learning_rate" in bad_lr.output

    unknown = invoke(runner, tmp_path, "adapters", "remove", "ghost")
    assert unknown.exit_code == 1 and "unknown adapter 'ghost'" in unknown.output

    empty = tmp_path / "empty.jsonl"
    empty.write_text("")
    no_data = invoke(runner, tmp_path, "train", str(empty), "--name", "x", "--base", str(tiny_model_dir))
    assert no_data.exit_code == 1 and "no usable training conversations" in no_data.output


@pytest.mark.slow
def test_runs_under_accelerate_launch(tmp_path, support_jsonl, tiny_model_dir):
    scripts = Path(sys.executable).parent
    launcher, tunedesk = scripts / "accelerate", scripts / "tunedesk"
    if not launcher.is_file() or not tunedesk.is_file():
        pytest.skip("accelerate's launcher or the installed tunedesk script is missing (run `make install`)")
    command = [
        str(launcher), "launch", "--num_processes", "1", "--num_machines", "1", "--cpu",
        "--mixed_precision", "no", "--dynamo_backend", "no",
        str(tunedesk), "--home", str(tmp_path), "train", str(support_jsonl),
        "--name", "launched", "--base", str(tiny_model_dir), "--max-steps", "2", "--json",
    ]  # fmt: skip
    env = {**os.environ, **FAST, "HF_HUB_OFFLINE": "1"}
    done = subprocess.run(command, capture_output=True, text=True, env=env, timeout=300, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    assert json.loads(done.stdout[done.stdout.index("{") :])["metrics"]["steps"] == 2
    assert (tmp_path / "adapters" / "launched" / "adapter_model.safetensors").is_file()
