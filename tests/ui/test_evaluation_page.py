"""The Evaluation page: a clear empty state without the machine's paths, an evaluation run's per-mode metrics,
what changed between two real runs, and the vote results."""

from __future__ import annotations

import json

import pyarrow
import pytest

from assistant.evaluation.compare import QuestionChange, metric_changes, question_changes
from assistant.evaluation.report import read_results
from tests.ui.conftest import QUESTION, tiny_env, write_adapter
from ui.eval_reports import eval_runs, metric_table, mode_metrics

UNANSWERABLE = "What salary do your support agents make?"
QUESTIONS = [
    {
        "question": QUESTION,
        "answer": "Within 30 days of delivery, for a full refund.",
        "sources": ["returns.md"],
        "keywords": ["30 days"],
        "kind": "doc",
    },
    {
        "question": UNANSWERABLE,
        "answer": "I don't have that information.",
        "sources": [],
        "keywords": [],
        "kind": "unanswerable",
    },
]
OLDER, NEWER = "20260101-000000", "20260102-000000"

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


def test_empty_state_names_the_home_without_its_path(use_empty_home, app):
    page = app("evaluation")
    assert page.info[0].value.startswith("No evaluation reports yet under <home>/eval.")
    assert str(use_empty_home.parent) not in page.info[0].value
    assert page.caption[0].value == "Comparing needs two evaluation runs with reports."
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
    assert [run.name for run in eval_runs(use_empty_home / "eval")] == ["20260102-000000", "20260101-000000"]

    page = app("evaluation")
    assert page.selectbox[0].value == "20260102-000000"
    assert page.selectbox[1].value == "keyword_accuracy"
    table = page.dataframe[0].value.set_index("metric")
    assert table.loc["keyword_accuracy", "tuned+rag"] == 0.64
    assert "!\\[chart]" in page.expander[0].markdown[0].value  # report images are not loaded


def write_plain_adapter(adapters_dir, model_dir, name: str) -> None:
    """An adapter whose LoRA B matrices are zero: it answers exactly as the base model does."""
    from safetensors.torch import load_file, save_file

    weights_file = write_adapter(adapters_dir, model_dir, name) / "adapter_model.safetensors"
    weights = load_file(weights_file)
    save_file(
        {key: value.zero_() if "lora_B" in key else value for key, value in weights.items()}, weights_file
    )


@pytest.fixture(scope="module")
def two_runs(tiny_model_dir, tmp_path_factory):
    """A home with two real evaluation runs of base and tuned on the same questions, written by the
    evaluation code itself: A with an adapter that changes nothing (the tiny base model's empty answers
    become abstentions), B with a random one (it answers everything, with nonsense)."""
    from assistant.evaluation.pipeline import evaluate
    from core.settings import Settings

    home = tmp_path_factory.mktemp("compared")
    questions = home / "questions.jsonl"
    questions.write_text("".join(json.dumps(q) + "\n" for q in QUESTIONS), encoding="utf-8")
    write_plain_adapter(home / "adapters", tiny_model_dir, "plain")
    write_adapter(home / "adapters", tiny_model_dir, "random")
    for name, adapter in ((OLDER, "plain"), (NEWER, "random")):
        settings = Settings(
            home=home,
            device="cpu",
            model={"base": str(tiny_model_dir)},
            generation={"max_new_tokens": 8},
            assistant={"adapter": adapter},
        )
        evaluate(settings, questions, ["base", "tuned"], out=home / "eval" / name, progress=False)
    return home


def test_changes_between_two_real_runs(two_runs):
    before, after = read_results(two_runs / "eval" / OLDER), read_results(two_runs / "eval" / NEWER)
    assert (before["setup"]["adapter"], after["setup"]["adapter"]) == ("plain", "random")
    changes = {(item.mode, item.metric): item for item in metric_changes(before, after)}
    # The random adapter stopped declining; base answered the same, greedily, both times.
    assert (changes["tuned", "abstention_recall"].before, changes["tuned", "abstention_recall"].after) == (
        1.0,
        0.0,
    )
    assert ("tuned", "abstention_precision") not in changes  # B declined nothing: no precision to compare
    assert changes["tuned", "answer_words"].change != 0.0 and changes["base", "answer_words"].change == 0.0
    assert changes["base", "keyword_accuracy"].change == 0.0
    assert question_changes(before, after) == [
        QuestionChange("tuned", UNANSWERABLE, "unanswerable", 1.0, 0.0)
    ]


def test_compare_tab_tables_and_charts_the_changes(two_runs, tiny_model_dir, monkeypatch, app):
    for key, value in tiny_env(two_runs, tiny_model_dir).items():
        monkeypatch.setenv(key, value)
    page = app("evaluation")
    compare = page.tabs[2]
    assert [box.value for box in compare.selectbox] == [OLDER, NEWER]
    table, answers = (frame.value for frame in compare.dataframe)
    row = table[(table["mode"] == "tuned") & (table["metric"] == "abstention_recall")].iloc[0]
    assert (row["A"], row["B"], row["change"]) == (1.0, 0.0, -1.0)
    assert set(table["mode"]) == {"base", "tuned"}
    assert answers.to_dict("records") == [
        {
            "mode": "tuned",
            "question": UNANSWERABLE,
            "kind": "unanswerable",
            "A": 1.0,
            "B": 0.0,
            "changed": "worse",
        }
    ]
    assert "0 better, 1 worse" in compare.markdown[0].value
    assert compare.multiselect[0].value == [
        "keyword_accuracy",
        "token_f1",
        "rouge_l",
        "abstention_recall",
        "citation_rate",
    ]
    [chart] = compare.get("vega_lite_chart")  # the grouped bar chart of the changes: one bar per mode
    spec = json.loads(chart.proto.spec)
    assert spec["encoding"]["y"]["stack"] is False and spec["encoding"]["xOffset"]["field"].startswith(
        "color"
    )
    bars = pyarrow.ipc.open_stream(chart.proto.datasets[0].data.data).read_all().to_pandas()
    bars.columns = [column.split(" --")[0] for column in bars.columns]
    assert bars[(bars["index"] == "abstention_recall") & (bars["color"] == "tuned")]["value"].tolist() == [
        -1.0
    ]
    assert len(bars) == 2 * 5  # two modes, five metrics

    compare.selectbox[0].set_value(NEWER).run()
    assert page.tabs[2].warning[0].value == "Choose two different runs."


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
