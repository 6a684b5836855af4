"""Writes an evaluation run folder: results.json (every number, every answer), report.md and PNG charts.

    results.json   {"modes": {mode: {metric: value}}, "by_kind": ..., "model": ..., "answers": [...], ...}
    report.md      per-mode table, prompting vs fine-tuning, per-kind breakdown, retrieval, perplexity, charts
    <metric>.png   one bar chart per metric, one bar per mode
    loss_curve.png the adapter's training and validation loss, when the adapter recorded them

Knows nothing about how the numbers were produced.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")  # files only; never open a window
import matplotlib.pyplot as plt  # noqa: E402

from assistant.evaluation.summary import RETRIEVAL_METRICS  # noqa: E402
from finetune.checkpoints import write_json_atomic  # noqa: E402
from finetune.plots import write_loss_curves  # noqa: E402

RESULTS, REPORT = "results.json", "report.md"
SCHEMA_VERSION = 1

# Metrics charted and tabled, in this order, with how to read them.
ANSWER_METRICS = {
    "keyword_accuracy": "share of required facts stated (answerable questions)",
    "keyword_accuracy_generated": "the same, in the model's own words (the quote of the top source left out)",
    "token_f1": "token overlap F1 with the reference",
    "rouge_l": "ROUGE-L F with the reference",
    "bleu": "corpus BLEU with the references (0-100)",
    "abstention_precision": "declined answers that were to unanswerable questions",
    "abstention_recall": "unanswerable questions declined",
    "unverified_rate": "answers standing with sentences flagged unverified (a figure no source holds)",
    "citation_rate": "answerable answers citing a source [n]",
    "citation_correctness": "citations pointing at an expected source",
    "reward": "rule reward: +1 cites a shown source, -1 per invented number, 0 abstains",
    "answer_words": "mean answer length, words",
    "prompt_tokens": "mean prompt length, tokens (the cost of a question)",
    "latency_ms": "mean time per answer, ms",
    "latency_p95_ms": "95th percentile time per answer, ms",
    "tokens_per_s": "decode speed, tokens/s",
}
MODEL_METRICS = {
    "perplexity_transcripts": "held-out transcripts, perplexity (lower is better)",
    "perplexity_general_text": "general English text, perplexity (lower is better)",
}
HELD_OUT_METRICS = (
    "keyword_accuracy",
    "citation_correctness",
    "abstention_recall",
    "abstention_precision",
    "abstention_rate",
)
KIND_METRICS = ("keyword_accuracy", "token_f1", "rouge_l", "abstention_rate", "latency_ms")
# The guide's "fine-tuning vs prompt engineering" question: accuracy, time and prompt cost side by side.
PROMPTING_MODES = ("fewshot", "fewshot+rag", "rag", "tuned", "tuned+rag")
PROMPTING_METRICS = ("keyword_accuracy", "token_f1", "latency_ms", "prompt_tokens")
MODE_COLOURS = ["#8c8c8c", "#4c78a8", "#f58518", "#54a24b", "#b279a2", "#e45756"]


def write_run(folder: Path, results: dict[str, Any], *, loss_curves: dict | None = None) -> list[Path]:
    """Write the run folder; returns the files written. `results` must hold "modes" and "answers"."""
    folder.mkdir(parents=True, exist_ok=True)
    results = {"schema_version": SCHEMA_VERSION, **results}
    write_json_atomic(folder / RESULTS, json_safe(results))
    written = [folder / RESULTS]
    written += write_charts(folder, results["modes"])
    if loss_curves and (loss_curves.get("train") or loss_curves.get("validation")):
        write_loss_curves(loss_curves, folder)
        written.append(folder / "loss_curve.png")
    report = folder / REPORT
    tmp = report.with_suffix(".md.tmp")
    tmp.write_text(
        render_markdown(results, [path.name for path in written if path.suffix == ".png"]), encoding="utf-8"
    )
    tmp.replace(report)
    return [report, *written]


def write_charts(folder: Path, modes: dict[str, dict[str, Any]]) -> list[Path]:
    """One bar chart per metric that at least one mode has, `<metric>.png` (`@` written as `_at_`)."""
    names = [
        name
        for name in (*ANSWER_METRICS, *RETRIEVAL_METRICS, *MODEL_METRICS)
        if any(_present(m.get(name)) for m in modes.values())
    ]
    written = []
    for name in names:
        labels = [mode for mode, values in modes.items() if _present(values.get(name))]
        values = [modes[mode][name] for mode in labels]
        figure, axes = plt.subplots(figsize=(5, 3.2), dpi=100)
        bars = axes.bar(labels, values, color=MODE_COLOURS[: len(labels)])
        axes.bar_label(bars, labels=[_fmt(value) for value in values], fontsize=8)
        axes.set_title(name)
        axes.set_ylabel(
            {**ANSWER_METRICS, **MODEL_METRICS}.get(name, "mean over questions with sources"), fontsize=7
        )
        axes.margins(y=0.15)
        figure.tight_layout()
        path = folder / f"{name.replace('@', '_at_')}.png"
        figure.savefig(path)
        plt.close(figure)
        written.append(path)
    return written


def render_markdown(results: dict[str, Any], charts: list[str]) -> str:
    modes = results["modes"]
    lines = [f"# Evaluation {results.get('created', '')}".rstrip(), ""]
    setup = results.get("setup", {})
    lines += [f"- {key.replace('_', ' ')}: {value}" for key, value in setup.items()]
    lines += ["", "## Answers by mode", ""]
    lines += _table(
        modes, [name for name in ANSWER_METRICS if any(_present(m.get(name)) for m in modes.values())]
    )
    if any(mode in modes for mode in ("fewshot", "fewshot+rag")):
        compared = {mode: modes[mode] for mode in PROMPTING_MODES if mode in modes}
        lines += ["", "## Prompting vs fine-tuning (accuracy, time, prompt cost)", ""]
        lines += _table(compared, list(PROMPTING_METRICS))
    retrieval = [name for name in RETRIEVAL_METRICS if any(_present(m.get(name)) for m in modes.values())]
    if retrieval:
        lines += ["", "## Retrieval (top chunks of the questions with expected sources)", ""]
        lines += _table({mode: values for mode, values in modes.items() if retrieval[0] in values}, retrieval)
    held_out = results.get("held_out") or {}
    if held_out.get("modes"):
        lines += [
            "",
            f"## Held-out questions ({held_out['questions']}: not used to calibrate the abstention threshold)",
            "",
        ]
        lines += _table(held_out["modes"], list(HELD_OUT_METRICS))
    for kind, by_mode in _kinds(results.get("by_kind", {})).items():
        lines += ["", f"## Kind: {kind} ({next(iter(by_mode.values()))['questions']} questions)", ""]
        lines += _table(by_mode, list(KIND_METRICS))
    model = results.get("model") or {}
    if model:
        lines += [
            "",
            "## Model perplexity (lower is better)",
            "",
            "| text | base | tuned | change |",
            "| --- | --- | --- | --- |",
        ]
        for name, values in model.items():
            if isinstance(values, dict) and "base" in values:
                change = values.get("relative_change")
                lines.append(
                    f"| {name.replace('_', ' ')} | {_fmt(values['base'])} | {_fmt(values['tuned'])} | "
                    f"{'n/a' if change is None else f'{change:+.1%}'} |"
                )
        if "transcripts" in model:
            lines += ["", f"Held-out transcripts: {model['transcripts'].get('split', '')}."]
    if charts:
        lines += ["", "## Charts", ""] + [f"![{Path(name).stem}]({name})" for name in charts]
    problems = results.get("problems") or []
    if problems:
        lines += ["", "## Skipped question lines", ""] + [f"- {problem}" for problem in problems]
    return "\n".join(lines) + "\n"


def read_results(folder: Path) -> dict[str, Any]:
    """results.json of a run folder (or the file itself); ValueError names the file when unreadable."""
    path = Path(folder)
    path = path / RESULTS if path.is_dir() else path
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise ValueError(f"{path}: not a readable evaluation results file ({error})") from None


def _table(modes: dict[str, dict[str, Any]], names: list[str]) -> list[str]:
    header = "| metric | " + " | ".join(modes) + " |"
    rule = "| --- |" + " --- |" * len(modes)
    rows = [
        f"| {name} | " + " | ".join(_fmt(values.get(name)) for values in modes.values()) + " |"
        for name in names
    ]
    return [header, rule, *rows]


def _kinds(by_kind: dict[str, dict[str, dict]]) -> dict[str, dict[str, dict]]:
    """{mode: {kind: metrics}} turned into {kind: {mode: metrics}}."""
    turned: dict[str, dict[str, dict]] = {}
    for mode, kinds in by_kind.items():
        for kind, values in kinds.items():
            turned.setdefault(kind, {})[mode] = values
    return turned


def _present(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _fmt(value: Any) -> str:
    if not _present(value):
        return "n/a"
    if isinstance(value, int) or abs(value) >= 100:
        return f"{value:.0f}"
    return f"{value:.3f}" if abs(value) < 10 else f"{value:.1f}"


def json_safe(value: Any) -> Any:
    """NaN and infinity become null: strict JSON readers reject them."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {key: json_safe(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [json_safe(item) for item in value]
    return value
