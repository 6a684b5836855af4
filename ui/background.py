"""Background jobs the app starts (training, evaluation): a worker module run as its own process, in its own
session, so closing the browser or restarting the app does not stop it.

A job's folder holds `request.json` (what to do, with the full settings but for their secrets),
`progress.json` (status and figures, written atomically by the worker, merged change by change) and a log
of the worker's output. The secrets (`SECRETS`: the app's password, the generation server's key) reach the
worker through its environment only, so a job folder copied or shown never carries them. This module
starts, reads and stops such processes; it knows nothing about what a job does, nor about Streamlit.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
from collections.abc import Collection
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psutil

from core.settings import Settings
from finetune.checkpoints import write_json_atomic

REQUEST, PROGRESS = "request.json", "progress.json"
SECRETS = (("ui", "admin_password"), ("assistant", "http_api_key"))  # (section, field) of Settings


class RunError(RuntimeError):
    """A job cannot be started or stopped; the message says what to do."""


def launch(folder: Path, worker: str, request: dict[str, Any], settings: Settings, log_name: str) -> None:
    """Write `request` with `settings` (less their secrets) into `folder` and start `python -m worker
    FOLDER` there, the secrets in its environment, its output going to `log_name`."""
    folder.mkdir(parents=True, exist_ok=True)
    dumped = settings.model_dump(mode="json")
    secrets = {}
    for section, name in SECRETS:
        if value := dumped[section].pop(name):
            secrets[_secret_variable(section, name)] = value
    write_json_atomic(folder / REQUEST, {**request, "settings": dumped})
    started = datetime.now(UTC).isoformat(timespec="seconds")
    with open(folder / log_name, "wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", worker, str(folder)],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: survives the app, and can be stopped as a whole
            cwd=Path(__file__).resolve().parent.parent,
            env={**os.environ, **secrets, "HF_HUB_OFFLINE": "1", "PYTHONUNBUFFERED": "1"},
        )
    write_progress(folder, {"status": "starting", "started": started, "pid": process.pid})


def request_settings(request: dict[str, Any]) -> Settings:
    """The settings a job was started with: the request's, with the secrets from the environment.
    `model_validate` (not the constructor), so nothing else is read again from the environment."""
    dumped = json.loads(json.dumps(request["settings"]))  # a copy: the request stays as it was read
    for section, name in SECRETS:
        if value := os.environ.get(_secret_variable(section, name)):
            dumped[section][name] = value
    return Settings.model_validate(dumped)


def _secret_variable(section: str, name: str) -> str:
    """The settings' own environment variable of a secret (what `Settings()` reads it from)."""
    return f"TUNEDESK_{section.upper()}__{name.upper()}"


def write_progress(folder: Path, changes: dict[str, Any]) -> None:
    """Merge `changes` into the job's progress file (atomically)."""
    try:
        current = json.loads((folder / PROGRESS).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        current = {}
    write_json_atomic(folder / PROGRESS, current | changes)


def read_progress(folder: Path, active: Collection[str], log_name: str, what: str) -> dict[str, Any]:
    """The job's progress; a job in an `active` status whose process died without saying so reads as failed
    (the error names `what` process it was and ends with the last lines of its log)."""
    try:
        data = json.loads((folder / PROGRESS).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {"status": "failed", "error": "no progress file; the job never started"}
    status = data.get("status", "failed")
    pid = data.get("pid")
    if status in active and (pid is None or not alive(pid)):
        tail = log_tail(folder / log_name, 3)
        return data | {"status": "failed", "error": f"the {what} process ended unexpectedly. {tail}".strip()}
    return data


def stop(folder: Path, pid: int) -> None:
    """Stop the job's whole process group and record that it was stopped."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pid, signal.SIGTERM)
    write_progress(folder, {"status": "stopped", "error": "stopped from the app"})


def log_tail(path: Path, lines: int = 20) -> str:
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ""
    return "\n".join(text.replace("\r", "\n").splitlines()[-lines:])


def alive(pid: int) -> bool:
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
