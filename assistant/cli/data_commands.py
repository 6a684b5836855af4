"""CLI commands: `data check`. They wire settings to finetune/; the work lives there."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from assistant.cli.context import EXIT_INPUT_FAILED, EXIT_USAGE, fail, settings_of

data_app = typer.Typer(help="Check fine-tuning data before training.", no_args_is_help=True)


def register(app: typer.Typer) -> None:
    """Add these commands to the root app."""
    app.add_typer(data_app, name="data")


@data_app.command("check")
def check(
    ctx: typer.Context,
    data: Annotated[list[Path], typer.Argument(help="Transcript files or folders (JSONL, JSON, CSV, TXT).")],
    base: Annotated[
        str | None, typer.Option("--base", help="Base model whose tokenizer counts tokens.")
    ] = None,
    max_tokens: Annotated[int | None, typer.Option("--max-tokens", help="Longest sample, in tokens.")] = None,
    over_long: Annotated[str | None, typer.Option("--over-long", help="truncate or drop.")] = None,
    near_duplicate_threshold: Annotated[
        float | None,
        typer.Option("--near-duplicate-threshold", help="Jaccard similarity counted as duplicate."),
    ] = None,
    scrub_pii: Annotated[
        bool | None, typer.Option("--scrub-pii/--no-scrub-pii", help="Replace personal data (default on).")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
) -> None:
    """Load, validate and clean training data and print the report, without training.

    Exit 0 when the data is usable, 1 when nothing usable remains or some input failed to parse.
    """
    settings = settings_of(
        ctx,
        **{
            "model.base": base,
            "data.max_tokens": max_tokens,
            "data.over_long": over_long,
            "data.near_duplicate_threshold": near_duplicate_threshold,
            "data.scrub_pii": scrub_pii,
        },
    )
    missing = [str(path) for path in data if not path.exists()]
    if missing:
        fail(f"DATA: no such file or folder: {', '.join(missing)}", EXIT_USAGE)
    from finetune.base_model import BaseModelError
    from finetune.dataset import load_counting_tokenizer, prepare_data

    try:
        tokenizer = load_counting_tokenizer(settings.model.base, settings.models_dir)
    except (BaseModelError, OSError, ValueError) as error:
        fail(f"--base {settings.model.base}: cannot load its tokenizer ({error})")
    options = settings.data
    prepared = prepare_data(
        data,
        tokenizer,
        max_tokens=options.max_tokens,
        over_long=options.over_long,
        near_duplicate_threshold=options.near_duplicate_threshold,
        scrub_pii=options.scrub_pii,
        validation_fraction=options.validation_fraction,
        seed=options.seed,
        pii_keep=options.pii_keep,
    )
    report = prepared.report
    if as_json:
        payload = report.to_dict() | {
            "train": len(prepared.train),
            "validation": len(prepared.validation),
            "data_hash": prepared.data_hash,
        }
        typer.echo(json.dumps(payload, indent=2, ensure_ascii=False))
    else:
        typer.echo(report.to_text())
        typer.echo(
            f"split: {len(prepared.train)} train / {len(prepared.validation)} validation; "
            f"data hash {prepared.data_hash[:12]}"
        )
    if not report.usable:
        fail("no usable conversations remain; see the report above")
    if report.input_failed:
        fail("some input could not be parsed (see problems above); the rest is usable", EXIT_INPUT_FAILED)
