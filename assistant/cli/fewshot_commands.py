"""CLI command `fewshot-index`: build the example exchanges the fewshot modes show, into <home>/fewshot.

    tunedesk fewshot-index data/transcripts

Without DATA it reads assistant.fewshot_data. The fewshot modes also build the store from that setting on
first use when the home has none; run this command again after the transcripts change. The work lives in
assistant/builders.py and assistant/fewshot_*.py.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from assistant.cli.context import EXIT_INPUT_FAILED, EXIT_USAGE, fail, settings_of, warn_skipped


def register(app: typer.Typer) -> None:
    """Add this command to the root app."""
    app.command("fewshot-index")(fewshot_index)


def fewshot_index(
    ctx: typer.Context,
    data: Annotated[
        list[Path] | None,
        typer.Argument(
            help="Transcript files or folders (JSONL, JSON, CSV, TXT); default assistant.fewshot_data."
        ),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the store's manifest as JSON.")] = False,
) -> None:
    """Collect every customer turn with the agent's reply from DATA (personal data scrubbed, duplicates
    dropped), embed the customer turns and the whole exchanges and store them in the home for the fewshot modes.

    Exchanges resembling an evaluation question (data.eval_questions) are kept in the store but never shown.
    Exit 1 when some input could not be read (the rest is stored), 2 when DATA is missing.
    """
    from dataclasses import asdict

    from assistant.builders import build_example_store
    from assistant.fewshot_store import ExampleStoreError
    from finetune.cleaning import FAILED_KINDS
    from finetune.eval_leaks import EvalQuestionsError

    settings = settings_of(ctx)
    paths = data or ([settings.assistant.fewshot_data] if settings.assistant.fewshot_data else [])
    if not paths:
        fail("DATA: give transcript files or folders, or set assistant.fewshot_data", EXIT_USAGE)
    missing = [str(path) for path in paths if not Path(path).exists()]
    if missing:
        fail(f"DATA: no such file or folder: {', '.join(missing)}", EXIT_USAGE)
    try:
        manifest, problems, excluded = build_example_store(settings, [Path(path) for path in paths])
    except (ExampleStoreError, EvalQuestionsError) as error:
        fail(str(error))
    warn_skipped(problems)
    if as_json:
        typer.echo(json.dumps(asdict(manifest) | {"held_out": excluded}, indent=2))
    else:
        typer.echo(
            f"stored {manifest.exchanges} example exchanges in {settings.fewshot_dir} "
            f"({excluded} resemble an evaluation question and are never shown; embedded with "
            f"{manifest.embedding_model})"
        )
    if any(problem.kind in FAILED_KINDS for problem in problems):
        raise typer.Exit(EXIT_INPUT_FAILED)
