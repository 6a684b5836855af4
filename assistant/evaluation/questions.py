"""Loads and checks the evaluation questions: one JSON object per line of a JSONL file.

    {"question": "...", "answer": "reference answer", "sources": ["policies/returns.md"],
     "keywords": ["30 days"], "kind": "doc"}

`sources` are paths relative to the documents folder that was ingested; `keywords` are the facts an
answer must state; `kind` is one of doc, procedure, both, unanswerable. A bad line is reported as
`file:line: field: problem` and skipped; the other lines still load. Knows nothing about models.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

KINDS = ("doc", "procedure", "both", "unanswerable")


@dataclass(frozen=True)
class EvalQuestion:
    id: str  # "<file name>:<line>", stable while the file is unchanged
    question: str
    answer: str
    sources: tuple[str, ...]
    keywords: tuple[str, ...]
    kind: str


class QuestionsError(ValueError):
    """The questions file cannot be used at all; the message names it."""


def load_questions(path: Path) -> tuple[list[EvalQuestion], list[str]]:
    """(questions, problems): every valid line, and one line of text per line that was skipped."""
    try:
        lines = Path(path).read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as error:
        raise QuestionsError(f"{path}: cannot read the questions file ({error})") from None
    questions: list[EvalQuestion] = []
    problems: list[str] = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        where = f"{Path(path).name}:{number}"
        try:
            questions.append(_parse(line, where))
        except ValueError as error:
            problems.append(f"{where}: {error}")
    return questions, problems


def stratified(questions: Sequence[EvalQuestion], limit: int | None) -> list[EvalQuestion]:
    """At most `limit` questions with every kind in proportion, evenly spread over the file (deterministic).

    Every kind gets one question first (when `limit` allows), then kinds take turns by largest
    remaining share, so a small kind is never left out of the per-kind breakdown.
    """
    if limit is None or limit >= len(questions):
        return list(questions)
    by_kind: dict[str, list[EvalQuestion]] = {}
    for question in questions:
        by_kind.setdefault(question.kind, []).append(question)
    quota = {kind: limit * len(items) / len(questions) for kind, items in by_kind.items()}
    start = 1 if limit >= len(by_kind) else 0
    taken = {kind: start for kind in by_kind}
    for _ in range(limit - start * len(by_kind)):
        kind = max(by_kind, key=lambda k: (quota[k] - taken[k], -list(by_kind).index(k)))
        taken[kind] += 1
    chosen = {q.id for kind, items in by_kind.items() for q in _spread(items, taken[kind])}
    return [question for question in questions if question.id in chosen]


def _spread(items: list[EvalQuestion], count: int) -> list[EvalQuestion]:
    """`count` items evenly spaced over the list: a file grouped by topic still gives every topic a turn."""
    return [items[int((index + 0.5) * len(items) / count)] for index in range(count)]


def _parse(line: str, where: str) -> EvalQuestion:
    try:
        record = json.loads(line)
    except ValueError as error:
        raise ValueError(f"not valid JSON ({error.args[0]})") from None
    if not isinstance(record, dict):
        raise ValueError("each line must be a JSON object")
    question = _text(record, "question")
    kind = record.get("kind")
    if kind not in KINDS:
        raise ValueError(f"field 'kind': {kind!r} is not one of {', '.join(KINDS)}")
    sources = _strings(record, "sources")
    keywords = _strings(record, "keywords")
    if kind != "unanswerable" and not keywords:
        raise ValueError("field 'keywords': an answerable question needs at least one keyword")
    return EvalQuestion(where, question, _text(record, "answer"), sources, keywords, kind)


def _text(record: dict, field: str) -> str:
    value = record.get(field)
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"field '{field}': missing or empty; give a non-empty string")
    return value.strip()


def _strings(record: dict, field: str) -> tuple[str, ...]:
    value = record.get(field, [])
    if not isinstance(value, list) or not all(isinstance(item, str) and item.strip() for item in value):
        raise ValueError(f"field '{field}': give a list of non-empty strings")
    return tuple(item.strip() for item in value)
