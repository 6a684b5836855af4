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
    eval_questions: Annotated[
        Path | None,
        typer.Option("--eval", help="Held-out evaluation questions (JSONL); default data.eval_questions."),
    ] = None,
    write: Annotated[
        Path | None,
        typer.Option("--write", help="Write the conversations exactly as training sees them (chat JSONL)."),
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
            "data.eval_questions": eval_questions,
        },
    )
    missing = [str(path) for path in data if not path.exists()]
    if missing:
        fail(f"DATA: no such file or folder: {', '.join(missing)}", EXIT_USAGE)
    if eval_questions is not None and not eval_questions.is_file():
        fail(f"--eval {eval_questions}: no such file; give the evaluation questions JSONL", EXIT_USAGE)
    if write is not None and (write.is_dir() or not write.parent.is_dir()):
        fail(f"--write {write}: not a file in an existing folder; give a path like checked.jsonl", EXIT_USAGE)
    if write is not None and any(_inside(write, path) for path in data):
        fail(
            f"--write {write}: inside the data being checked; write it elsewhere so no input is replaced",
            EXIT_USAGE,
        )
    from finetune.base_model import BaseModelError
    from finetune.dataset import load_counting_tokenizer, prepare_data, training_jsonl
    from finetune.eval_leaks import EvalQuestionsError, questions_at
    from ingest.atomic import write_text_atomically

    try:
        tokenizer = load_counting_tokenizer(settings.model.base, settings.models_dir)
    except (BaseModelError, OSError, ValueError) as error:
        fail(f"--base {settings.model.base}: cannot load its tokenizer ({error})")
    options = settings.data
    try:
        questions_at(options.eval_questions)  # a bad file is a usage error, named before any work starts
    except EvalQuestionsError as error:
        fail(f"data.eval_questions: {error}", EXIT_USAGE)
    if options.scrub_pii and options.pii_ner_model:
        from finetune.pii_names import load_recogniser

        try:
            load_recogniser(options.pii_ner_model)
        except ValueError as error:
            fail(str(error), EXIT_USAGE)
    prepared = prepare_data(data, tokenizer, options)
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
    if write is not None:
        try:
            write_text_atomically(write, training_jsonl(prepared))
        except OSError as error:
            fail(f"--write {write}: cannot write ({error.strerror or error}); choose a writable path")
        typer.echo(
            f"wrote {len(prepared.train) + len(prepared.validation)} conversations to {write}", err=as_json
        )
    if not report.usable:
        fail("no usable conversations remain; see the report above")
    if report.input_failed:
        fail("some input could not be parsed (see problems above); the rest is usable", EXIT_INPUT_FAILED)


def _inside(target: Path, data: Path) -> bool:
    """Whether `target` is the input file `data` or lies under the input folder `data` (and would be read next time)."""
    target, data = target.resolve(), data.resolve()
    return target == data or data in target.parents
