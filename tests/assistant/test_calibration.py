"""Calibrating the abstention threshold: a seeded split per class, the threshold picked without ever scoring
the held-out part, the file in the home, and `tunedesk calibrate` / `tunedesk ask` using it."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from assistant.abstention import Signals, Thresholds
from assistant.calibration import (
    CalibrationError,
    choose_precedent_threshold,
    choose_threshold,
    measure,
    precedent_scores,
    read_precedent_threshold,
    read_thresholds,
    split_questions,
    write_calibration,
)
from assistant.cli.app import app
from assistant.evaluation.questions import EvalQuestion

ANSWERABLE = (
    "How many days do I have to return a router for a full refund?",
    "Is there a restocking fee when I return an opened item?",
    "How long is the Halo Router warranty?",
    "Is water damage covered by the warranty?",
)
UNANSWERABLE = (
    "what is the capital of mongolia",
    "who won the football world cup in 1998",
    "recommend a recipe for pasta carbonara",
    "how far away is the moon",
)


def questions() -> list[EvalQuestion]:
    made = [
        EvalQuestion(f"q.jsonl:{n}", text, "ref", (), ("x",), "doc") for n, text in enumerate(ANSWERABLE, 1)
    ]
    made += [
        EvalQuestion(f"q.jsonl:{n}", text, "ref", (), (), "unanswerable")
        for n, text in enumerate(UNANSWERABLE, 5)
    ]
    return made


def test_the_split_is_seeded_per_class_and_disjoint():
    items = questions()
    split = split_questions(items, share=0.5, seed=7)
    assert (
        split_questions(list(reversed(items)), share=0.5, seed=7) == split
    )  # the file order does not matter
    calibration = {question.id for question in split.calibration}
    held_out = {question.id for question in split.held_out}
    assert not calibration & held_out and calibration | held_out == {question.id for question in items}
    for part in (split.calibration, split.held_out):
        assert sorted(question.kind for question in part) == ["doc", "doc", "unanswerable", "unanswerable"]
    others = {tuple(q.id for q in split_questions(items, share=0.5, seed=seed).held_out) for seed in range(8)}
    assert len(others) > 1  # the seed decides
    with pytest.raises(CalibrationError, match="at least 2 unanswerable questions"):
        split_questions(items[:5], share=0.5, seed=7)
    with pytest.raises(CalibrationError, match="--share 1.0"):
        split_questions(items, share=1.0, seed=7)


def test_the_threshold_is_picked_without_scoring_the_held_out_questions(knowledge_base):
    split = split_questions(questions(), share=0.5, seed=3)
    asked: list[str] = []

    def best_score(question: str) -> Signals:
        asked.append(question)
        hits = knowledge_base.search(question, 3)
        return Signals(max(hit.score for hit in hits), knowledge_base.coverage(question, hits).share)

    chosen = choose_threshold(split.calibration, best_score)
    assert sorted(asked) == sorted(question.question for question in split.calibration)
    assert not set(asked) & {question.question for question in split.held_out}
    # Picked on the calibration part, it separates it at least as well as refusing nothing does.
    assert chosen.balanced_accuracy >= 0.5
    held_out = measure(split.held_out, best_score, chosen.thresholds)
    assert (held_out.answerable, held_out.unanswerable) == (2, 2)


def test_measure_counts_refusals_as_the_positive_class():
    scores = dict(zip(ANSWERABLE + UNANSWERABLE, (0.9, 0.8, 0.3, 0.7, 0.2, 0.6, 0.1, 0.1), strict=True))
    result = measure(questions(), lambda question: Signals(scores[question]), Thresholds(0.5))
    assert result.recall == 0.75  # 3 of 4 unanswerable refused
    assert result.precision == 0.75  # 3 of the 4 refusals were unanswerable
    assert result.answerable_refused == 0.25
    assert measure(questions(), lambda question: Signals(1.0), Thresholds(0.5)).precision is None
    # Coverage refuses too: every question below 0.5 coverage counts as refused.
    covered = measure(
        questions(),
        lambda question: Signals(1.0, 0.9 if question in ANSWERABLE else 0.1),
        Thresholds(0.5, 0.5),
    )
    assert (covered.recall, covered.precision, covered.answerable_refused) == (1.0, 1.0, 0.0)


def calibrated():
    """A split, the thresholds chosen on its calibration part, and their scores on its held-out part."""
    split = split_questions(questions(), share=0.5, seed=1)
    chosen = choose_threshold(
        split.calibration, lambda question: Signals(0.9 if question in ANSWERABLE else 0.1)
    )
    return split, chosen, measure(split.held_out, lambda question: Signals(0.5), chosen.thresholds)


def refused(path: Path, text: str, read, message: str) -> None:
    """Writing `text` into the calibration file makes `read` fail with one error matching `message`."""
    path.write_text(text)
    with pytest.raises(CalibrationError, match=message):
        read(path)


def test_the_file_round_trips_and_a_broken_one_is_a_clear_error(tmp_path):
    split, chosen, held_out = calibrated()
    path = tmp_path / "abstention.json"
    write_calibration(path, split, chosen, held_out, questions_file="q.jsonl", retriever={"top_k": 3})
    record = json.loads(path.read_text())
    assert read_thresholds(path) == Thresholds(record["threshold"], record["coverage_threshold"])
    assert (
        record["threshold"] == chosen.threshold == pytest.approx(0.5) and record["coverage_threshold"] == 0.0
    )
    assert (record["seed"], record["share"]) == (1, 0.5)
    assert record["held_out_ids"] == [question.id for question in split.held_out]
    assert read_thresholds(tmp_path / "missing.json") is None
    # A file from before the coverage signal holds only the score threshold: coverage is off.
    path.write_text('{"schema_version": 1, "threshold": 0.4}')
    assert read_thresholds(path) == Thresholds(0.4, 0.0)
    refused(
        path, '{"threshold": "high"}', read_thresholds, "abstention.json: field 'threshold' must be a number"
    )
    refused(
        path,
        '{"threshold": 0.4, "coverage_threshold": null}',
        read_thresholds,
        "abstention.json: field 'coverage_threshold' must be a number",
    )
    refused(path, "[0.4]", read_thresholds, "abstention.json: not a calibration record")
    refused(path, "{not json", read_thresholds, "run `tunedesk calibrate` again or delete it")


def test_the_past_exchange_threshold_has_the_best_f1_and_ties_go_to_showing_fewer():
    # (similarity of the nearest past exchange, its reply holds a fact the question needs)
    observed = [(0.9, True), (0.8, True), (0.75, False), (0.7, True), (0.5, False), (0.4, False)]
    chosen = choose_precedent_threshold(observed)
    assert chosen.threshold == 0.7 and chosen.shown == 4 and chosen.recall == 1.0
    assert chosen.precision == pytest.approx(0.75)
    assert precedent_scores(observed, 0.85) == type(chosen)(0.85, 1.0, 1 / 3, 1, 6)
    # Equal F1 (2/3) at 0.9 (precision 1, recall 1/2) and at 0.6 (precision 1/2, recall 1): the higher wins.
    tied = [(0.9, True), (0.8, False), (0.7, False), (0.6, True)]
    assert choose_precedent_threshold(tied).threshold == 0.9
    # No useful reply at all: a threshold above every observation, nothing shown.
    never = choose_precedent_threshold([(0.9, False), (0.3, False)])
    assert never.threshold > 0.9 and never.shown == 0 and never.precision is None
    with pytest.raises(CalibrationError, match="at least one question"):
        choose_precedent_threshold([])


def test_the_record_keeps_the_past_exchange_threshold_and_a_broken_one_is_named(tmp_path):
    split, chosen, held_out = calibrated()
    picked = choose_precedent_threshold([(0.8, True), (0.5, False)])
    path = tmp_path / "abstention.json"
    write_calibration(
        path,
        split,
        chosen,
        held_out,
        questions_file="q.jsonl",
        retriever={"top_k": 3},
        precedent=(picked, precedent_scores([(0.7, False)], picked.threshold)),
    )
    record = json.loads(path.read_text())
    assert record["precedent_threshold"] == read_precedent_threshold(path) == 0.8
    assert record["precedent"]["held_out"] == {
        "threshold": 0.8,
        "precision": None,
        "recall": None,
        "shown": 0,
        "questions": 1,
    }
    # A record from before (or one calibrated without example exchanges) holds none: the setting decides.
    path.write_text('{"schema_version": 2, "threshold": 0.4, "coverage_threshold": 0.1}')
    assert read_precedent_threshold(path) is None and read_thresholds(path) == Thresholds(0.4, 0.1)
    refused(
        path,
        '{"threshold": 0.4, "precedent_threshold": "often"}',
        read_precedent_threshold,
        "abstention.json: field 'precedent_threshold' must be a number",
    )
    refused(
        path,
        '{"threshold": 0.4, "precedent_threshold": 1.7}',
        read_precedent_threshold,
        "'precedent_threshold' must be a similarity between -1 and 1",
    )


@pytest.fixture(scope="module")
def home(full_home) -> Path:
    return full_home


@pytest.fixture
def env(monkeypatch, tiny_model_dir):
    monkeypatch.setenv("TUNEDESK_MODEL__BASE", str(tiny_model_dir))
    monkeypatch.setenv("TUNEDESK_GENERATION__MAX_NEW_TOKENS", "4")
    monkeypatch.setenv("TUNEDESK_DEVICE", "cpu")


def write_questions(folder: Path, bad_line: bool = False) -> Path:
    lines = [json.dumps({"question": q, "answer": "a", "keywords": ["k"], "kind": "doc"}) for q in ANSWERABLE]
    lines += [json.dumps({"question": q, "answer": "a", "kind": "unanswerable"}) for q in UNANSWERABLE]
    if bad_line:
        lines.insert(2, '{"question": "no kind"}')
    path = folder / "questions.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def ask(home: Path, question: str) -> dict:
    result = CliRunner().invoke(app, ["--home", str(home), "ask", question, "--mode", "rag", "--json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_calibrate_writes_the_threshold_and_ask_uses_it(home, env, tmp_path, monkeypatch):
    from assistant.builders import abstention_thresholds
    from core.settings import load_settings

    result = CliRunner().invoke(
        app, ["--home", str(home), "calibrate", str(write_questions(tmp_path)), "--seed", "5"]
    )
    assert result.exit_code == 0, result.output
    assert "held out 4 questions: abstention recall" in result.stdout and "best f1" in result.stdout
    # So few questions check the thresholds that the command says so, and how to go back to the setting.
    assert "unanswerable question(s) were held out to check them" in result.stderr
    assert f"or delete {home / 'abstention.json'} to abstain by assistant.min_score" in result.stderr
    path = home / "abstention.json"
    record = json.loads(path.read_text())
    assert record["seed"] == 5 and len(record["calibration_ids"]) == len(record["held_out_ids"]) == 4
    assert record["calibration"]["objective"] == "f1"
    assert abstention_thresholds(load_settings(home=home)) == Thresholds(
        record["threshold"], record["coverage_threshold"]
    )

    # The file decides, not the setting: a threshold above every score abstains without the model...
    path.write_text(json.dumps(record | {"threshold": 0.99}))
    refused = ask(home, ANSWERABLE[0])
    assert refused["abstained"] and refused["completion_tokens"] == 0
    # ... and one below every score lets the model answer although the setting would refuse.
    path.write_text(json.dumps(record | {"threshold": -1.0, "coverage_threshold": 0.0}))
    monkeypatch.setenv("TUNEDESK_ASSISTANT__MIN_SCORE", "0.99")
    answered = ask(home, ANSWERABLE[0])
    assert answered["completion_tokens"] > 0
    # A coverage threshold refuses a question whose topic word no document holds, and names that word.
    path.write_text(json.dumps(record | {"threshold": -1.0, "coverage_threshold": 0.9}))
    uncovered = ask(home, "Does the router warranty cover zigbee?")
    assert uncovered["abstained"] and uncovered["completion_tokens"] == 0
    assert "The documents never mention: zigbee." in uncovered["answer"]
    assert ask(home, ANSWERABLE[3])["completion_tokens"] > 0  # its words are all in the documents

    path.write_text("{broken")
    broken = CliRunner().invoke(app, ["--home", str(home), "ask", ANSWERABLE[0], "--mode", "rag"])
    assert broken.exit_code == 1
    assert broken.output.strip().splitlines() == [
        f"error: {path}: cannot be read (Expecting property name enclosed in double quotes: line 1 column 2 (char 1)); "
        "run `tunedesk calibrate` again or delete it"
    ]
    path.unlink()


def test_calibrate_skips_a_bad_line_says_so_and_still_writes(home, env, tmp_path):
    questions_file = write_questions(tmp_path, bad_line=True)
    result = CliRunner().invoke(app, ["--home", str(home), "calibrate", str(questions_file)])
    assert result.exit_code == 1
    assert "warning: skipped questions.jsonl:3: field 'kind'" in result.stderr
    assert read_thresholds(home / "abstention.json") is not None
    (home / "abstention.json").unlink()
    missing = CliRunner().invoke(app, ["--home", str(home), "calibrate", str(tmp_path / "nope.jsonl")])
    assert missing.exit_code == 2 and "QUESTIONS: no such file" in missing.stderr
    unknown = CliRunner().invoke(
        app, ["--home", str(home), "calibrate", str(questions_file), "--objective", "accuracy"]
    )
    assert unknown.exit_code == 2
    assert unknown.stderr.strip() == "error: --objective accuracy: use one of f1, balanced"
    assert not (home / "abstention.json").exists()


def test_calibrate_search_skips_a_bad_line_says_so_and_still_saves(home, env, tmp_path):
    sources = ("returns.md", "returns.md", "warranty.md", "warranty.md")
    lines = [
        json.dumps({"question": q, "answer": "a", "sources": [s], "keywords": ["k"], "kind": "doc"})
        for q, s in zip(ANSWERABLE, sources, strict=True)
    ]
    lines.insert(1, '{"question": "unterminated')
    path = tmp_path / "search.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    fusion = home / "index" / "fusion.json"
    saved = fusion.read_text() if fusion.exists() else None
    try:
        result = CliRunner().invoke(app, ["--home", str(home), "calibrate-search", str(path)])
        assert result.exit_code == 1, result.output
        assert "warning: skipped search.jsonl:2: not valid JSON" in result.stderr
        assert "chose dense" in result.stdout and fusion.exists()  # the other lines still count
    finally:
        if saved is None:
            fusion.unlink(missing_ok=True)
        else:
            fusion.write_text(saved)


def test_calibrate_with_example_exchanges_picks_when_to_show_a_past_one(
    home, env, tmp_path, transcripts_file
):
    from assistant.builders import precedent_threshold
    from core.settings import load_settings

    indexed = CliRunner().invoke(app, ["--home", str(home), "fewshot-index", str(transcripts_file)])
    assert indexed.exit_code == 0, indexed.output
    lines = [
        json.dumps({"question": q, "answer": "a", "keywords": [k], "kind": "doc"})
        for q, k in (
            ("does the warranty cover water damage", "manufacturing defects"),
            ("router light is solid amber", "restart the modem"),
            ("what is the halo warranty length", "two years"),
            ("can i return my router after two weeks", "30 days"),
        )
    ]
    lines += [json.dumps({"question": q, "answer": "a", "kind": "unanswerable"}) for q in UNANSWERABLE]
    questions_file = tmp_path / "questions.jsonl"
    questions_file.write_text("\n".join(lines) + "\n", encoding="utf-8")
    try:
        result = CliRunner().invoke(app, ["--home", str(home), "calibrate", str(questions_file)])
        assert result.exit_code == 0, result.output
        assert "past exchanges shown from similarity" in result.stdout
        record = json.loads((home / "abstention.json").read_text())
        assert record["precedent"]["calibration"]["questions"] == len(record["calibration_ids"])
        assert precedent_threshold(load_settings(home=home)) == record["precedent_threshold"]
    finally:
        shutil.rmtree(home / "fewshot")
        (home / "abstention.json").unlink(missing_ok=True)
