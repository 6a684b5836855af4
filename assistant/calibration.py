"""Calibrates the abstention thresholds on one seeded part of the labelled questions and stores them in the home.

The questions are split in two, each class (answerable: any kind but `unanswerable`; unanswerable)
shuffled with the seed on its own, so both parts keep the mix: the threshold is picked on the
`calibration` part only, and the `held_out` part is what a report measures. The file records the
thresholds (best-chunk score and coverage, see assistant/abstention.py), the seed, the share and the ids of
both parts, so a report can take exactly the held-out questions and nobody can score a threshold on the
questions it was picked on.

The same record may hold the similarity from which a past exchange is shown under an answer
(precedent.py), picked on the same calibration part: the threshold that best shows the past replies holding
a fact the question needs and hides the others (`choose_precedent_threshold`).

Knows nothing about models, retrieval or settings: the caller passes `signals`, a function from a
question to what its retriever says about it (`Signals`: best score and coverage), and for past exchanges
the observations themselves.
"""

from __future__ import annotations

import json
import math
import random
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from assistant.abstention import Calibration, Objective, Signals, Thresholds, calibrate, refuses
from assistant.evaluation.questions import EvalQuestion
from ingest.atomic import write_atomically

SCHEMA_VERSION = 3  # 2 added coverage_threshold (a version 1 file reads as coverage 0, off); 3 precedent
DEFAULT_SEED = 13
DEFAULT_SHARE = 0.5  # of each class, for picking the threshold; the rest is held out
NEVER_MARGIN = 1e-6  # a past-exchange threshold this far above every observed similarity shows none


class CalibrationError(ValueError):
    """Calibration cannot run, or its file cannot be used; the message names the cause and what to do."""


@dataclass(frozen=True)
class Split:
    calibration: list[EvalQuestion]
    held_out: list[EvalQuestion]
    seed: int
    share: float


@dataclass(frozen=True)
class AbstentionScores:
    """How a threshold does on a set of questions: abstaining is the positive class."""

    recall: float  # share of unanswerable questions refused
    precision: float | None  # share of refusals that were unanswerable; None when nothing was refused
    answerable_refused: float  # share of answerable questions refused (the cost)
    answerable: int
    unanswerable: int


@dataclass(frozen=True)
class PrecedentScores:
    """How showing past exchanges from `threshold` on does on a set of questions."""

    threshold: float
    precision: float | None  # share of the shown past replies that hold a fact their question needs
    recall: float | None  # share of the useful past replies (holding such a fact) that are shown
    shown: int
    questions: int


# One observation per question: the similarity of its nearest past exchange, and whether that exchange's
# reply holds a fact the question needs (never, for an unanswerable question).
PrecedentObservation = tuple[float, bool]


def unanswerable(question: EvalQuestion) -> bool:
    return question.kind == "unanswerable"


def split_questions(questions: Sequence[EvalQuestion], *, share: float, seed: int) -> Split:
    """The seeded, per-class split; each class needs two questions, one for each part."""
    if not 0 < share < 1:
        raise CalibrationError(f"--share {share}: give a number between 0 and 1 (the part used to calibrate)")
    calibration: list[EvalQuestion] = []
    held_out: list[EvalQuestion] = []
    for label, refused in (("answerable", False), ("unanswerable", True)):
        group = sorted((question for question in questions if unanswerable(question) == refused), key=_key)
        if len(group) < 2:
            raise CalibrationError(
                f"calibration needs at least 2 {label} questions (kind {'unanswerable' if refused else 'doc, procedure or both'}) "
                f"and the file has {len(group)}; add some"
            )
        random.Random(f"{seed}:{label}").shuffle(group)
        size = min(max(round(share * len(group)), 1), len(group) - 1)
        calibration += group[:size]
        held_out += group[size:]
    return Split(calibration, held_out, seed, share)


def choose_threshold(
    questions: Sequence[EvalQuestion], signals: Callable[[str], Signals], objective: Objective = "f1"
) -> Calibration:
    """The thresholds that best separate these questions' signals by `objective` (see `abstention.calibrate`)."""
    scores = {question.id: signals(question.question) for question in questions}
    return calibrate(
        [scores[question.id] for question in questions if not unanswerable(question)],
        [scores[question.id] for question in questions if unanswerable(question)],
        objective,
    )


def measure(
    questions: Sequence[EvalQuestion], signals: Callable[[str], Signals], thresholds: Thresholds
) -> AbstentionScores:
    """Recall and precision of abstaining below `thresholds` on these questions."""
    refused = {question.id: refuses(signals(question.question), thresholds) for question in questions}
    positives = [refused[question.id] for question in questions if unanswerable(question)]
    negatives = [refused[question.id] for question in questions if not unanswerable(question)]
    hits, false_alarms = sum(positives), sum(negatives)
    return AbstentionScores(
        recall=hits / len(positives) if positives else math.nan,
        precision=hits / (hits + false_alarms) if hits + false_alarms else None,
        answerable_refused=false_alarms / len(negatives) if negatives else math.nan,
        answerable=len(negatives),
        unanswerable=len(positives),
    )


