"""Abstention measured on questions the threshold was not picked on.

    python bench/bench_abstention.py [--seed 13] [--share 0.5] [--seeds 20]
    python bench/bench_abstention.py --home HOME --mode tuned+rag   # also the model's own declines

Ingests data/docs with the real embedding model into a temporary index, chooses its fusion weights as
`tunedesk calibrate-search` does, and takes the retrieval signals
of every question in data/eval/questions.jsonl (the assistant's `top_k`): the best chunk's score and the
coverage of the question's words. Then, exactly as `tunedesk calibrate` does (assistant/calibration.py):
splits the questions per class with the seed, picks the thresholds on the calibration part, and measures abstention recall and precision
(unanswerable = positive) on both parts. The held-out figures are the honest ones; the calibration
part's are printed beside them to show how much picking on the same questions flatters a threshold.
`--seeds N` repeats the split over seeds 0..N-1 (signals are computed once) and prints the mean, for
both signals together and for the score alone (coverage off), so the coverage signal's worth is measured,
and for each objective `tunedesk calibrate --objective` offers.

With `--home` and `--mode`, the held-out questions are also answered by the assistant of that home
(its model and adapter, with this threshold), and the combined abstention (threshold or the model's
own decline, see assistant/abstention.py) is measured on them. The last line compares the
held-out abstention precision of thresholds chosen by F1 (the default) with that of thresholds chosen by
balanced accuracy, as a mean over the seeds.
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from assistant.abstention import OBJECTIVES, Objective, Signals, Thresholds, retrieval_signals  # noqa: E402
from assistant.builders import build_assistant, build_embedder  # noqa: E402
from assistant.calibration import (  # noqa: E402
    DEFAULT_SEED,
    DEFAULT_SHARE,
    AbstentionScores,
    choose_threshold,
    measure,
    split_questions,
    unanswerable,
)
from assistant.evaluation.questions import EvalQuestion, load_questions  # noqa: E402
from assistant.evaluation.retrieval_calibration import calibrate_search  # noqa: E402
from core.settings import Settings, load_settings  # noqa: E402
from ingest.hybrid import save_weights  # noqa: E402
from ingest.knowledge_base import KnowledgeBase  # noqa: E402

QUESTIONS = REPO / "data/eval/questions.jsonl"


def balanced(scores: AbstentionScores) -> float:
    return (scores.recall + 1 - scores.answerable_refused) / 2


def describe(name: str, scores: AbstentionScores) -> str:
    precision = "n/a" if scores.precision is None else f"{scores.precision:.3f}"
    return (
        f"{name:12s} {scores.answerable:3d} answerable {scores.unanswerable:3d} unanswerable: "
        f"recall {scores.recall:.3f} precision {precision} answerable refused {scores.answerable_refused:.3f} "
        f"(balanced accuracy {balanced(scores):.3f})"
    )


def signals_of_questions(settings: Settings, questions: list[EvalQuestion]) -> dict[str, Signals]:
    with (
        tempfile.TemporaryDirectory() as folder,
        KnowledgeBase(Path(folder), build_embedder(settings)) as knowledge_base,
    ):
        report = knowledge_base.ingest([REPO / "data/docs"])
        print(f"indexed {len(report.added)} documents, {report.chunks_written} chunks")
        # As the documented flow runs it: `tunedesk calibrate-search` first, so search fuses as it will.
        options = settings.retrieval
        fusion = calibrate_search(
            knowledge_base,
            QUESTIONS,
            fraction=options.calibration_fraction,
            seed=options.calibration_seed,
            candidates=options.candidates,
        )
        save_weights(knowledge_base.directory, fusion.weights)
        print(f"fusion weights: {fusion.weights}")
        top_k = settings.assistant.top_k
        return {item.question: retrieval_signals(knowledge_base, item.question, top_k) for item in questions}


def with_model(home: Path, mode: str, held_out: list[EvalQuestion], thresholds: Thresholds) -> None:
    """Answer the held-out questions with the home's assistant and these thresholds; print combined abstention."""
    from assistant.evaluation.metrics import precision_recall

    assistant = build_assistant(load_settings(home=home, device="cpu"))
    assistant.min_score, assistant.min_coverage = thresholds.score, thresholds.coverage
    answers = [assistant.answer(item.question, mode=mode) for item in held_out]  # type: ignore[arg-type]
    by_threshold = [answer.abstained and answer.completion_tokens == 0 for answer in answers]
    combined = [answer.abstained for answer in answers]
    actual = [unanswerable(item) for item in held_out]
    for name, predicted in (("threshold", by_threshold), ("combined", combined)):
        precision, recall = precision_recall(predicted, actual)
        print(
            f"{mode} {name:9s} on held-out: recall {recall:.3f} precision "
            f"{'n/a' if precision is None else f'{precision:.3f}'} ({sum(predicted)} abstained of {len(held_out)})"
        )
    declined = [item.question for item, answer in zip(held_out, answers, strict=True) if answer.abstained]
    print(json.dumps({"abstained": declined}, indent=1))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    parser.add_argument("--share", type=float, default=DEFAULT_SHARE)
    parser.add_argument("--seeds", type=int, default=20, help="Seeds 0..N-1 for the mean over splits.")
    parser.add_argument("--home", type=Path, help="A home with a model (and adapter) for --mode.")
    parser.add_argument("--mode", choices=("rag", "tuned+rag"), help="Also answer the held-out questions.")
    args = parser.parse_args()
    settings = Settings(device="cpu")
    questions, problems = load_questions(QUESTIONS)
    assert not problems, problems
    signals = signals_of_questions(settings, questions).__getitem__

    def score_only(question: str) -> Signals:
        return Signals(signals(question).score)  # coverage 1.0: that threshold never refuses

    split = split_questions(questions, share=args.share, seed=args.seed)
    chosen = choose_threshold(split.calibration, signals)
    seen = measure(split.calibration, signals, chosen.thresholds)
    unseen = measure(split.held_out, signals, chosen.thresholds)
    print(
        f"seed {args.seed}, share {args.share}, best {chosen.objective}: threshold {chosen.threshold:.3f}, "
        f"coverage {chosen.coverage_threshold:.3f}"
    )
    print(describe("calibration", seen))
    print(describe("held-out", unseen))
    means = {}
    for objective in OBJECTIVES:
        for name, signal in (("score and coverage", signals), ("score alone", score_only)):
            means[objective, name] = held_out_means(questions, signal, objective, args.share, args.seeds)
            recall, precision, refused, splits = means[objective, name]
            print(
                f"best {objective}, {name}: mean over {args.seeds} seeds, held-out: recall {recall:.3f} "
                f"precision {precision:.3f} (over the {splits} splits that refused any) answerable refused {refused:.3f}"
            )
    if args.mode and args.home:
        with_model(args.home, args.mode, split.held_out, chosen.thresholds)
    by_f1, by_balanced = means["f1", "score and coverage"], means["balanced", "score and coverage"]
    print(
        f"BENCH abstention {by_f1[1] / by_balanced[1]:.3f} held-out abstention precision of thresholds chosen by F1 "
        f"vs by balanced accuracy, score and coverage, mean of {args.seeds} seeds "
        f"(recall {by_f1[0]:.3f} vs {by_balanced[0]:.3f})"
    )


def held_out_means(
    questions: list[EvalQuestion],
    signal: Callable[[str], Signals],
    objective: Objective,
    share: float,
    seeds: int,
) -> tuple[float, float, float, int]:
    """Mean held-out recall, precision (over the splits that refused any) and share of answerable refused,
    over seeds 0..`seeds`-1, each split's thresholds chosen on its own calibration part by `objective`."""
    recalls, precisions, refused = [], [], []
    for seed in range(seeds):
        other = split_questions(questions, share=share, seed=seed)
        result = measure(
            other.held_out, signal, choose_threshold(other.calibration, signal, objective).thresholds
        )
        recalls.append(result.recall)
        refused.append(result.answerable_refused)
        if result.precision is not None:
            precisions.append(result.precision)
    precision = statistics.mean(precisions) if precisions else math.nan
    return statistics.mean(recalls), precision, statistics.mean(refused), len(precisions)


if __name__ == "__main__":
    main()
