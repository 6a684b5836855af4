"""Report generation and run comparison from a fixed result set: the files exist and hold the numbers."""

from __future__ import annotations

import json
import math

from assistant.evaluation.compare import compare_runs
from assistant.evaluation.metrics import corpus_bleu
from assistant.evaluation.report import read_results, write_run
from assistant.evaluation.summary import summarise_by_kind, summarise_modes


def answer(text: str, *, keyword: float | None, abstained: bool = False, latency: float = 100.0, cites=None):
    return {
        "answer": text,
        "sources": [],
        "abstained": abstained,
        "completion_tokens": len(text.split()),
        "timings": {"total_ms": latency, "tokens_per_s": 10.0},
        "scores": {
            "keyword_accuracy": keyword,
            "token_f1": None if keyword is None else keyword / 2,
            "rouge_l": None if keyword is None else keyword / 4,
            "bleu": None,
            "abstained": abstained,
            "cites": cites is not None,
            "citation_correctness": cites,
            "answer_words": len(text.split()),
            "prompt_tokens": 40 + 10 * len(text.split()),
            "completion_tokens": len(text.split()),
            "latency_ms": latency,
            "tokens_per_s": 10.0,
        },
    }


def fixed_records():
    retrieval = {
        "retrieved": ["/d/a.md"],
        "rank": 1,
        "hit@1": 1.0,
        "hit@3": 1.0,
        "hit@5": 1.0,
        "mrr": 1.0,
        "recall@1": 1.0,
        "recall@3": 1.0,
        "recall@5": 1.0,
    }
    missed = {
        **retrieval,
        "rank": None,
        **{k: 0.0 for k in ("hit@1", "hit@3", "hit@5", "mrr", "recall@1", "recall@3", "recall@5")},
    }
    return [
        {
            "id": "q:1",
            "kind": "doc",
            "question": "Q1",
            "reference": "thirty days full refund",
            "keywords": ["x"],
            "sources": ["a.md"],
            "retrieval": retrieval,
            "modes": {
                "base": answer("no idea at all", keyword=0.0, latency=100.0),
                "rag": answer("thirty days full refund [1]", keyword=1.0, latency=300.0, cites=1.0),
            },
        },
        {
            "id": "q:2",
            "kind": "doc",
            "question": "Q2",
            "reference": "amber means offline",
            "keywords": ["y", "z"],
            "sources": ["b.md"],
            "retrieval": missed,
            "modes": {
                "base": answer("amber", keyword=0.5, latency=200.0),
                "rag": answer("amber means offline", keyword=0.5, latency=500.0),
            },
        },
        {
            "id": "q:3",
            "kind": "unanswerable",
            "question": "Q3",
            "reference": "sorry",
            "keywords": [],
            "sources": [],
            "retrieval": None,
            "modes": {
                "base": answer("They earn a lot.", keyword=None, latency=300.0),
                "rag": answer("I couldn't find this.", keyword=None, abstained=True, latency=50.0),
            },
        },
    ]


def fixed_results():
    records = fixed_records()
    modes = ["base", "rag"]
    return {
        "created": "2026-01-01T00:00:00+00:00",
        "setup": {"questions": "3 of 3", "adapter": "none"},
        "modes": summarise_modes(records, modes),
        "by_kind": summarise_by_kind(records, modes),
        "model": {
            "transcripts": {
                "base": 20.0,
                "tuned": 15.0,
                "relative_change": -0.25,
                "split": "the adapter's validation split",
            },
            "general_text": {"base": 30.0, "tuned": 33.0, "relative_change": 0.1},
        },
        "problems": ["q.jsonl:4: field 'kind': 'x' is not one of doc, procedure, both, unanswerable"],
        "answers": records,
    }


