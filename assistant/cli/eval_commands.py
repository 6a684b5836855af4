"""CLI commands: `eval` (score the answer modes, or compare two runs), `feedback export`, `tune`.

    tunedesk eval QUESTIONS.jsonl [--adapter NAME] [--modes base,rag] [--out DIR] [--limit N] [--json]
    tunedesk eval --compare RUN_A RUN_B
    tunedesk feedback export --dpo prefs.jsonl --sft liked.jsonl
    tunedesk tune DATA --trials 8 --name tuned

`eval --json` prints one object keyed by mode with that mode's metrics. The work lives in
assistant/evaluation/ and finetune/; these functions only wire settings to it.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Annotated

import typer

from assistant.answer import MODES, Mode
from assistant.cli.context import EXIT_USAGE, fail, settings_of, warn_skipped

feedback_app = typer.Typer(help="Export user feedback as training data.", no_args_is_help=True)


def register(app: typer.Typer) -> None:
    """Add these commands to the root app."""
    app.command("eval")(eval_command)
    app.add_typer(feedback_app, name="feedback")
    app.command("tune")(tune_command)


def eval_command(
    ctx: typer.Context,
    questions: Annotated[Path | None, typer.Argument(help="Evaluation questions, JSONL.")] = None,
    adapter: Annotated[
        str | None,
        typer.Option(
            "--adapter", "-a", help="Adapter for tuned modes (default: the app's choice, else the newest)."
        ),
    ] = None,
    modes: Annotated[
        list[str] | None,
        typer.Option("--modes", help="Modes to run, repeated or comma-separated (default: all available)."),
    ] = None,
    out: Annotated[
        Path | None, typer.Option("--out", help="Run folder (default <home>/eval/<timestamp>/).")
    ] = None,
    limit: Annotated[
        int | None, typer.Option("--limit", min=1, help="Use at most N questions, stratified by kind.")
    ] = None,
    max_new_tokens: Annotated[
        int | None, typer.Option("--max-new-tokens", min=1, help="Longest answer, in tokens.")
    ] = None,
    transcripts: Annotated[
        list[Path] | None,
        typer.Option("--transcripts", help="Transcripts for the held-out perplexity of base vs tuned."),
    ] = None,
    compare: Annotated[
        tuple[Path, Path] | None,
        typer.Option("--compare", help="Print what changed from run RUN_A to run RUN_B."),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the metrics per mode as JSON.")] = False,
) -> None:
    """Score answers in each mode against reference answers; write report.md, charts and results.json."""
    if compare is not None:
        _compare(*compare)
        return
    if questions is None:
        fail("QUESTIONS: give the evaluation questions file (JSONL), or --compare RUN_A RUN_B", EXIT_USAGE)
    if not questions.is_file():
        fail(f"QUESTIONS: no such file: {questions}", EXIT_USAGE)
    missing = [str(path) for path in transcripts or [] if not path.exists()]
    if missing:
        fail(f"--transcripts: no such file or folder: {', '.join(missing)}", EXIT_USAGE)
    settings = settings_of(ctx, **{"assistant.adapter": adapter, "generation.max_new_tokens": max_new_tokens})
    chosen = _modes(modes, settings)
    from assistant.evaluation.pipeline import evaluate
    from assistant.evaluation.questions import QuestionsError

    try:
        result = evaluate(
            settings,
            questions,
            chosen,
            out=out,
            limit=limit,
            transcripts=transcripts or (),
            progress=not as_json,
        )
    except (QuestionsError, RuntimeError, ValueError) as error:
        fail(str(error))
    warn_skipped(result.results["problems"])
    if as_json:
        from assistant.evaluation.report import json_safe

        typer.echo(json.dumps(json_safe(result.results["modes"]), indent=2))
        return
    _print_summary(result.results["modes"])
    typer.echo(f"report: {result.folder / 'report.md'}")


@feedback_app.command("export")
def feedback_export(
    ctx: typer.Context,
    dpo: Annotated[
        Path | None, typer.Option("--dpo", help="Write preference pairs (DPO JSONL) here.")
    ] = None,
    kto: Annotated[
        Path | None,
        typer.Option("--kto", help="Write every rated answer (KTO JSONL: prompt, completion, label) here."),
    ] = None,
    sft: Annotated[
        Path | None, typer.Option("--sft", help="Write thumbs-up answers as chat JSONL here.")
    ] = None,
) -> None:
    """Export A/B votes and thumbs as DPO pairs and KTO rows (prompts with the sources the model read),
    and liked answers as SFT conversations."""
    if dpo is None and kto is None and sft is None:
        fail("give --dpo OUT.jsonl, --kto OUT.jsonl, --sft OUT.jsonl or several", EXIT_USAGE)
    settings = settings_of(ctx)
    from assistant.builders import answer_time_prompt, open_storage
    from assistant.preferences import export_feedback
    from assistant.storage import StorageError
    from finetune.base_model import BaseModelError
    from finetune.dataset import load_counting_tokenizer

    try:
        tokenizer = load_counting_tokenizer(settings.model.base, settings.models_dir)
    except (BaseModelError, OSError, ValueError) as error:
        fail(f"--base {settings.model.base}: cannot load its tokenizer ({error})")
    try:
        counts = export_feedback(
            open_storage(settings),
            answer_time_prompt(settings, tokenizer),
            dpo=dpo,
            kto=kto,
            sft=sft,
            keep=settings.data.pii_keep,
        )
    except (StorageError, OSError) as error:
        fail(str(error))
    if dpo:
        typer.echo(
            f"{counts.pairs_from_votes + counts.pairs_from_thumbs} preference pairs -> {dpo} "
            f"({counts.pairs_from_votes} from votes, {counts.pairs_from_thumbs} from thumbs; "
            f"{counts.votes_skipped} tie/both-bad votes skipped)"
        )
    if kto:
        typer.echo(f"{counts.rated_answers} rated answers -> {kto}")
    if sft:
        typer.echo(f"{counts.sft_conversations} liked conversations -> {sft}")


def tune_command(
    ctx: typer.Context,
    data: Annotated[list[Path], typer.Argument(help="Transcript files or folders.")],
    trials: Annotated[int, typer.Option("--trials", min=1, help="Training runs to try.")] = 8,
    name: Annotated[str, typer.Option("--name", help="Name of the best adapter.")] = "tuned",
    max_steps: Annotated[
        int | None, typer.Option("--max-steps", help="Cap on optimiser steps per trial.")
    ] = None,
    force: Annotated[bool, typer.Option("--force", help="Replace an existing adapter of this name.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the trials as JSON.")] = False,
) -> None:
    """Search LoRA rank, learning rate and epochs with Optuna; keep the adapter with the lowest validation loss."""
    missing = [str(path) for path in data if not path.exists()]
    if missing:
        fail(f"DATA: no such file or folder: {', '.join(missing)}", EXIT_USAGE)
    settings = settings_of(ctx, **{"training.max_steps": max_steps})
    from finetune.adapters import AdapterError
    from finetune.train import TrainError
    from finetune.tune import tune

    try:
        result = tune(settings, data, name, trials=trials, force=force, progress=_trial_line)
    except (TrainError, AdapterError, ValueError) as error:
        fail(str(error))
    if as_json:
        payload = {"adapter": str(result.adapter_dir), "best": result.best, "trials": result.trials}
        typer.echo(json.dumps(payload, indent=2))
        return
    typer.echo(f"{'trial':>5} {'rank':>5} {'learning rate':>14} {'epochs':>7} {'validation loss':>16}  state")
    for trial in result.trials:
        typer.echo(
            f"{trial['number']:>5} {trial['lora_rank']:>5} {trial['learning_rate']:>14.2e} {trial['epochs']:>7.2f} "
            f"{_number(trial['validation_loss']):>16}  {trial['state']}"
        )
    typer.echo(f"best: trial {result.best['number']} -> adapter {name} at {result.adapter_dir}")


def _trial_line(row: dict) -> None:
    typer.echo(
        f"trial {row['number']}: rank {row['lora_rank']}, lr {row['learning_rate']:.2e}, epochs {row['epochs']:.2f} "
        f"-> validation loss {_number(row['validation_loss'])} ({row['state']})",
        err=True,
    )


def _compare(run_a: Path, run_b: Path) -> None:
    from assistant.evaluation.compare import compare_runs
    from assistant.evaluation.report import read_results

    try:
        first, second = read_results(run_a), read_results(run_b)
    except ValueError as error:
        fail(str(error))
    typer.echo(f"{run_a} -> {run_b}")
    for line in compare_runs(first, second):
        typer.echo(line)


def _modes(requested: list[str] | None, settings) -> list[Mode]:
    """The requested modes in canonical order; by default every mode that can run (tuned ones need an adapter)."""
    from assistant.builders import unavailable_reason

    names = [part.strip() for item in requested or [] for part in item.split(",") if part.strip()]
    unknown = [name for name in names if name not in MODES]
    if unknown:
        fail(f"--modes {', '.join(unknown)}: use {', '.join(MODES)}", EXIT_USAGE)
    chosen = [mode for mode in MODES if mode in names] if names else list(MODES)
    runnable = []
    for mode in chosen:
        problem = unavailable_reason(settings, mode)
        if problem and names:
            fail(problem)
        if problem:
            typer.echo(f"note: skipping mode {mode}: {problem}", err=True)
            continue
        runnable.append(mode)
    if not runnable:
        fail(
            "no mode can run; ingest documents (`tunedesk ingest PATH`) or train an adapter (`tunedesk train`)"
        )
    return runnable


def _print_summary(modes: dict[str, dict]) -> None:
    names = (
        "keyword_accuracy",
        "token_f1",
        "rouge_l",
        "bleu",
        "abstention_recall",
        "citation_correctness",
        "hit@5",
        "mrr",
        "latency_ms",
        "prompt_tokens",
    )
    typer.echo(f"{'metric':<22}" + "".join(f"{mode:>12}" for mode in modes))
    for name in names:
        if any(name in values for values in modes.values()):
            typer.echo(
                f"{name:<22}" + "".join(f"{_number(values.get(name)):>12}" for values in modes.values())
            )


def _number(value: float | None) -> str:
    return "n/a" if value is None or (isinstance(value, float) and math.isnan(value)) else f"{value:.3f}"
