"""Finds evaluation runs under `<home>/eval/` and reads their per-mode metrics for display.

A run folder holds `results.json` (every number), `report.md` and PNG charts. Per-mode metrics are
read from a `modes` (or `metrics`) object keyed by mode, or from mode keys at the top level; nested
numbers are flattened to dotted names. Two runs' differences (assistant.evaluation.compare) become
table rows and chart data here. Knows nothing about how the numbers were computed.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from assistant.answer import MODES
from assistant.evaluation.compare import MetricChange, QuestionChange

RESULTS, REPORT = "results.json", "report.md"
# Charted by default when two runs are compared: scores between 0 and 1, so their changes share one axis.
CHANGE_CHART_METRICS = (
    "keyword_accuracy",
    "token_f1",
    "rouge_l",
    "abstention_recall",
    "citation_rate",
    "hit@5",
)


@dataclass(frozen=True)
class EvalRun:
    name: str
    folder: Path
    metrics: dict[str, dict[str, float]]  # mode -> metric -> value
    report: str  # report.md, or "" when absent
    charts: list[Path]
    error: str = ""  # why results.json could not be read


def eval_runs(root: Path) -> list[EvalRun]:
    """Every evaluation run in `root` (the home's eval folder) with a results file, newest (by folder name,
    a timestamp) first."""
    if not root.is_dir():
        return []
    folders = sorted((child for child in root.iterdir() if (child / RESULTS).is_file()), reverse=True)
    return [read_run(folder) for folder in folders]


def read_run(folder: Path) -> EvalRun:
    report_file = folder / REPORT
    report = report_file.read_text(encoding="utf-8", errors="replace") if report_file.is_file() else ""
    charts = sorted(folder.glob("*.png"))
    try:
        results = json.loads((folder / RESULTS).read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        return EvalRun(folder.name, folder, {}, report, charts, f"{folder / RESULTS}: unreadable ({error})")
    return EvalRun(folder.name, folder, mode_metrics(results), report, charts)


def mode_metrics(results: Any) -> dict[str, dict[str, float]]:
    """Numbers per mode from a results object (see the module docstring for the shapes read)."""
    if not isinstance(results, dict):
        return {}
    for key in ("modes", "metrics"):
        if isinstance(results.get(key), dict) and set(results[key]) & set(MODES):
            results = results[key]
            break
    return {mode: _numbers(results[mode]) for mode in MODES if isinstance(results.get(mode), dict)}


def metric_table(metrics: dict[str, dict[str, float]]) -> list[dict[str, object]]:
    """Rows of metric name and one column per mode, for a table."""
    names = sorted({name for values in metrics.values() for name in values})
    return [{"metric": name} | {mode: values.get(name) for mode, values in metrics.items()} for name in names]


def change_rows(changes: list[MetricChange]) -> list[dict[str, object]]:
    """One row per mode and metric: run A's value, run B's, and the change."""
    return [
        {"mode": item.mode, "metric": item.metric, "A": item.before, "B": item.after, "change": item.change}
        for item in changes
    ]


def change_chart(changes: list[MetricChange], metrics: list[str]) -> dict[str, dict[str, float]]:
    """{mode: {metric: change}} for the chosen metrics: one group of bars per metric, one bar per mode."""
    chart: dict[str, dict[str, float]] = {}
    for item in changes:
        if item.metric in metrics:
            chart.setdefault(item.mode, {})[item.metric] = item.change
    return chart


def question_rows(changes: list[QuestionChange]) -> list[dict[str, object]]:
    """One row per answer whose score changed: keyword accuracy, or 1/0 for declining an unanswerable question."""
    return [
        {
            "mode": item.mode,
            "question": item.question,
            "kind": item.kind,
            "A": item.before,
            "B": item.after,
            "changed": "better" if item.better else "worse",
        }
        for item in changes
    ]


def _numbers(values: dict, prefix: str = "") -> dict[str, float]:
    flat: dict[str, float] = {}
    for key, value in values.items():
        name = f"{prefix}{key}"
        if isinstance(value, bool):
            continue
        if isinstance(value, int | float) and math.isfinite(value):
            flat[name] = float(value)
        elif isinstance(value, dict):
            flat.update(_numbers(value, f"{name}."))
    return flat
