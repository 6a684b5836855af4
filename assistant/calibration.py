"""Calibrates the abstention thresholds on one seeded part of the labelled questions and stores them in the home.

The questions are split in two, each class (answerable: any kind but `unanswerable`; unanswerable)
shuffled with the seed on its own, so both parts keep the mix: the threshold is picked on the
`calibration` part only, and the `held_out` part is what a report measures. The file records the
thresholds (best-chunk score and coverage, see assistant/abstention.py), the seed, the share and the ids of
both parts, so a report can take exactly the held-out questions and nobody can score a threshold on the
questions it was picked on.

Knows nothing about models, retrieval or settings: the caller passes `signals`, a function from a
question to what its retriever says about it (`Signals`: best score and coverage).
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

from assistant.abstention import Calibration, Signals, Thresholds, calibrate, refuses
from assistant.evaluation.questions import EvalQuestion
from ingest.atomic import write_atomically

SCHEMA_VERSION = 2  # 2 added coverage_threshold; a version 1 file reads as coverage 0 (off)
DEFAULT_SEED = 13
DEFAULT_SHARE = 0.5  # of each class, for picking the threshold; the rest is held out


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


def choose_threshold(questions: Sequence[EvalQuestion], signals: Callable[[str], Signals]) -> Calibration:
    """The thresholds that best separate these questions' signals (see `abstention.calibrate`)."""
    scores = {question.id: signals(question.question) for question in questions}
    return calibrate(
        [scores[question.id] for question in questions if not unanswerable(question)],
        [scores[question.id] for question in questions if unanswerable(question)],
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


def write_calibration(
    path: Path,
    split: Split,
    chosen: Calibration,
    held_out: AbstentionScores,
    *,
    questions_file: str,
    retriever: dict[str, Any],
) -> None:
    """Write the threshold and everything needed to reproduce and audit it, atomically."""
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
