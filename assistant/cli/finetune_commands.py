"""CLI commands: `train`, `adapters list|activate|check-memorisation|remove|merge`. They wire settings to finetune/; the work lives there."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Annotated

import typer

from assistant.cli.context import EXIT_USAGE, fail, settings_of

adapters_app = typer.Typer(
    help="List, activate, check, remove and merge trained adapters.", no_args_is_help=True
)


def register(app: typer.Typer) -> None:
    """Add these commands to the root app."""
    app.command("train")(train)
    app.add_typer(adapters_app, name="adapters")


def train(
    ctx: typer.Context,
    name: Annotated[str, typer.Option("--name", help="Adapter name: <home>/adapters/NAME/.")],
    data: Annotated[
        list[Path] | None, typer.Argument(help="Transcript files or folders (JSONL, JSON, CSV, TXT).")
    ] = None,
    base: Annotated[
        str | None, typer.Option("--base", help="Base model: packaged name, folder or hub id.")
    ] = None,
    method: Annotated[
        str | None,
        typer.Option("--method", help="lora (default), dora, ia3, prefix, prompt, full or qlora."),
    ] = None,
    epochs: Annotated[float | None, typer.Option("--epochs", help="Passes over the training data.")] = None,
    max_steps: Annotated[
        int | None, typer.Option("--max-steps", help="Stop after N optimiser steps.")
    ] = None,
    lr: Annotated[float | None, typer.Option("--lr", help="Learning rate.")] = None,
    rank: Annotated[int | None, typer.Option("--rank", help="LoRA rank.")] = None,
    resume: Annotated[
        bool, typer.Option("--resume", help="Continue a stopped run from its last checkpoint.")
    ] = False,
    force: Annotated[bool, typer.Option("--force", help="Replace an existing adapter of this name.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the result as JSON.")] = False,
    dpo: Annotated[
        Path | None,
        typer.Option("--dpo", help="Preference pairs (JSONL): DPO-tune the --from adapter instead."),
    ] = None,
    from_adapter: Annotated[
        str | None,
        typer.Option(
            "--from",
            help="Adapter that --dpo or --from-feedback starts from (default for the latter: "
            "the adapter the tuned modes use).",
        ),
    ] = None,
    from_feedback: Annotated[
        bool,
        typer.Option(
            "--from-feedback",
            help="Train on the chat database's votes and thumbs: DPO where pairs exist, KTO otherwise.",
        ),
    ] = False,
    eval_limit: Annotated[
        int,
        typer.Option(
            "--eval-limit",
            min=0,
            help="--from-feedback: evaluation questions on which the rule reward is measured before/after; 0 = skip.",
        ),
    ] = 20,
    context: Annotated[
        str | None,
        typer.Option(
            "--context",
            help="rag: train each reply under the tuned+rag prompt with retrieved sources (the default when "
            "the knowledge base has documents); none: plain transcripts.",
        ),
    ] = None,
) -> None:
    """Fine-tune the base model on support transcripts (or an adapter on preferences, --dpo) and save the adapter."""
    settings = settings_of(
        ctx,
        **{
            "model.base": base,
            "training.method": method,
            "training.epochs": epochs,
            "training.max_steps": max_steps,
            "training.learning_rate": lr,
            "training.lora_rank": rank,
        },
    )
    if from_feedback and (data or dpo is not None or context is not None):
        fail(
            "--from-feedback: give neither DATA, --dpo nor --context; it reads the chat database", EXIT_USAGE
        )
    if from_feedback:
        _train_from_feedback(settings, name, from_adapter, eval_limit, force=force, as_json=as_json)
        return
    if dpo is not None and (data or from_adapter is None or not dpo.is_file()):
        fail("--dpo: give an existing PREFS.jsonl and --from ADAPTER, without DATA", EXIT_USAGE)
    if dpo is None and not data:
        fail("DATA: give transcript files or folders (or --dpo PREFS.jsonl --from ADAPTER)", EXIT_USAGE)
    missing = [str(path) for path in data or [] if not path.exists()]
    if missing:
        fail(f"DATA: no such file or folder: {', '.join(missing)}", EXIT_USAGE)
    if context not in (None, "rag", "none"):
        fail(f"--context {context!r}: use rag or none", EXIT_USAGE)
    if dpo is not None and context is not None:
        fail("--context: goes with training on DATA, not with --dpo", EXIT_USAGE)
    from assistant.builders import build_training_context, default_adapter, has_documents

    with_context = dpo is None and context != "none" and has_documents(settings)
    if context == "rag" and not with_context:
        fail(
            "--context rag: the knowledge base is empty; add documents with `tunedesk ingest PATH` "
            "or pass --context none",
            EXIT_USAGE,
        )
    from finetune.adapters import AdapterError, read_info
    from finetune.base_model import BaseModelError
    from finetune.dpo import load_preferences, train_dpo
    from finetune.forgetting import describe as describe_forgetting
    from finetune.methods import runs_on_llama_cpp
    from finetune.train import TrainError, TrainingDiverged
    from finetune.train import train as run_training

    raft = build_training_context(settings) if with_context else None
    active_before = default_adapter(settings)  # before the new adapter exists: what tuned modes use now
    try:
        if dpo is not None:
            pairs, problems = load_preferences(dpo)
            result = train_dpo(
                settings, pairs, from_adapter, name, origin=str(dpo), skipped=problems, force=force
            )
        else:
            result = run_training(settings, data, name, resume=resume, force=force, context=raft)
    except (TrainError, TrainingDiverged, AdapterError, BaseModelError, ValueError) as error:
        fail(str(error))
    finally:
        if raft is not None:
            raft.close()
    review = _review(settings, name, data or [], active_before)
    if as_json:
        payload = {
            "adapter": str(result.adapter_dir),
            "resumed_from": result.resumed_from,
            "metrics": {
                **result.metrics.to_dict(),
                **{key: value.to_dict() for key, value in review.items()},
            },
        }
        typer.echo(json.dumps(payload, indent=2))
        return
    metrics = result.metrics
    typer.echo(f"adapter {name} saved to {result.adapter_dir}")
    leaks = result.report.get("dropped", {}).get("eval_leak", {}).get("count", 0)
    if leaks:
        typer.echo(f"left out of training: {leaks} conversations resembling evaluation questions")
    resumed = f" (resumed from {result.resumed_from})" if result.resumed_from else ""
    typer.echo(
        f"steps {metrics.steps}{resumed}, train loss {_number(metrics.train_loss)}, "
        f"{metrics.tokens_per_second:.0f} tokens/s"
    )
    if "context" in metrics.sections:  # preference runs start from an adapter and build no examples
        typer.echo(_describe_context(metrics.sections["context"]))
    for label, key in (("validation conversations", "validation"), ("general text", "general_text")):
        typer.echo(
            f"perplexity on {label}: {_number(getattr(metrics.before, key))} before -> "
            f"{_number(getattr(metrics.after, key))} after"
        )
    if "forgetting" in metrics.sections:  # preference runs do not check it
        typer.echo(describe_forgetting(metrics.sections["forgetting"]))
    method = read_info(result.adapter_dir).method
    if method != "full" and not runs_on_llama_cpp(method):
        typer.echo(
            f"note: {method} adapters have no llama.cpp (GGUF) form; the tuned modes answer with it on the "
            "transformers backend"
        )
    if "memorisation" in review:
        typer.echo(review["memorisation"].summary())
    typer.echo(f"active adapter: {review['promotion'].active} ({review['promotion'].reason})")


def _train_from_feedback(
    settings, name: str, from_adapter: str | None, eval_limit: int, *, force: bool, as_json: bool
) -> None:
    from assistant.feedback_training import train_from_feedback
    from assistant.storage import StorageError
    from finetune.adapters import AdapterError
    from finetune.base_model import BaseModelError
    from finetune.train import TrainError, TrainingDiverged

    try:
        run = train_from_feedback(
            settings, name, from_adapter=from_adapter, eval_limit=eval_limit, force=force
        )
    except (TrainError, TrainingDiverged, AdapterError, BaseModelError, StorageError, ValueError) as error:
        fail(str(error))
    metrics = run.result.metrics
    figures = metrics.sections.get(run.method, {})
    if as_json:
        payload = {
            "adapter": str(run.result.adapter_dir),
            "method": run.method,
            "from_adapter": run.from_adapter,
            "pairs": len(run.feedback.pairs),
            "rated_answers": len(run.feedback.rated),
            "left_out": run.feedback.left_out,
            "metrics": metrics.to_dict(),
            "reward": run.reward,
        }
        typer.echo(json.dumps(payload, indent=2))
        return
    feedback = run.feedback
    typer.echo(
        f"adapter {name} saved to {run.result.adapter_dir}: {run.method.upper()} from {run.from_adapter} on "
        f"{len(feedback.pairs)} pairs ({feedback.from_votes} from votes, {feedback.from_thumbs} from thumbs) / "
        f"{len(feedback.rated)} rated answers; {len(feedback.left_out)} left out (the engine abstained)"
    )
    typer.echo(f"steps {metrics.steps}, train loss {_number(metrics.train_loss)}")
    typer.echo(
        f"{run.method} " + ", ".join(f"{key} {_number(value)}" for key, value in sorted(figures.items()))
    )
    for label, key in (("held-out good answers", "validation"), ("general text", "general_text")):
        typer.echo(
            f"perplexity on {label}: {_number(getattr(metrics.before, key))} before -> "
            f"{_number(getattr(metrics.after, key))} after"
        )
    if run.reward is not None:
        typer.echo(
            f"rule reward ({run.reward['mode']}, {run.reward['questions']} questions): "
            f"{_number(run.reward['before'])} before -> {_number(run.reward['after'])} after"
        )


def _review(settings, name: str, data: list[Path], active_before: str | None) -> dict:
    """The memorisation check and the promotion of a newly trained adapter; a preference run (no DATA)
    gets the promotion only."""
    from assistant.adapter_review import review_adapter
    from assistant.evaluation.questions import QuestionsError
    from assistant.generation import GenerationError
    from core.settings import override

    if not data:
        settings = override(settings, **{"training.check_memorisation": False})
    try:
        return review_adapter(settings, name, data, active_before)
    except (GenerationError, QuestionsError) as error:
        fail(f"adapter {name} was saved, but its review failed: {error}")


@adapters_app.command("list")
def list_command(
    ctx: typer.Context,
    as_json: Annotated[bool, typer.Option("--json", help="Print the adapters as JSON.")] = False,
) -> None:
    """List trained adapters with their base model and perplexity."""
    from assistant.builders import default_adapter
    from finetune.adapters import list_adapters

    settings = settings_of(ctx)
    found = list_adapters(settings.adapters_dir)
    if as_json:
        payload = [
            {
                "name": info.name,
                "path": str(info.path),
                "base_model": info.base_model,
                "method": info.method,
                "created": info.created,
                "data_hash": info.data_hash,
                "metrics": info.metrics,
            }
            for info in found
        ]
        typer.echo(json.dumps(payload, indent=2))
        return
    if not found:
        typer.echo("no adapters yet; train one with `tunedesk train DATA --name NAME`")
        return
    active = default_adapter(settings)
    for info in found:
        validation = info.metrics.get("perplexity", {}).get("validation", {})
        typer.echo(
            f"{'*' if info.name == active else ' '} {info.name}  base={info.base_model}  method={info.method}  "
            f"created={info.created}  validation perplexity {_number(validation.get('before'))} -> "
            f"{_number(validation.get('after'))}{_review_notes(info.metrics)}"
        )
    if active:
        typer.echo(f"* active (used by the tuned modes): {active}")


@adapters_app.command("activate")
def activate_command(
    ctx: typer.Context, name: Annotated[str, typer.Argument(help="Adapter the tuned modes should use.")]
) -> None:
    """Make an adapter the active one, whatever the promotion decided."""
    from finetune.adapters import AdapterError, find_adapter, write_active

    settings = settings_of(ctx)
    try:
        info = find_adapter(settings.adapters_dir, name)
    except AdapterError as error:
        fail(str(error))
    if info.method == "full":
        fail(f"adapter {name!r} is a full fine-tune; tuned modes switch between LoRA adapters only")
    write_active(settings.layout.active_adapter_file, name, "activated by hand (tunedesk adapters activate)")
    typer.echo(f"active adapter: {name}")
    if settings.assistant.adapter and settings.assistant.adapter != name:
        typer.echo(
            f"note: assistant.adapter = {settings.assistant.adapter!r} is set and still takes precedence"
        )


@adapters_app.command("check-memorisation")
def check_memorisation_command(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="Adapter to check.")],
    data: Annotated[list[Path], typer.Argument(help="The raw (unscrubbed) transcripts it was trained on.")],
    samples: Annotated[int, typer.Option("--samples", min=1, help="Prompts to sample.")] = 64,
    canary: Annotated[
        list[str] | None, typer.Option("--canary", help="A value planted in the transcripts (repeatable).")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
) -> None:
    """Sample the adapter on prompts from the transcripts; exit 1 when a secret of theirs comes out."""
    from assistant.adapter_review import check_adapter_memorisation
    from assistant.generation import GenerationError
    from finetune.adapters import AdapterError

    missing = [str(path) for path in data if not path.exists()]
    if missing:
        fail(f"DATA: no such file or folder: {', '.join(missing)}", EXIT_USAGE)
    settings = settings_of(ctx)
    try:
        report = check_adapter_memorisation(settings, name, data, samples=samples, canaries=canary or ())
    except (AdapterError, GenerationError) as error:
        fail(str(error))
    typer.echo(json.dumps(report.to_dict(), indent=2) if as_json else report.summary())
    if not report.passed:
        raise typer.Exit(1)


@adapters_app.command("remove")
def remove_command(
    ctx: typer.Context, name: Annotated[str, typer.Argument(help="Adapter to delete.")]
) -> None:
    """Delete an adapter."""
    from finetune.adapters import AdapterError, remove_adapter

    try:
        remove_adapter(settings_of(ctx).adapters_dir, name)
    except AdapterError as error:
        fail(str(error))
    typer.echo(f"removed adapter {name}")


@adapters_app.command("export")
def export_command(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="Adapter to export.")],
    format: Annotated[str, typer.Option("--format", help="Only gguf: a LoRA file llama.cpp loads.")] = "gguf",
) -> None:
    """Write an adapter in another format next to it (gguf: for adapters trained before training wrote it)."""
    from finetune.adapters import AdapterError, export_gguf

    if format != "gguf":
        fail(f"--format {format}: only gguf is supported")
    try:
        path = export_gguf(settings_of(ctx).adapters_dir, name)
    except AdapterError as error:
        fail(str(error))
    typer.echo(f"exported {name} to {path}")


@adapters_app.command("merge")
def merge_command(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="Adapter to merge into its base model.")],
    out: Annotated[Path, typer.Option("--out", help="New folder for the merged model (safetensors).")],
) -> None:
    """Write base model + adapter as one standalone model folder."""
    from finetune.adapters import AdapterError, merge_adapter

    try:
        folder = merge_adapter(settings_of(ctx).adapters_dir, name, out)
    except AdapterError as error:
        fail(str(error))
    typer.echo(f"merged {name} into {folder}")


def _review_notes(metrics: dict) -> str:
    notes = []
    memorisation = metrics.get("memorisation")
    if memorisation:
        leaks = len(memorisation.get("leaks", []))
        notes.append(
            "memorisation passed" if memorisation.get("passed") else f"memorisation FAILED ({leaks} leaked)"
        )
    promotion = metrics.get("promotion")
    if promotion:
        notes.append(promotion.get("reason", ""))
    return "".join(f"\n    {note}" for note in notes)


def _describe_context(context: dict) -> str:
    if context["mode"] == "none":
        return "context none: trained on the plain transcripts"
    counts = context["counts"]
    return (
        f"context rag (P={context['oracle_probability']}, k={context['k']}, index generation "
        f"{context['index_generation']}, {context['embedding_model']}): {counts['examples']} examples in "
        f"{context['build_s']:.1f} s, oracle kept {counts['oracle_kept']}, cited another source "
        f"{counts['oracle_withheld_supported']}, declines {counts['declines']} "
        f"({counts['decline_sentences']} hand-off sentences mined), no supporting chunk "
        f"{counts['no_supporting_chunk']}, dropped {counts['dropped_no_decline'] + counts['dropped_too_long']}, "
        f"{counts['samples']} samples fit"
    )


def _number(value: float | None) -> str:
    return "n/a" if value is None or math.isnan(value) else f"{value:.2f}"
