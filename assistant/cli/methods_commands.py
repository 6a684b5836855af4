"""CLI command `methods`: train every chosen method on the same data and write one comparison table.

    tunedesk methods DATA... [--methods all|lora,dora,ia3,prefix,prompt,full,qlora] [--max-steps N]
                     [--eval QUESTIONS.jsonl [--eval-limit N]] [--keep-adapters] [--json]

The work lives in assistant/evaluation/method_comparison.py; this only wires settings to it.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from assistant.cli.context import EXIT_INPUT_FAILED, EXIT_USAGE, fail, settings_of


def register(app: typer.Typer) -> None:
    """Add this command to the root app."""
    app.command("methods")(methods_command)


def methods_command(
    ctx: typer.Context,
    data: Annotated[list[Path], typer.Argument(help="Transcript files or folders (JSONL, JSON, CSV, TXT).")],
    methods: Annotated[
        str,
        typer.Option(
            "--methods", help="Comma-separated methods, or all (every one that runs on this device)."
        ),
    ] = "all",
    max_steps: Annotated[int | None, typer.Option("--max-steps", help="Step budget of every method.")] = None,
    eval_questions: Annotated[
        Path | None, typer.Option("--eval", help="Evaluation questions (JSONL): tuned+rag answer metrics.")
    ] = None,
    eval_limit: Annotated[
        int | None, typer.Option("--eval-limit", help="At most N questions (stratified by kind).")
    ] = None,
    keep_adapters: Annotated[
        bool, typer.Option("--keep-adapters", help="Keep the trained adapters (methods-<time>-<method>).")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print every row as JSON.")] = False,
) -> None:
    """Train each method (LoRA, DoRA, IA3, prefix/prompt tuning, full, QLoRA) on the same data and compare."""
    settings = settings_of(ctx, **{"training.max_steps": max_steps})
    missing = [str(path) for path in data if not path.exists()]
    if missing:
        fail(f"DATA: no such file or folder: {', '.join(missing)}", EXIT_USAGE)
    if eval_questions is not None and not eval_questions.is_file():
        fail(f"--eval: no such file: {eval_questions}", EXIT_USAGE)
    from assistant.evaluation.method_comparison import compare_methods
    from core.device import resolve_device
    from finetune.methods import MethodError, parse_methods

    try:
        chosen = parse_methods(methods, cuda=resolve_device(settings.device).is_cuda)
    except MethodError as error:
        fail(str(error), EXIT_USAGE)
    result = compare_methods(
        settings,
        data,
        chosen,
        eval_questions=eval_questions,
        eval_limit=eval_limit,
        keep_adapters=keep_adapters,
    )
    if as_json:
        typer.echo(json.dumps(result.rows, indent=2))
    else:
        typer.echo((result.folder / "methods.md").read_text(encoding="utf-8"))
        typer.echo(f"table, chart and numbers written to {result.folder}")
    for row in result.rows:
        if row.get("forgetting"):
            typer.echo(
                f"FORGETTING: {row['method']} raised general-text perplexity by {row['general_rise']:.1%}, over "
                f"training.max_forgetting ({settings.training.max_forgetting:.0%})",
                err=True,
            )
    if result.failed:
        fail(
            f"methods that failed: {', '.join(result.failed)} (the others are in the table)",
            EXIT_INPUT_FAILED,
        )
