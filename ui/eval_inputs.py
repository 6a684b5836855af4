"""Question files for an evaluation from the app: the bundled ones next to `data.eval_questions`, and uploads
saved under `<home>/eval_questions/` once they hold at least one valid question.

Knows nothing about Streamlit; the questions format and its checks are assistant.evaluation.questions'.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from assistant.evaluation.questions import QuestionsError, load_questions
from core.home import HomeLayout
from ingest.atomic import write_bytes_atomically
from ingest.document import IngestError
from ingest.safety import safe_upload_name
from ingest.uploads import Upload

SUFFIX = ".jsonl"


def question_files(configured: Path | None, home: Path) -> list[Path]:
    """The configured questions file and the other JSONL files beside it, then the uploaded ones (sorted)."""
    bundled = sorted(configured.parent.glob(f"*{SUFFIX}")) if configured and configured.is_file() else []
    uploaded = sorted(HomeLayout(home).eval_questions.glob(f"*{SUFFIX}"))
    return bundled + uploaded


def save_questions(upload: Upload, home: Path, *, max_bytes: int) -> tuple[Path, list[str]]:
    """Save an uploaded questions file under `<home>/eval_questions/`; returns its path and the lines skipped.

    Raises IngestError naming the file when it is not JSONL, is empty or too big, or holds no valid question.
    """
    name = Path(safe_upload_name(upload.name)).name
    if Path(name).suffix.lower() != SUFFIX:
        raise IngestError(name, f"questions must be a {SUFFIX} file, one JSON object per line")
    if not upload.data or len(upload.data) > max_bytes:
        raise IngestError(name, f"file is empty or over {max_bytes / 2**20:.0f} MiB (ingest.max_file_mb)")
    with tempfile.TemporaryDirectory() as scratch:
        # Checked before it is stored, so a bad upload never replaces a good file of the same name.
        candidate = Path(scratch) / name
        candidate.write_bytes(upload.data)
        try:
            questions, problems = load_questions(candidate)
        except QuestionsError as error:
            questions, problems = [], [str(error).replace(str(candidate), name)]
    if not questions:
        raise IngestError(name, f"no valid question; first problem: {problems[0] if problems else 'none'}")
    target = HomeLayout(home).eval_questions / name
    write_bytes_atomically(target, upload.data)
    return target, problems
