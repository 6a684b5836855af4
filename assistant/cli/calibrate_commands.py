"""CLI command `calibrate`: pick the abstention thresholds on part of the labelled questions, report the rest.

    tunedesk calibrate data/eval/questions.jsonl [--share 0.5] [--seed 13] [--objective f1] [--json]

Scores every question with the knowledge base's own search (the assistant's `top_k`): the best chunk's
score and the coverage of the question's words by the chunks found. Picks both thresholds on the
calibration part and writes `<home>/abstention.json`, which `ask`, `chat`, the app and the API then use
instead of `assistant.min_score` and `assistant.min_coverage`. It prints the thresholds and the retrieval-only
abstention recall and precision on the held-out part, which it did not see when choosing. When the home has
example exchanges (`tunedesk fewshot-index`), it also picks on the same part the similarity from which the
nearest past exchange is shown under a tuned or fewshot answer: the threshold that best shows the past replies
holding one of a question's required facts (`keywords`) and hides the rest, with its precision and recall on
the held-out part. Bad lines of the questions file are skipped with a warning and the command then exits 1.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, cast

import typer

from assistant.abstention import OBJECTIVES, Objective, Signals, retrieval_signals
from assistant.builders import build_examples, open_knowledge_base
from assistant.calibration import (
    DEFAULT_SEED,
    DEFAULT_SHARE,
    AbstentionScores,
    CalibrationError,
    PrecedentObservation,
    PrecedentScores,
    choose_precedent_threshold,
    choose_threshold,
    measure,
    precedent_scores,
    split_questions,
    write_calibration,
)
from assistant.cli.context import EXIT_INPUT_FAILED, EXIT_USAGE, fail, settings_of, warn_skipped
from assistant.evaluation.metrics import keyword_accuracy
from assistant.evaluation.questions import EvalQuestion, QuestionsError, load_questions
from assistant.precedent import nearest_shown
from core.settings import Settings


def register(app: typer.Typer) -> None:
    """Add this command to the root app."""
    app.command("calibrate")(calibrate_command)


def calibrate_command(
    ctx: typer.Context,
    questions: Annotated[
        Path,
        typer.Argument(
            help="Labelled questions (JSONL, as for `tunedesk eval`); kind unanswerable marks those to refuse."
        ),
    ],
    share: Annotated[
        float,
        typer.Option("--share", help="Part of each class used to pick the threshold; the rest is held out."),
    ] = DEFAULT_SHARE,
    seed: Annotated[
        int, typer.Option("--seed", help="Seed of the split (recorded in the file).")
    ] = DEFAULT_SEED,
    objective: Annotated[
        str,
        typer.Option(
            "--objective",
            help="What the thresholds maximise: f1 (of refusing; few answerable questions refused) or "
            "balanced (balanced accuracy; refuses more, unanswerable questions missed less).",
        ),
    ] = "f1",
    as_json: Annotated[bool, typer.Option("--json", help="Print the written calibration as JSON.")] = False,
) -> None:
    """Calibrate the relevance and coverage thresholds below which the assistant abstains, on a seeded split of QUESTIONS."""
    if not questions.is_file():
        fail(f"QUESTIONS: no such file: {questions}", EXIT_USAGE)
    if objective not in OBJECTIVES:
        fail(f"--objective {objective}: use one of {', '.join(OBJECTIVES)}", EXIT_USAGE)
    settings = settings_of(ctx)
    try:
        loaded, problems = load_questions(questions)
        warn_skipped(problems)  # before the split: a bad line may be why too few questions are left
        split = split_questions(loaded, share=share, seed=seed)
    except (QuestionsError, CalibrationError) as error:
        fail(str(error), EXIT_USAGE)
    with open_knowledge_base(settings) as knowledge_base:
        if not knowledge_base.documents():
            fail(
                f"the knowledge base in {knowledge_base.directory} is empty; "
                "add documents with `tunedesk ingest PATH` first"
            )
        top_k = settings.assistant.top_k

        def signals(question: str) -> Signals:
            return retrieval_signals(knowledge_base, question, top_k)

        chosen = choose_threshold(split.calibration, signals, cast(Objective, objective))
        held_out = measure(split.held_out, signals, chosen.thresholds)
        precedent = _precedent_calibration(settings, split.calibration, split.held_out)
    path = settings.layout.calibration_file
    retriever = {"embedding_model": settings.embedding.model, "top_k": top_k}
    write_calibration(
        path, split, chosen, held_out, questions_file=questions.name, retriever=retriever, precedent=precedent
    )
    caution = _caution(held_out, path)
    if caution:
        typer.echo(f"warning: {caution}", err=True)
    if as_json:
        typer.echo(path.read_text(encoding="utf-8"), nl=False)
    else:
        precision = "n/a" if held_out.precision is None else f"{held_out.precision:.2f}"
        typer.echo(
            f"threshold {chosen.threshold:.3f}, coverage {chosen.coverage_threshold:.3f} "
            f"from {len(split.calibration)} questions (seed {seed}, best {objective}): "
            f"keeps {chosen.answerable_kept:.0%} of answerable, refuses {chosen.unanswerable_refused:.0%} of unanswerable"
        )
        typer.echo(
            f"held out {len(split.held_out)} questions: abstention recall {held_out.recall:.2f}, "
            f"precision {precision}, answerable refused {held_out.answerable_refused:.0%} (retrieval only)"
        )
        if precedent is not None:
            picked, seen = precedent
            typer.echo(
                f"past exchanges shown from similarity {picked.threshold:.3f}; held out: {seen.shown} of "
                f"{seen.questions} shown, {_share(seen.precision)} of them hold a required fact, "
                f"{_share(seen.recall)} of the useful ones shown"
            )
        typer.echo(f"written: {path}")
    if problems:
        raise typer.Exit(EXIT_INPUT_FAILED)


def _precedent_calibration(
    settings: Settings, calibration: list[EvalQuestion], held_out: list[EvalQuestion]
) -> tuple[PrecedentScores, PrecedentScores] | None:
    """The past-exchange threshold chosen on `calibration` and measured on `held_out`; None without an
    example store. Every question of both parts is held out of the store, like in an evaluation."""
    examples = build_examples(
        settings, held_out=[question.question for question in [*calibration, *held_out]]
    )
    if examples is None:
        return None

    def observed(questions: list[EvalQuestion]) -> list[PrecedentObservation]:
        found = []
        for question in questions:
            if question.kind != "unanswerable" and not question.keywords:
                continue  # nothing to tell a useful reply by
            best = nearest_shown(question.question, examples.pick)
            if best is not None:
                useful = question.kind != "unanswerable" and bool(
                    keyword_accuracy(best.agent, question.keywords)
                )
                found.append((best.score, useful))
        return found

    picked_on = observed(calibration)
    if not picked_on:
        return None
    chosen = choose_precedent_threshold(picked_on)
    return chosen, precedent_scores(observed(held_out), chosen.threshold)


# Past these, the thresholds written may do more harm than good: say so, with what to do.
REFUSED_WARNING = 0.25  # share of the held-out answerable questions refused
FEW_UNANSWERABLE = 5  # unanswerable questions held out


def _caution(held_out: AbstentionScores, path: Path) -> str:
    """Why the thresholds just written may not be worth using; empty when there is no reason to think so."""
    reasons = []
    if held_out.answerable_refused > REFUSED_WARNING:
        reasons.append(f"they refuse {held_out.answerable_refused:.0%} of the held-out answerable questions")
    if held_out.unanswerable < FEW_UNANSWERABLE:
        reasons.append(f"only {held_out.unanswerable} unanswerable question(s) were held out to check them")
    if not reasons:
        return ""
    return (
        f'{" and ".join(reasons)}; add questions (kind "unanswerable" too) and calibrate again, '
        f"or delete {path} to abstain by assistant.min_score"
    )


def _share(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.0%}"
