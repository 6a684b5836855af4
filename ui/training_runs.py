"""Training runs started from the app: each is a separate process (`python -m ui.train_worker FOLDER`) in
its own session, so closing the browser or restarting the app does not stop it.

A run's folder `<home>/training/<name>/` holds `request.json` (what to train, with the full settings),
`progress.json` (written atomically by the worker: status, step, losses) and `train.log` (its output).
The trainer's own checkpoints stay in `<home>/runs/<name>/`, which training removes when it succeeds.
This module starts, reads and stops runs; it knows nothing about Streamlit.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path

import psutil

from core.settings import Settings
from finetune.adapters import adapter_dir
from finetune.checkpoints import write_json_atomic

REQUEST, PROGRESS, LOG = "request.json", "progress.json", "train.log"
ACTIVE = ("starting", "preparing", "training", "finishing", "checking")


class RunError(RuntimeError):
    """A run cannot be started or stopped; the message says what to do."""


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
    folder.mkdir(parents=True, exist_ok=True)
    request = {
        "name": name,
        "data": [str(Path(path).resolve()) for path in data],
        "force": force,
        "settings": settings.model_dump(mode="json"),
    }
    write_json_atomic(folder / REQUEST, request)
    started = datetime.now(UTC).isoformat(timespec="seconds")
    with open(folder / LOG, "wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "ui.train_worker", str(folder)],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: survives the app, and can be stopped as a whole
            cwd=Path(__file__).resolve().parent.parent,
            env={**os.environ, "HF_HUB_OFFLINE": "1", "PYTHONUNBUFFERED": "1"},
        )
    write_progress(folder, {"status": "starting", "started": started, "pid": process.pid})
    return read_run(folder)


def write_progress(folder: Path, changes: dict) -> None:
    """Merge `changes` into the run's progress file (atomically)."""
    try:
        current = json.loads((folder / PROGRESS).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        current = {}
    write_json_atomic(folder / PROGRESS, current | changes)


def read_run(folder: Path) -> RunProgress:
    """A run's progress; a run whose process died without saying so is reported failed."""
    try:
        data = json.loads((folder / PROGRESS).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        data = {"status": "failed", "error": "no progress file; the run never started"}
    run = RunProgress(
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
    if run.active and (run.pid is None or not _alive(run.pid)):
        tail = log_tail(folder, 3)
        return replace(run, status="failed", error=f"the training process ended unexpectedly. {tail}".strip())
    return run


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
    with contextlib.suppress(ProcessLookupError):
        os.killpg(run.pid, signal.SIGTERM)
    write_progress(run.folder, {"status": "stopped", "error": "stopped from the app"})


def log_tail(folder: Path, lines: int = 20) -> str:
    try:
        text = (folder / LOG).read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ""
    return "\n".join(text.replace("\r", "\n").splitlines()[-lines:])


def _alive(pid: int) -> bool:
    try:
        # Reap our own finished child first, or it would linger as a zombie and look alive.
        finished, _ = os.waitpid(pid, os.WNOHANG)
        if finished == pid:
            return False
    except ChildProcessError:
        pass
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False
