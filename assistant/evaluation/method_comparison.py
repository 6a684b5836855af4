"""`tunedesk methods`: trains every chosen method on the same data, step budget and seed, and measures each.

    tunedesk methods data/transcripts --methods lora,dora,ia3 --max-steps 40 [--eval data/eval/questions.jsonl]

Each method trains in a process of its own (finetune/method_worker.py), so its peak memory is its own.
Per method: trainable parameters (counted in the saved weights), weights on disk, peak memory, tokens/s,
training time, held-out and general-text perplexity before/after, the general-knowledge probe, the
forgetting verdict and, with evaluation questions, the answer metrics of the tuned+rag mode. Training
uses the plain transcripts (no retrieved context), so every method sees exactly the same samples.
The adapters are named `methods-<timestamp>-<method>` and removed at the end unless kept.
This is a builder: it reads the settings; the table and chart are written by `method_table`.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from assistant.evaluation.method_table import write_methods_report
from core.settings import Settings, override

ANSWER_METRICS = ("keyword_accuracy", "token_f1", "rouge_l", "citation_rate", "abstention_rate", "latency_ms")


@dataclass(frozen=True)
class MethodsResult:
    folder: Path
    rows: list[dict[str, Any]]

    @property
    def failed(self) -> list[str]:
        return [row["method"] for row in self.rows if row.get("error")]


def compare_methods(
    settings: Settings,
    data_paths: Sequence[Path],
    method_names: Sequence[str],
    *,
    eval_questions: Path | None = None,
    eval_limit: int | None = None,
    keep_adapters: bool = False,
    out: Path | None = None,
) -> MethodsResult:
    """Train and measure each method; write `<home>/eval/methods-<UTC timestamp>/` (or `out`)."""
    created = datetime.now(UTC)
    stamp = created.strftime("%Y%m%d-%H%M%S")
    folder = out or settings.layout.eval / f"methods-{stamp}"
    setup = {
        "created": created.isoformat(timespec="seconds"),
        "base_model": settings.model.base,
        "data": [Path(path).name for path in data_paths],
        "max_steps": settings.training.max_steps,
        "epochs": settings.training.epochs,
        "learning_rate": settings.training.learning_rate,
        "batch_size": settings.training.batch_size,
        "seed": settings.training.seed,
        "max_forgetting": settings.training.max_forgetting,
        "eval_questions": eval_questions.name if eval_questions else None,
        "adapters_kept": keep_adapters,
    }
    rows = []
    for position, method in enumerate(method_names, start=1):
        print(f"[{position}/{len(method_names)}] training method {method}", file=sys.stderr, flush=True)
        name = f"methods-{stamp}-{method}"
        # Plain LoRA stays plain: DoRA is a method of its own in this comparison.
        method_settings = override(settings, **{"training.method": method, "training.use_dora": False})
        row = {"method": method, "adapter": name, **_train_in_own_process(method_settings, data_paths, name)}
        if "error" not in row:
            row.update(_weights(settings.adapters_dir / name))
            if eval_questions is not None and method != "full":  # the tuned modes serve adapters only
                answers_dir = folder / f"answers-{method}"
                row["answers"] = _answer_metrics(
                    method_settings, name, eval_questions, eval_limit, answers_dir
                )
            if not keep_adapters:
                _remove(settings.adapters_dir, name)
        else:
            print(f"error: method {method}: {row['error']}", file=sys.stderr)
        rows.append(row)
        # Rewritten after every method, so an interrupted comparison keeps the methods it finished.
        write_methods_report(folder, setup, rows)
    return MethodsResult(folder, rows)


def _train_in_own_process(settings: Settings, data_paths: Sequence[Path], name: str) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="tunedesk-method-") as scratch:
        spec_file, out_file = Path(scratch) / "spec.json", Path(scratch) / "result.json"
        spec = {
            "settings": settings.model_dump(mode="json"),
            "data": [str(Path(path).resolve()) for path in data_paths],
            "name": name,
            "out": str(out_file),
        }
        spec_file.write_text(json.dumps(spec), encoding="utf-8")
        # The child's progress bar and notes go straight to this terminal.
        done = subprocess.run([sys.executable, "-m", "finetune.method_worker", str(spec_file)], check=False)
        try:
            outcome = json.loads(out_file.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {"error": f"the training process ended with code {done.returncode} and wrote no result"}
    if "error" in outcome:
        return {"error": outcome["error"]}
    return _row(outcome)


def _row(outcome: dict[str, Any]) -> dict[str, Any]:
    metrics = outcome["metrics"]
    perplexity = metrics["perplexity"]
    forgetting = metrics["forgetting"]
    return {
        "peak_memory_mb": outcome["peak_memory_mb"],
        "memory_kind": outcome["memory_kind"],
        "tokens_per_s": round(metrics["tokens_per_second"], 1),
        "train_s": round(metrics["runtime_s"], 2),
        "wall_s": outcome["wall_s"],
        "steps": metrics["steps"],
        "validation_ppl": perplexity["validation"],
        "general_ppl": perplexity["general_text"],
        "general_rise": forgetting["general_text_rise"],
        "probe_accuracy": {key: value["accuracy"] for key, value in forgetting["probe"].items()},
        "forgetting": forgetting["marked"],
    }


def _weights(folder: Path) -> dict[str, Any]:
    """Trainable parameters (what the folder's weights file holds: a peft adapter saves only its trained
    tensors, a full fine-tune every one) and that file's size, against the base model's parameters."""
    from finetune.adapters import read_info

    full = read_info(folder).method == "full"
    weights = folder / ("model.safetensors" if full else "adapter_model.safetensors")
    base = (
        folder
        if full
        else Path(
            json.loads((folder / "adapter_config.json").read_text(encoding="utf-8"))[
                "base_model_name_or_path"
            ]
        )
    )
    trainable, base_total = _parameters(weights), _parameters(base / "model.safetensors")
    return {
        "trainable_params": trainable,
        "trainable_share": round(trainable / base_total, 6) if base_total else None,
        "weights_mb": round(weights.stat().st_size / 2**20, 3),
    }


def _parameters(weights: Path) -> int:
    """Elements in a safetensors file, read from its header (no tensor is loaded)."""
    from math import prod

    from safetensors import safe_open

    with safe_open(str(weights), framework="pt") as tensors:
        names = tensors.keys()  # the handle itself is not iterable
        return sum(prod(tensors.get_slice(name).get_shape()) for name in names)


def _answer_metrics(
    settings: Settings, adapter: str, questions: Path, limit: int | None, out: Path
) -> dict[str, Any]:
    """The tuned+rag answer metrics with this adapter (the full evaluation run is kept in `out`)."""
    from assistant.evaluation.pipeline import evaluate

    try:
        result = evaluate(
            override(settings, **{"assistant.adapter": adapter}),
            questions,
            ["tuned+rag"],
            out=out,
            limit=limit,
        )
    except (RuntimeError, ValueError) as error:  # no knowledge base, unreadable questions, a backend failure
        print(f"error: answers of {adapter}: {error}", file=sys.stderr)
        return {"error": str(error)}
    summary = result.results["modes"]["tuned+rag"]
    return {key: summary.get(key) for key in ANSWER_METRICS}


def _remove(adapters_dir: Path, name: str) -> None:
    from finetune.adapters import remove_adapter

    remove_adapter(adapters_dir, name)