def test_summary_numbers_per_mode_and_kind():
    results = fixed_results()
    base, rag = results["modes"]["base"], results["modes"]["rag"]
    assert base["keyword_accuracy"] == 0.25 and rag["keyword_accuracy"] == 0.75
    assert base["latency_ms"] == 200.0 and base["latency_p95_ms"] == 300.0
    assert rag["abstention_precision"] == 1.0 and rag["abstention_recall"] == 1.0
    assert base["abstention_precision"] is None and base["abstention_recall"] == 0.0
    assert rag["citation_rate"] == 0.5 and rag["citation_correctness"] == 1.0
    # Retrieval numbers only for the retrieval mode: one of two questions found at rank 1.
    assert rag["hit@1"] == 0.5 and rag["mrr"] == 0.5 and "hit@1" not in base
    # Corpus BLEU over the answerable answers only; one matches its reference exactly, the other adds "[1]".
    assert rag["bleu"] == corpus_bleu(
        ["thirty days full refund [1]", "amber means offline"],
        ["thirty days full refund", "amber means offline"],
    )
    assert 40 < rag["bleu"] < 100
    assert results["by_kind"]["rag"]["unanswerable"]["abstention_rate"] == 1.0
    assert results["by_kind"]["base"]["doc"]["keyword_accuracy"] == 0.25


def test_run_folder_holds_report_charts_and_every_number(tmp_path):
    results = fixed_results()
    curves = {"train": [[1, 2.0], [2, 1.5]], "validation": [[2, 1.8]]}
    written = write_run(tmp_path / "run", results, loss_curves=curves)
    folder = tmp_path / "run"
    names = {path.name for path in written}
    assert {"report.md", "results.json", "keyword_accuracy.png", "hit_at_1.png", "loss_curve.png"} <= names
    assert all(
        (folder / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" for name in names if name.endswith(".png")
    )
    stored = read_results(folder)
    assert stored["modes"]["rag"]["keyword_accuracy"] == 0.75
    assert stored["answers"][0]["modes"]["rag"]["answer"] == "thirty days full refund [1]"
    assert stored["schema_version"] == 1
    report = (folder / "report.md").read_text()
    assert "| keyword_accuracy | 0.250 | 0.750 |" in report
    assert "| hit@1 | 0.500 |" in report
    assert "## Kind: unanswerable (1 questions)" in report
    assert "| transcripts | 20.0 | 15.0 | -25.0% |" in report
    assert "q.jsonl:4: field 'kind'" in report
    assert "![keyword_accuracy](keyword_accuracy.png)" in report
    # Strict JSON: no NaN anywhere.
    json.loads((folder / "results.json").read_text(), parse_constant=lambda name: math.inf / 0)


def test_compare_prints_metric_changes_and_worse_answers():
    first = fixed_results()
    records = fixed_records()
    records[0]["modes"]["rag"] = answer("no idea", keyword=0.0)
    second = {**first, "answers": records, "modes": summarise_modes(records, ["base", "rag"])}
    lines = compare_runs(first, second)
    assert "rag:" in lines
    assert any(
        line.strip().startswith("keyword_accuracy") and "0.750 ->      0.250" in line and "(-0.500)" in line
        for line in lines
    )
    assert "rag: 0 answers better, 1 worse" in lines
    assert "  worse: Q1" in lines
    assert "base: 0 answers better, 0 worse" in lines


def test_recorded_perplexity_takes_the_adapters_training_figures():
    from assistant.evaluation.model_metrics import recorded_perplexity

    metrics = {
        "perplexity": {
            "validation": {"before": 20.0, "after": 15.0},
            "general_text": {"before": 30.0, "after": 33.0},
        }
    }
    model = recorded_perplexity(metrics)
    assert model["transcripts"]["base"] == 20.0 and model["transcripts"]["tuned"] == 15.0
    assert model["transcripts"]["relative_change"] == -0.25
    assert model["general_text"]["relative_change"] == 0.1
    assert "validation split" in model["transcripts"]["split"]
    assert recorded_perplexity({}) == {}