def choose_precedent_threshold(observations: Sequence[PrecedentObservation]) -> PrecedentScores:
    """The similarity threshold with the best F1 of showing the useful past replies, tried at every observed
    similarity; ties go to the higher threshold (fewer shown). With no useful reply at all, one above every
    observation: nothing is shown."""
    if not observations:
        raise CalibrationError("choosing when to show past exchanges needs at least one question")
    never = max(similarity for similarity, _ in observations) + NEVER_MARGIN
    candidates = sorted({similarity for similarity, _ in observations} | {never}, reverse=True)
    scored = [precedent_scores(observations, threshold) for threshold in candidates]
    return max(scored, key=lambda scores: _f1(scores))  # max keeps the first best: the highest threshold


def precedent_scores(observations: Sequence[PrecedentObservation], threshold: float) -> PrecedentScores:
    """Precision and recall of showing the past exchanges at or above `threshold`."""
    shown = [useful for similarity, useful in observations if similarity >= threshold]
    useful = sum(useful for _, useful in observations)
    return PrecedentScores(
        threshold=threshold,
        precision=sum(shown) / len(shown) if shown else None,
        recall=sum(shown) / useful if useful else None,
        shown=len(shown),
        questions=len(observations),
    )


def _f1(scores: PrecedentScores) -> float:
    precision, recall = scores.precision or 0.0, scores.recall or 0.0
    return 2 * precision * recall / (precision + recall) if precision + recall else 0.0


def write_calibration(
    path: Path,
    split: Split,
    chosen: Calibration,
    held_out: AbstentionScores,
    *,
    questions_file: str,
    retriever: dict[str, Any],
    precedent: tuple[PrecedentScores, PrecedentScores] | None = None,
) -> None:
    """Write the threshold and everything needed to reproduce and audit it, atomically. `precedent`: the
    past-exchange threshold as chosen on the calibration part and as it does on the held-out part."""
    extra: dict[str, Any] = {}
    if precedent is not None:
        chosen_precedent, held_out_precedent = precedent
        extra = {
            "precedent_threshold": chosen_precedent.threshold,
            "precedent": {"calibration": asdict(chosen_precedent), "held_out": asdict(held_out_precedent)},
        }
    record = {
        "schema_version": SCHEMA_VERSION,
        "threshold": chosen.threshold,
        "coverage_threshold": chosen.coverage_threshold,
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "questions_file": questions_file,
        "seed": split.seed,
        "share": split.share,
        "calibration_ids": [question.id for question in split.calibration],
        "held_out_ids": [question.id for question in split.held_out],
        "calibration": asdict(chosen),
        "held_out": asdict(held_out),
        "retriever": retriever,
        **extra,
    }
    text = json.dumps(record, indent=2) + "\n"
    write_atomically(path, lambda temp: temp.write_text(text, encoding="utf-8"))


def read_calibration_record(path: Path) -> dict[str, Any] | None:
    """The whole calibration record in `path` (threshold, split ids, scores); None when absent or unreadable."""
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError):
        return None
    return record if isinstance(record, dict) else None


def read_thresholds(path: Path) -> Thresholds | None:
    """The calibrated thresholds in `path`; None when there is no such file."""
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError, ValueError) as error:
        raise CalibrationError(
            f"{path}: cannot be read ({error}); run `tunedesk calibrate` again or delete it"
        ) from None
    if not isinstance(record, dict):
        raise CalibrationError(
            f"{path}: not a calibration record; run `tunedesk calibrate` again or delete it"
        )
    values = [_number(record, "threshold", path, required=True), _number(record, "coverage_threshold", path)]
    return Thresholds(*values)


def read_precedent_threshold(path: Path) -> float | None:
    """The calibrated similarity from which past exchanges are shown; None when `path` holds none."""
    record = read_calibration_record(path)
    if record is None or record.get("precedent_threshold") is None:
        return None
    value = _number(record, "precedent_threshold", path)
    # A cosine similarity; a calibration that shows none writes one just above its highest observation.
    if not -1.0 <= value <= 1.0 + NEVER_MARGIN:
        raise CalibrationError(
            f"{path}: field 'precedent_threshold' must be a similarity between -1 and 1; "
            "run `tunedesk calibrate` again or delete it"
        )
    return value


def _number(record: dict[str, Any], field: str, path: Path, *, required: bool = False) -> float:
    value = record.get(field, None if required else 0.0)
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise CalibrationError(
            f"{path}: field '{field}' must be a number; run `tunedesk calibrate` again or delete it"
        )
    return float(value)


def _key(question: EvalQuestion) -> tuple[str, str]:
    """A stable order before shuffling, so the split depends on the seed and the questions, not the file order."""
    return (question.question, question.id)
