"""Worker process for `ingest.loaders.iter_parsed`: `python -m ingest.parse_worker`.

Reads one JSON request per line on stdin, `{"path": ..., "max_bytes": ...}`, and answers on
stdout with `{"started": <time.monotonic()>}` and then `{"document": ...}` or
`{"error": {"path": ..., "reason": ...}}`. JSON rather than pickle: the parent decodes only plain
data. Also holds the codec for `ParsedDocument`, used by both sides.
"""

from __future__ import annotations

import logging
import os
import sys
import warnings
from pathlib import Path
from typing import Any

from ingest.document import IngestError, ParsedDocument, Section
from ingest.parse import parse_file
from ingest.timed_pool import serve_requests


def document_to_json(document: ParsedDocument) -> dict[str, Any]:
    return {
        "title": document.title,
        "sections": [
            {"text": s.text, "headings": list(s.headings), "page": s.page, "start": s.start, "whole": s.whole}
            for s in document.sections
        ],
    }


def document_from_json(data: dict[str, Any]) -> ParsedDocument:
    sections = [
        Section(
            text=s["text"], headings=tuple(s["headings"]), page=s["page"], start=s["start"], whole=s["whole"]
        )
        for s in data["sections"]
    ]
    return ParsedDocument(title=data["title"], sections=sections)


def answer(request: dict[str, Any]) -> dict[str, Any]:
    """Parse the requested file; never raises, so one bad file cannot end the worker."""
    path = Path(request["path"])
    try:
        return {"document": document_to_json(parse_file(path, request["max_bytes"]))}
    except IngestError as error:
        return {"error": {"path": error.path, "reason": error.reason}}
    except Exception as error:  # noqa: BLE001 - a parser bug on one file must not stop the batch
        reason = f"{type(error).__name__}: {error}".splitlines()[0][:200]
        return {
            "error": {
                "path": str(path),
                "reason": f"the parser failed ({reason}); check the file opens elsewhere",
            }
        }


def main() -> None:
    # Keep the protocol channel private: anything a parser prints goes to stderr, not into replies.
    replies = os.fdopen(os.dup(sys.stdout.fileno()), "wb")
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())
    # Parsers log and warn about damage they work around ("EOF marker not found"); what matters to
    # the user comes back as the file's error, so the caller's terminal stays clean.
    logging.getLogger().addHandler(logging.NullHandler())
    warnings.simplefilter("ignore")
    serve_requests(answer, sys.stdin.buffer, replies)


if __name__ == "__main__":
    main()
