"""Evaluations started from the app: each is a background job (`python -m ui.eval_worker FOLDER`, see
ui.background) that writes its report into its own run folder, `<home>/eval/<UTC timestamp>/`.

Next to the report (results.json, report.md, charts: assistant.evaluation.report) the folder holds
`request.json` (questions file, modes, adapter, number of questions, the settings less their secrets), `progress.json`
(status and answers done per mode) and `eval.log`. The reports list shows a run once its results.json
is written, exactly like a `tunedesk eval` run. One evaluation at a time per home: they compete for the
same CPU. This module starts, reads and stops evaluations; it knows nothing about Streamlit.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from assistant.answer import MODES, uses_adapter
from assistant.evaluation.questions import load_questions
from core.home import HomeLayout
from core.settings import Settings, override
from ui import background
from ui.background import REQUEST, RunError

LOG = "eval.log"
ACTIVE = ("starting", "preparing", "evaluating", "finishing")


@dataclass(frozen=True)
class EvalJob:
    name: str
    folder: Path
    status: str  # starting | preparing | evaluating | finishing | done | failed | stopped
    modes: dict[str, tuple[int, int]] = field(default_factory=dict)  # mode -> (answered, questions)
    error: str = ""
    started: str = ""
    pid: int | None = None

    @property
    def active(self) -> bool:
        return self.status in ACTIVE

    @property
    def fraction(self) -> float:
        total = sum(questions for _, questions in self.modes.values())
        return sum(done for done, _ in self.modes.values()) / total if total else 0.0


def start_eval(
    settings: Settings,
    questions: Path,
    modes: Sequence[str],
    *,
    adapter: str | None = None,
    limit: int | None = None,
) -> EvalJob:
    """Start evaluating `modes` on (at most `limit` of) `questions` in the background; return its first progress."""
    unknown = [mode for mode in modes if mode not in MODES]
    if not modes or unknown:
        raise RunError(f"modes: {', '.join(unknown) or 'none chosen'}; choose from {', '.join(MODES)}")
    if adapter is None and any(uses_adapter(mode) for mode in modes):
        raise RunError("adapter: the tuned modes need one; train an adapter on the Training page first")
    valid, problems = load_questions(questions)  # QuestionsError (a ValueError) when unreadable
    if not valid:
        first = f": {problems[0]}" if problems else ""
        raise RunError(f"{Path(questions).name}: no valid questions{first}")
    running = active_job(settings.home)
    if running is not None:
        raise RunError(f"evaluation {running.name} is still running; wait for it or stop it first")
    request = {
        "questions": str(Path(questions).resolve()),
        "modes": [mode for mode in MODES if mode in modes],
        "adapter": adapter,
        "limit": limit,
    }
    folder = _new_folder(settings.layout.eval)
    job_settings = override(settings, **{"assistant.adapter": adapter})
    background.launch(folder, "ui.eval_worker", request, job_settings, LOG)
    return read_job(folder)


def read_job(folder: Path) -> EvalJob:
    """An evaluation's progress; one whose process died without saying so is reported failed."""
    data = background.read_progress(folder, ACTIVE, LOG, "evaluation")
    return EvalJob(
        name=folder.name,
        folder=folder,
        status=data.get("status", "failed"),
        modes={mode: (int(done), int(total)) for mode, (done, total) in data.get("modes", {}).items()},
        error=data.get("error", ""),
        started=data.get("started", ""),
        pid=data.get("pid"),
    )


def list_jobs(home: Path) -> list[EvalJob]:
    """Every evaluation started from the app, newest first."""
    root = HomeLayout(home).eval
    if not root.is_dir():
        return []
    jobs = [read_job(child) for child in root.iterdir() if (child / REQUEST).is_file()]
    return sorted(jobs, key=lambda job: (job.started, job.name), reverse=True)


def active_job(home: Path) -> EvalJob | None:
    return next((job for job in list_jobs(home) if job.active), None)


def stop_eval(job: EvalJob) -> None:
    """Stop a running evaluation (its whole process group); no report is written."""
    if not job.active or job.pid is None:
        raise RunError(f"evaluation {job.name} is not running")
    background.stop(job.folder, job.pid)


def log_tail(folder: Path, lines: int = 20) -> str:
    return background.log_tail(folder / LOG, lines)


def _new_folder(root: Path) -> Path:
    """`<root>/<UTC timestamp>`, the name `tunedesk eval` gives a run, with a suffix if that second is taken."""
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    folder, number = root / stamp, 1
    while folder.exists():
        number += 1
        folder = root / f"{stamp}-{number}"
    return folder
