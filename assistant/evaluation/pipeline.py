"""One evaluation run from settings: load questions, answer them in each mode, measure perplexity, write the folder.

    tunedesk eval data/eval/questions.jsonl --limit 40 --transcripts data/transcripts

This is the builder of the evaluation: the only place here that reads settings. Answers are greedy
(temperature 0 whatever the settings say), so the same inputs give the same run.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from assistant.answer import Mode, uses_adapter, uses_examples, uses_retrieval
from assistant.builders import (
    abstention_thresholds,
    build_assistant,
    build_generator,
    default_adapter,
    generation_backend,
    precedent_threshold,
)
from assistant.calibration import read_calibration_record
from assistant.evaluation.questions import QuestionsError, load_questions, stratified
from assistant.evaluation.report import write_run
from assistant.evaluation.runner import AnswerProgress, run_questions
from assistant.evaluation.summary import summarise_by_kind, summarise_modes
from assistant.ranked_retrieval import RankedRetrieval
from core.settings import Settings, override
from ingest.manifest import load_manifest


@dataclass(frozen=True)
class EvalResult:
    folder: Path
    results: dict[str, Any]


def evaluate(
    settings: Settings,
    questions_file: Path,
    modes: Sequence[Mode],
    *,
    out: Path | None = None,
    limit: int | None = None,
    transcripts: Sequence[Path] = (),
    progress: bool = True,
    on_answer: AnswerProgress | None = None,
) -> EvalResult:
    """Run the questions (at most `limit`, stratified by kind) in `modes`; write `out` (default a new
    `<home>/eval/<UTC timestamp>/`). Perplexity of base vs tuned is measured on `transcripts`' held-out
    split; without them, the figures the adapter recorded when trained (same split, same function).
    `on_answer` follows the answering as `run_questions` describes."""
    settings = override(settings, **{"generation.temperature": 0.0})
    questions, problems = load_questions(questions_file)
    if not questions:
        raise QuestionsError(f"{questions_file}: no valid questions ({len(problems)} lines skipped)")
    chosen = stratified(questions, limit)
    adapter = default_adapter(settings) if any(uses_adapter(mode) for mode in modes) else None
    created = datetime.now(UTC)
    generator = build_generator(settings)
    assistant = build_assistant(
        settings,
        generator=generator,
        retrieval=any(uses_retrieval(m) for m in modes),
        held_out=[question.question for question in questions],  # never shown as a fewshot example
    )
    if assistant.examples is not None and any(uses_examples(mode) for mode in modes):
        assistant.examples.load()  # a store that cannot be opened fails the run now, not every question
    records = run_questions(assistant, chosen, modes, adapter=adapter, progress=progress, on_answer=on_answer)
    results: dict[str, Any] = {
        "created": created.isoformat(timespec="seconds"),
        "setup": _setup(settings, questions_file, len(questions), len(chosen), adapter)
        | _ranking_setup(settings, assistant.retriever),
        "modes": summarise_modes(records, modes),
        "by_kind": summarise_by_kind(records, modes),
        "held_out": _held_out(settings, questions_file, records, modes),
        "model": _model_metrics(settings, adapter, transcripts) if adapter else {},
        "problems": problems,
        "answers": records,
    }
    _add_perplexity_to_modes(results["modes"], results["model"])
    folder = out or settings.layout.eval / created.strftime("%Y%m%d-%H%M%S")
    write_run(folder, results, loss_curves=_loss_curves(settings, adapter))
    return EvalResult(folder, results)


def _held_out(
    settings: Settings, questions_file: Path, records: Sequence[dict[str, Any]], modes: Sequence[Mode]
) -> dict[str, Any]:
    """The same metrics on the questions `tunedesk calibrate` held out, when it calibrated on this file: the
    abstention threshold was picked on the other part, so only these figures measure it fairly."""
    calibration = read_calibration_record(settings.layout.calibration_file)
    if not calibration or calibration.get("questions_file") != Path(questions_file).name:
        return {}
    ids = set(calibration.get("held_out_ids") or ())
    chosen = [record for record in records if record["id"] in ids]
    if not chosen:
        return {}
    return {
        "questions": len(chosen),
        "seed": calibration.get("seed"),
        "modes": summarise_modes(chosen, modes),
    }


def _setup(
    settings: Settings, questions_file: Path, total: int, used: int, adapter: str | None
) -> dict[str, Any]:
    thresholds = abstention_thresholds(settings)
    return {
        "questions_file": Path(questions_file).name,
        "questions": f"{used} of {total}" + (" (stratified by kind)" if used < total else ""),
        "base_model": settings.model.base,
        "adapter": adapter or "none",
        "embedding_model": settings.embedding.model,
        "backend": generation_backend(settings),
        "max_new_tokens": settings.generation.max_new_tokens,
        "temperature": settings.generation.temperature,
        "repetition_penalty": settings.generation.repetition_penalty,
        "top_k": settings.assistant.top_k,
        "fewshot_k": settings.assistant.fewshot_k,
        # The calibrated ones when the home has them.
        "min_score": thresholds.score,
        "min_coverage": thresholds.coverage,
        "quote_sentences": settings.assistant.quote_sentences,
        # None: no past exchange is shown (switched off, or the home has no example store).
        "precedent_min_similarity": precedent_threshold(settings),
    }


def _ranking_setup(settings: Settings, retriever: object) -> dict[str, Any]:
    """Which index ranked the chunks: the ranking index (and its embedding model) or the knowledge base."""
    folder = settings.retrieval.ranking_index
    if folder is None or not isinstance(retriever, RankedRetrieval):
        return {"ranked_by": "knowledge base"}
    manifest = load_manifest(folder)
    return {
        "ranked_by": "ranking index"
        if retriever.ranking_in_use()
        else "knowledge base (ranking index stale)",
        "ranking_embedding_model": manifest.embedding_model if manifest else None,
    }


def _model_metrics(settings: Settings, adapter: str, transcripts: Sequence[Path]) -> dict[str, Any]:
    from assistant.evaluation.model_metrics import compare_perplexity, held_out_samples, recorded_perplexity
    from core.device import resolve_device
    from finetune.adapters import find_adapter
    from finetune.base_model import load_base_model, load_tokenizer

    info = find_adapter(settings.adapters_dir, adapter)
    if not transcripts:
        return recorded_perplexity(info.metrics)
    tokenizer = load_tokenizer(settings.model.base, settings.models_dir)
    held_out = held_out_samples(transcripts, tokenizer, info.path, settings.data)
    # A fresh copy of the base weights: the generator's copy may already carry adapters.
    model = load_base_model(settings.model.base, settings.models_dir, resolve_device(settings.device))
    return compare_perplexity(
        model,
        tokenizer,
        info.path,
        held_out,
        batch_size=settings.training.batch_size,
        max_tokens=settings.data.max_tokens,
    )


def _add_perplexity_to_modes(modes: dict[str, dict[str, Any]], model: dict[str, Any]) -> None:
    """base and tuned carry the perplexity of their model; the retrieval modes share those models."""
    for name, values in model.items():
        for mode, column in (("base", "base"), ("tuned", "tuned")):
            if mode in modes:
                modes[mode][f"perplexity_{name}"] = values[column]


def _loss_curves(settings: Settings, adapter: str | None) -> dict | None:
    if adapter is None:
        return None
    path = settings.adapters_dir / adapter / "loss_curve.json"
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
