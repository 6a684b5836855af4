"""`tunedesk eval` end to end on three questions: tiny model, trained tiny adapter, real MiniLM retrieval."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from assistant.answer import CORE_MODES as MODES
from assistant.cli.app import app


@pytest.fixture()
def tiny_env(monkeypatch, tiny_model_dir):
    """The settings of `make_settings`, given the way a user would: environment variables."""
    for key, value in {
        "TUNEDESK_DEVICE": "cpu",
        "TUNEDESK_MODEL__BASE": str(tiny_model_dir),
        "TUNEDESK_GENERATION__MAX_NEW_TOKENS": "8",
        "TUNEDESK_GENERATION__TEMPERATURE": "0.7",  # the evaluation must force greedy decoding anyway
        "TUNEDESK_ASSISTANT__MIN_SCORE": "0.0",
        "TUNEDESK_DATA__VALIDATION_FRACTION": "0.25",
        "TUNEDESK_DATA__MAX_TOKENS": "256",
    }.items():
        monkeypatch.setenv(key, value)


@pytest.mark.slow
def test_eval_runs_four_modes_writes_the_run_and_is_deterministic(
    tiny_env, eval_home, questions_file, transcripts, tmp_path
):
    runner = CliRunner()
    args = [
        "--home",
        str(eval_home),
        "eval",
        str(questions_file),
        "--transcripts",
        str(transcripts),
        "--json",
    ]
    first = runner.invoke(app, [*args, "--out", str(tmp_path / "one")])
    assert first.exit_code == 0, first.output
    metrics = json.loads(first.stdout)
    assert list(metrics) == list(MODES)
    for mode in MODES:
        assert 0.0 <= metrics[mode]["keyword_accuracy"] <= 1.0
        assert metrics[mode]["answered"] == 3 and metrics[mode]["errors"] == 0
    # Real embeddings over three documents: both answerable questions find their document first.
    assert metrics["rag"]["hit@1"] == 1.0 and metrics["rag"]["mrr"] == 1.0 and "hit@1" not in metrics["base"]
    # The adapter was trained on these transcripts: its held-out perplexity is below the base model's.
    assert metrics["tuned"]["perplexity_transcripts"] < metrics["base"]["perplexity_transcripts"]

    folder = tmp_path / "one"
    results = json.loads((folder / "results.json").read_text())
    assert results["setup"]["temperature"] == 0.0 and results["setup"]["adapter"] == "support"
    assert results["model"]["transcripts"]["split"].startswith("the adapter's validation split")
    # Re-measured on the reproduced split, perplexity equals what training recorded for the same split.
    recorded = json.loads((eval_home / "adapters" / "support" / "metrics.json").read_text())["perplexity"]
    assert results["model"]["transcripts"]["base"] == pytest.approx(
        recorded["validation"]["before"], rel=1e-3
    )
    assert results["model"]["transcripts"]["tuned"] == pytest.approx(
        recorded["validation"]["after"], rel=1e-3
    )
    assert results["model"]["general_text"]["tuned"] == pytest.approx(
        recorded["general_text"]["after"], rel=1e-3
    )
    assert len(results["answers"]) == 3
    assert all(set(record["modes"]) == set(MODES) for record in results["answers"])
    assert results["answers"][0]["retrieval"]["retrieved"][0].endswith("policies/returns.md")
    for name in (
        "report.md",
        "keyword_accuracy.png",
        "hit_at_1.png",
        "perplexity_transcripts.png",
        "loss_curve.png",
    ):
        assert (folder / name).is_file(), name
    assert "| keyword_accuracy |" in (folder / "report.md").read_text()

    assert results["held_out"] == {}  # nothing calibrated yet
    # A calibration on this file (threshold 0, as the settings above): the report adds its held-out part.
    held_out_ids = [record["id"] for record in results["answers"][:2]]
    calibration = {
        "threshold": 0.0,
        "questions_file": questions_file.name,
        "seed": 13,
        "held_out_ids": held_out_ids,
    }
    (eval_home / "abstention.json").write_text(json.dumps(calibration))
    second = runner.invoke(app, [*args, "--out", str(tmp_path / "two")])
    assert second.exit_code == 0, second.output
    again = json.loads((tmp_path / "two" / "results.json").read_text())
    assert again["held_out"]["questions"] == 2 and set(again["held_out"]["modes"]) == set(MODES)
    assert "## Held-out questions (2:" in (tmp_path / "two" / "report.md").read_text()
    answers = [[record["modes"][mode]["answer"] for mode in MODES] for record in results["answers"]]
    assert answers == [[record["modes"][mode]["answer"] for mode in MODES] for record in again["answers"]]

    compared = runner.invoke(app, ["eval", "--compare", str(folder), str(tmp_path / "two")])
    assert compared.exit_code == 0, compared.output
    for mode in MODES:
        assert f"{mode}: 0 answers better, 0 worse" in compared.stdout


def test_eval_refuses_bad_invocations_with_one_line(tmp_path, questions_file):
    runner = CliRunner()
    missing = runner.invoke(app, ["--home", str(tmp_path), "eval", str(tmp_path / "nope.jsonl")])
    assert missing.exit_code == 2 and "QUESTIONS: no such file" in missing.stderr
    mode = runner.invoke(app, ["--home", str(tmp_path), "eval", str(questions_file), "--modes", "base,magic"])
    assert mode.exit_code == 2 and "--modes magic" in mode.stderr
    tuned = runner.invoke(app, ["--home", str(tmp_path), "eval", str(questions_file), "--modes", "tuned"])
    assert tuned.exit_code == 1 and "needs a fine-tuned adapter" in tuned.stderr
    compare = runner.invoke(app, ["eval", "--compare", str(tmp_path), str(tmp_path)])
    assert compare.exit_code == 1 and "results.json" in compare.stderr
    assert all(len(result.stderr.strip().splitlines()) == 1 for result in (missing, mode, tuned, compare))


@pytest.mark.slow
def test_eval_compares_fewshot_with_rag_and_tuned_and_never_shows_an_evaluated_question(
    tiny_env, eval_home, questions_file, transcripts, tmp_path
):
    import shutil

    from assistant.builders import build_embedder
    from assistant.fewshot_store import ExampleStore
    from core.settings import load_settings
    from tests.evaluation.conftest import QUESTIONS

    home = tmp_path / "home"
    shutil.copytree(eval_home, home)
    # One of the evaluated questions, planted in the transcripts with one word added.
    planted = tmp_path / "planted.jsonl"
    turn = QUESTIONS[1]["question"].replace("?", " please?")
    messages = [{"role": "user", "content": turn}, {"role": "assistant", "content": "PLANTED reply"}]
    planted.write_text(json.dumps({"messages": messages}) + "\n", encoding="utf-8")
    runner = CliRunner()
    built = runner.invoke(app, ["--home", str(home), "fewshot-index", str(transcripts), str(planted)])
    assert built.exit_code == 0, built.output
    assert built.stdout.startswith("stored 13 example exchanges")
    # Unguarded, the planted exchange is the nearest example to that question.
    store = ExampleStore.open(
        home / "fewshot", build_embedder(load_settings()), held_out_questions=[], leak_threshold=0.5
    )
    assert store.pick(QUESTIONS[1]["question"], 1)[0].agent == "PLANTED reply"

    modes = ["rag", "tuned", "fewshot", "fewshot+rag"]
    args = ["--home", str(home), "eval", str(questions_file), "--modes", ",".join(modes), "--json"]
    result = runner.invoke(app, [*args, "--out", str(tmp_path / "run")])
    assert result.exit_code == 0, result.output
    metrics = json.loads(result.stdout)
    assert list(metrics) == modes
    assert all(metrics[mode]["answered"] == 3 for mode in modes)
    # The examples cost prompt tokens: fewshot+rag sends rag's prompt plus the examples.
    assert metrics["fewshot+rag"]["prompt_tokens"] > metrics["rag"]["prompt_tokens"]
    assert metrics["fewshot"]["prompt_tokens"] > 0 and metrics["fewshot"]["latency_ms"] > 0
    results = json.loads((tmp_path / "run" / "results.json").read_text())
    shown = [
        example
        for record in results["answers"]
        for mode in ("fewshot", "fewshot+rag")
        for example in record["modes"][mode]["examples"]
    ]
    assert shown and not any(example["agent"] == "PLANTED reply" for example in shown)
    report = (tmp_path / "run" / "report.md").read_text()
    assert "## Prompting vs fine-tuning" in report and "| prompt_tokens |" in report
    assert results["setup"]["fewshot_k"] == 3
