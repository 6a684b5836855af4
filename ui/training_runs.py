"""Training runs started from the app: each is a background job (`python -m ui.train_worker FOLDER`, see
ui.background), so closing the browser or restarting the app does not stop it.

A run's folder `<home>/training/<name>/` holds `request.json` (what to train, with the settings less
their secrets), `progress.json` (written atomically by the worker: status, step, losses) and `train.log`
(its output).
The trainer's own checkpoints stay in `<home>/runs/<name>/`, which training removes when it succeeds.
This module starts, reads and stops runs; it knows nothing about Streamlit.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from core.settings import Settings
from finetune.adapters import adapter_dir
from ui import background
from ui.background import PROGRESS, REQUEST, RunError, write_progress

LOG = "train.log"
ACTIVE = ("starting", "preparing", "training", "finishing", "checking")

# The progress file's name and writer are the worker's and the tests' way in; they live in ui.background.
__all__ = [
    "PROGRESS",
    "REQUEST",
    "RunError",
    "RunProgress",
    "list_runs",
    "log_tail",
    "read_run",
    "start_run",
    "stop_run",
    "write_progress",
]


@dataclass(frozen=True)
class RunProgress:
    name: str
    folder: Path
    status: str  # starting | preparing | training | finishing | checking | done | failed | stopped
    step: int = 0
    max_steps: int = 0
    losses: list[tuple[int, float]] = field(default_factory=list)  # (step, training loss)
    eval_losses: list[tuple[int, float]] = field(default_factory=list)
    error: str = ""
    metrics: dict = field(default_factory=dict)
    review: dict = field(default_factory=dict)  # memorisation check and promotion decision
    started: str = ""
    pid: int | None = None

    @property
    def active(self) -> bool:
        return self.status in ACTIVE

    @property
    def fraction(self) -> float:
        return min(1.0, self.step / self.max_steps) if self.max_steps > 0 else 0.0


def start_run(settings: Settings, data: Sequence[Path], name: str, *, force: bool = False) -> RunProgress:
    """Start training adapter `name` on `data` in a background process and return its first progress."""
    adapter_dir(settings.adapters_dir, name)  # refuses a bad name before anything is written
    missing = [str(path) for path in data if not Path(path).exists()]
    if not data or missing:
        raise RunError(
            f"training data: {'no files chosen' if not data else 'no such file: ' + ', '.join(missing)}"
        )
    folder = settings.layout.training / name
    if folder.is_dir() and read_run(folder).active:
        raise RunError(f"a run named {name!r} is already going; wait for it or stop it first")
    request = {
        "name": name,
        "data": [str(Path(path).resolve()) for path in data],
        "force": force,
    }
    background.launch(folder, "ui.train_worker", request, settings, LOG)
    return read_run(folder)


def read_run(folder: Path) -> RunProgress:
    """A run's progress; a run whose process died without saying so is reported failed."""
    data = background.read_progress(folder, ACTIVE, LOG, "training")
    return RunProgress(
        name=folder.name,
        folder=folder,
        status=data.get("status", "failed"),
        step=int(data.get("step", 0)),
        max_steps=int(data.get("max_steps", 0)),
        losses=[(int(step), float(loss)) for step, loss in data.get("losses", [])],
        eval_losses=[(int(step), float(loss)) for step, loss in data.get("eval_losses", [])],
        error=data.get("error", ""),
        metrics=data.get("metrics", {}),
        review=data.get("review", {}),
        started=data.get("started", ""),
        pid=data.get("pid"),
    )


def list_runs(folder: Path) -> list[RunProgress]:
    """Every run started from the app, newest first; `folder` is the home's training folder."""
    if not folder.is_dir():
        return []
    runs = [read_run(child) for child in folder.iterdir() if (child / REQUEST).is_file()]
    return sorted(runs, key=lambda run: run.started, reverse=True)


def stop_run(run: RunProgress) -> None:
    """Stop a running training (its whole process group); nothing is published."""
    if not run.active or run.pid is None:
        raise RunError(f"run {run.name!r} is not running")
    background.stop(run.folder, run.pid)


def log_tail(folder: Path, lines: int = 20) -> str:
    return background.log_tail(folder / LOG, lines)
