"""Writes the training-methods comparison: `methods.json` (every number), `methods.md` (a table) and
`methods.png` (a chart), all atomically. Knows nothing about how the numbers were measured."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")  # files only; never open a window
import matplotlib.pyplot as plt  # noqa: E402

from finetune.checkpoints import write_json_atomic  # noqa: E402
from ingest.atomic import write_atomically, write_text_atomically  # noqa: E402

JSON_NAME, TABLE_NAME, CHART_NAME = "methods.json", "methods.md", "methods.png"
# (title, row key, log scale) of each panel of the chart.
PANELS = (
    ("trainable parameters", "trainable_params", True),
    ("weights on disk (MiB)", "weights_mb", True),
    ("peak memory (MiB)", "peak_memory_mb", False),
    ("training tokens/s", "tokens_per_s", False),
    ("held-out perplexity after", "validation_after", False),
    ("general-text perplexity rise (%)", "general_rise_percent", False),
)


def write_methods_report(folder: Path, setup: dict[str, Any], rows: list[dict[str, Any]]) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    write_json_atomic(folder / JSON_NAME, {"setup": setup, "methods": rows})
    write_text_atomically(folder / TABLE_NAME, methods_markdown(setup, rows))
    write_atomically(folder / CHART_NAME, lambda path: _chart(rows, path))


def methods_markdown(setup: dict[str, Any], rows: list[dict[str, Any]]) -> str:
    memory = next((row["memory_kind"] for row in rows if "memory_kind" in row), "rss")
    lines = [
        f"# Training methods side by side ({setup['created']})",
        "",
        f"Base model {setup['base_model']}, data {', '.join(setup['data'])}; every method with the same "
        f"data, step budget (max_steps {setup['max_steps']}, epochs {setup['epochs']}), learning rate "
        f"{setup['learning_rate']}, batch {setup['batch_size']} and seed {setup['seed']}. Perplexities are "
        f"before -> after; a general-text rise over {setup['max_forgetting']:.0%} marks forgetting. Peak "
        f"memory is the training process's {'RSS' if memory == 'rss' else 'CUDA allocation'}.",
        "",
        "| method | trainable params | share of base | weights MiB | peak memory MiB | tokens/s | train s "
        "| held-out ppl | general-text ppl | general rise | probe accuracy | forgetting |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for row in rows:
        if "error" in row:
            lines.append(f"| {row['method']} | failed: {row['error']} |" + " |" * 10)
            continue
        lines.append(
            f"| {row['method']} | {row['trainable_params']:,} | {_percent(row['trainable_share'], 3)} "
            f"| {row['weights_mb']:.2f} | {row['peak_memory_mb']:.0f} | {row['tokens_per_s']:.0f} "
            f"| {row['train_s']:.1f} | {_change(row['validation_ppl'])} | {_change(row['general_ppl'])} "
            f"| {_percent(row['general_rise'], 1, signed=True)} "
            f"| {_percent(row['probe_accuracy']['before'], 0)} -> {_percent(row['probe_accuracy']['after'], 0)} "
            f"| {'FORGETTING' if row['forgetting'] else 'no'} |"
        )
    answered = [row for row in rows if isinstance(row.get("answers"), dict)]
    if answered:
        names = [key for key in answered[0]["answers"] if key != "error"]
        lines += [
            "",
            f"## Answers of the tuned+rag mode ({setup['eval_questions']})",
            "",
            "| method | " + " | ".join(name.replace("_", " ") for name in names) + " |",
            "|---|" + "---:|" * len(names),
        ]
        for row in answered:
            answers = row["answers"]
            if "error" in answers:
                lines.append(f"| {row['method']} | failed: {answers['error']} |" + " |" * (len(names) - 1))
                continue
            lines.append(
                f"| {row['method']} | " + " | ".join(_number(answers[name]) for name in names) + " |"
            )
    return "\n".join(lines) + "\n"


def _chart(rows: list[dict[str, Any]], path: Path) -> None:
    done = [row for row in rows if "error" not in row]
    names = [row["method"] for row in done]
    values = {
        "validation_after": [row["validation_ppl"]["after"] for row in done],
        "general_rise_percent": [
            None if row["general_rise"] is None else 100 * row["general_rise"] for row in done
        ],
    }
    figure, axes = plt.subplots(2, 3, figsize=(13, 7), dpi=100)
    for axis, (title, key, log) in zip(axes.flat, PANELS, strict=True):
        heights = values.get(key) or [row.get(key) for row in done]
        axis.bar(names, [0 if height is None else height for height in heights], color="#4c72b0")
        axis.set_title(title, fontsize=10)
        axis.tick_params(axis="x", labelrotation=30, labelsize=8)
        if log and any(heights):
            axis.set_yscale("log")
    figure.suptitle("Training methods on the same data, budget and seed")
    figure.tight_layout()
    figure.savefig(path, format="png")
    plt.close(figure)


def _change(pair: dict[str, float | None]) -> str:
    return f"{_number(pair['before'])} -> {_number(pair['after'])}"


def _number(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.2f}" if isinstance(value, float) else str(value)


def _percent(value: float | None, digits: int, *, signed: bool = False) -> str:
    if value is None:
        return "n/a"
    return f"{value:+.{digits}%}" if signed else f"{value:.{digits}%}"
