"""Loads FAQ files (.json, .jsonl, .csv): each question/answer pair becomes one whole section.

Rows are objects (JSON array, JSON object holding one array, JSON Lines) or CSV rows with a header.
Field names are matched case-insensitively against the common pairs in `FIELD_PAIRS`.
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

from ingest.document import IngestError, ParsedDocument
from ingest.safety import decode_text
from ingest.sections import Piece, assemble

FIELD_PAIRS = (("question", "answer"), ("q", "a"), ("title", "body"), ("title", "content"), ("title", "text"))
CATEGORY_FIELDS = ("category", "section", "topic")
_EXPECTED = ", ".join(f"{question}/{answer}" for question, answer in FIELD_PAIRS)


def load_faq(path: Path) -> ParsedDocument:
    text = decode_text(path, path.read_bytes())
    match path.suffix.lower():
        case ".csv":
            rows = list(csv.DictReader(io.StringIO(text)))
        case ".jsonl":
            rows = [
                _parse_json(path, line, number)
                for number, line in enumerate(text.split("\n"), 1)
                if line.strip()
            ]
        case _:
            rows = _json_rows(path, _parse_json(path, text, None))
    records = [
        {str(key).strip().lower(): value for key, value in row.items()}
        for row in rows
        if isinstance(row, dict)
    ]
    if not records:
        raise IngestError(path, f"no FAQ rows found; expected a list of objects with {_EXPECTED} fields")
    question_key, answer_key = _field_pair(path, records)
    pieces = []
    for record in records:
        question, answer = _clean(record.get(question_key)), _clean(record.get(answer_key))
        if question and answer:
            category = next(
                (_clean(record.get(key)) for key in CATEGORY_FIELDS if _clean(record.get(key))), ""
            )
            pieces.append(
                Piece(f"Q: {question}\nA: {answer}", headings=(category,) if category else (), whole=True)
            )
    if not pieces:
        raise IngestError(path, f"every row has an empty '{question_key}' or '{answer_key}'; fill them in")
    return assemble(path.stem, pieces)


def _parse_json(path: Path, text: str, line: int | None) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError as error:
        where = f"line {line}" if line is not None else f"line {error.lineno} column {error.colno}"
        raise IngestError(
            path, f"invalid JSON at {where} ({error.msg}); fix the file and ingest again"
        ) from None


def _json_rows(path: Path, data: Any) -> list[Any]:
    if isinstance(data, list):
        return data
    lists = [value for value in data.values() if isinstance(value, list)] if isinstance(data, dict) else []
    if len(lists) == 1:
        return lists[0]
    raise IngestError(
        path, f"expected a JSON array of FAQ objects (or an object holding one) with {_EXPECTED} fields"
    )


def _field_pair(path: Path, records: list[dict[str, Any]]) -> tuple[str, str]:
    fields = set().union(*(record.keys() for record in records))
    for question_key, answer_key in FIELD_PAIRS:
        if question_key in fields and answer_key in fields:
            return question_key, answer_key
    found = ", ".join(sorted(fields)) or "none"
    raise IngestError(path, f"no question/answer fields (found: {found}); name the fields {_EXPECTED}")


def _clean(value: Any) -> str:
    if not isinstance(value, (str, int, float)):
        return ""
    return "\n".join(" ".join(line.split()) for line in str(value).splitlines() if line.strip())
