"""The Evaluation page: a clear empty state, then an evaluation run's per-mode metrics and the vote results."""

from __future__ import annotations

import json

from ui.eval_reports import eval_runs, metric_table, mode_metrics

RESULTS = {
    "modes": {
        "base": {"keyword_accuracy": 0.21, "rouge_l": 0.18, "latency": {"mean_ms": 2100.0}, "n": 10},
        "tuned+rag": {"keyword_accuracy": 0.64, "rouge_l": 0.41, "latency": {"mean_ms": 2600.0}, "n": 10},
    },
    "questions": [{"question": "q", "answers": {}}],
}


def test_mode_metrics_reads_the_shapes_and_flattens_numbers():
    assert mode_metrics(RESULTS)["base"] == {
        "keyword_accuracy": 0.21,
        "rouge_l": 0.18,
        "latency.mean_ms": 2100.0,
        "n": 10.0,
    }
    assert mode_metrics({"rag": {"hit@1": 0.5, "note": "text", "ok": True, "bad": float("nan")}}) == {
        "rag": {"hit@1": 0.5}
    }
    assert mode_metrics([1, 2]) == {}
    rows = metric_table(mode_metrics(RESULTS))
    assert rows[0] == {"metric": "keyword_accuracy", "base": 0.21, "tuned+rag": 0.64}


def test_empty_state(use_empty_home, app):
    page = app("evaluation")
    assert "No evaluation reports yet" in page.info[0].value
    assert page.caption[-1].value.startswith("No votes yet")


def test_shows_the_newest_run(use_empty_home, app):
    for name, accuracy in (("20260101-000000", 0.1), ("20260102-000000", 0.64)):
        folder = use_empty_home / "eval" / name
        folder.mkdir(parents=True)
        results = json.loads(json.dumps(RESULTS))
        results["modes"]["tuned+rag"]["keyword_accuracy"] = accuracy
        (folder / "results.json").write_text(json.dumps(results), encoding="utf-8")
        (folder / "report.md").write_text(
            "# Report\n\n![chart](https://evil.example/x.png)\n", encoding="utf-8"
        )
    (use_empty_home / "eval" / "broken").mkdir()
    assert [run.name for run in eval_runs(use_empty_home)] == ["20260102-000000", "20260101-000000"]

    page = app("evaluation")
    assert page.selectbox[0].value == "20260102-000000"
    assert page.selectbox[1].value == "keyword_accuracy"
    table = page.dataframe[0].value.set_index("metric")
    assert table.loc["keyword_accuracy", "tuned+rag"] == 0.64
    assert "!\\[chart]" in page.expander[0].markdown[0].value  # report images are not loaded


def methods_row(method: str, trainable: int, rise: float) -> dict:
    return {
        "method": method,
        "trainable_params": trainable,
        "trainable_share": trainable / 134_515_008,
        "weights_mb": trainable * 4 / 2**20,
        "peak_memory_mb": 1800.0,
        "memory_kind": "rss",
        "tokens_per_s": 120.0,
        "train_s": 30.0,
        "steps": 4,
        "validation_ppl": {"before": 9.0, "after": 6.0},
        "general_ppl": {"before": 20.0, "after": 20.0 * (1 + rise)},
        "general_rise": rise,
        "probe_accuracy": {"before": 0.8, "after": 0.75},
        "forgetting": rise > 0.1,
    }


def test_shows_the_newest_methods_comparison(use_empty_home, app):
    from assistant.evaluation.method_table import write_methods_report

    setup = {
        "created": "2026-01-02T00:00:00+00:00",
        "base_model": "SmolLM2-135M-Instruct",
        "data": ["transcripts"],
        "max_steps": 4,
        "epochs": 3.0,
        "learning_rate": 2e-4,
        "batch_size": 8,
        "seed": 42,
        "max_forgetting": 0.1,
        "eval_questions": None,
    }
    older = [methods_row("lora", 1000, 0.01)]
    newer = [methods_row("lora", 1_638_400, 0.02), methods_row("full", 134_515_008, 0.25)]
    write_methods_report(use_empty_home / "eval" / "methods-20260101-000000", setup, older)
    write_methods_report(use_empty_home / "eval" / "methods-20260102-000000", setup, newer)
    # A methods comparison is not an evaluation run of the four modes.
    assert eval_runs(use_empty_home) == []

    page = app("evaluation")
    table = next(block.value for block in page.markdown if "| method |" in block.value)
    assert "| lora | 1,638,400 |" in table and "| full | 134,515,008 | 100.000% |" in table
    assert "+25.0% | 80% -> 75% | FORGETTING |" in table
    assert any("methods-20260102-000000" in caption.value for caption in page.caption)
