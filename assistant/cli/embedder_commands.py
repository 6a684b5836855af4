"""CLI command: `tune-embedder`, fine-tuning the embedding model on pairs mined from the transcripts.

    tunedesk tune-embedder data/transcripts --out .tunedesk/embedders/support

It wires settings to `finetune.embedding_pairs` and `finetune.embedding_tune`; the work lives there.
The knowledge base must already hold the documents (the pairs point at its chunks). The tuned model
is used by setting `embedding.model` to its folder and ingesting into a new `--home`.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from assistant.cli.context import EXIT_USAGE, fail, settings_of


def register(app: typer.Typer) -> None:
    """Add this command to the root app."""
    app.command("tune-embedder")(tune_embedder)


FEW_HELD_OUT_PAIRS = 20  # fewer than this and the before/after hit@k say little


def tune_embedder(
    ctx: typer.Context,
    data: Annotated[list[Path], typer.Argument(help="Transcript files or folders (JSONL, JSON, CSV, TXT).")],
    out: Annotated[Path, typer.Option("--out", help="Folder for the tuned sentence-transformers model.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print the figures as JSON.")] = False,
) -> None:
    """Fine-tune the embedding model on (customer question, supporting chunk) pairs; print hit@k before/after."""
    from dataclasses import asdict

    from assistant.builders import build_embedder
    from finetune.base_model import BaseModelError
    from finetune.dataset import load_counting_tokenizer, prepare_data
    from finetune.embedding_pairs import mine_pairs
    from finetune.embedding_tune import tune_embedder as run_tuning
    from finetune.eval_leaks import EvalQuestionsError
    from ingest.chunk_context import CONTEXT_SHARE, embedding_text
    from ingest.registry import Registry

    settings = settings_of(ctx)
    missing = [str(path) for path in data if not path.exists()]
    if missing:
        fail(f"DATA: no such file or folder: {', '.join(missing)}", EXIT_USAGE)
    if out.exists() and any(out.iterdir()):
        fail(f"--out {out}: the folder is not empty; choose a new one", EXIT_USAGE)
    registry_path = settings.index_dir / "registry.sqlite3"
    if not registry_path.exists():
        fail(f"no knowledge base in {settings.index_dir}; run `tunedesk ingest DOCS` first", EXIT_USAGE)
    try:
        tokenizer = load_counting_tokenizer(settings.model.base, settings.models_dir)
        # The conversations training uses: scrubbed (the embedder's weights must not hold personal data
        # either), deduplicated, without those resembling an evaluation question, split the same way.
        prepared = prepare_data(data, tokenizer, settings.data)
    except (BaseModelError, EvalQuestionsError, OSError) as error:
        fail(str(error))
    for problem in prepared.report.problems:
        typer.echo(f"error: {problem}", err=True)
    leaks = prepared.report.dropped.get("eval_leak", [])
    if leaks:
        typer.echo(
            f"left out {len(leaks)} conversation(s) resembling an evaluation question, e.g. {leaks[0]}"
        )
    options = settings.embedder_tuning
    registry = Registry(registry_path)
    try:
        train_pairs = mine_pairs(prepared.train, registry, min_support=options.min_support)
        held_out_pairs = mine_pairs(prepared.validation, registry, min_support=options.min_support)
        stored = registry.chunks(registry.chunk_ids())
    finally:
        registry.close()
    embedder = build_embedder(settings)
    budget = embedder.max_tokens // CONTEXT_SHARE
    texts = {cid: embedding_text(item.chunk, embedder.tokenizer, budget) for cid, item in stored.items()}
    try:
        tuning = run_tuning(
            embedder.model,
            train_pairs,
            held_out_pairs,
            texts,
            out,
            base_model=settings.embedding.model,
            epochs=options.epochs,
            learning_rate=options.learning_rate,
            batch_size=options.batch_size,
            min_support=options.min_support,
            seed=settings.data.seed,
        )
    except ValueError as error:
        fail(str(error))
    if as_json:
        typer.echo(json.dumps(asdict(tuning), indent=2))
        return
    typer.echo(f"{tuning.train_pairs} training pairs, {tuning.held_out_pairs} held-out pairs; saved {out}")
    for name, figures in (("before", tuning.before), ("after", tuning.after)):
        typer.echo(f"  {name:<6} " + "  ".join(f"{metric} {value:.3f}" for metric, value in figures.items()))
    # The README's way: a second home's index ranks, this home's still judges relevance (abstention stays
    # calibrated). Indexing this home with the tuned model would draw unanswerable questions close too.
    typer.echo(
        f"rank with it: ingest your documents into a second home with embedding.model = {str(out)!r}, "
        "then set retrieval.ranking_index to that home's index folder (README: the ranking index)"
    )
    if tuning.held_out_pairs < FEW_HELD_OUT_PAIRS:
        typer.echo(
            f"note: hit@k above comes from only {tuning.held_out_pairs} held-out pair(s): too few to tell "
            "whether tuning helped; more transcripts whose replies a document supports give more",
            err=True,
        )
