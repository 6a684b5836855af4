"""Small pieces of the app: mode fallback, the password check, run liveness."""

from __future__ import annotations

import subprocess
import sys

from ui.auth import password_matches
from ui.modes import available_modes, default_mode, unavailable_reason
from ui.training_runs import read_run, write_progress


def test_default_mode_falls_back_with_a_notice():
    assert default_mode(True, True) == ("tuned+rag", None)
    mode, notice = default_mode(False, True)
    assert mode == "rag" and "no fine-tuned adapter" in notice
    assert default_mode(True, False)[0] == "tuned"
    assert default_mode(False, False)[0] == "base"
    assert available_modes(False, True) == ["base", "rag"]
    assert unavailable_reason("tuned", False, True).startswith("needs a fine-tuned adapter")
    assert unavailable_reason("rag", True, True) is None


def test_password_check():
    assert password_matches("s3cret", "s3cret")
    assert not password_matches("s3cre", "s3cret")
    assert not password_matches("", "s3cret")


def test_a_run_whose_process_died_is_reported_failed(tmp_path):
    process = subprocess.Popen(
        [sys.executable, "-c", "print('Killed: out of memory')"], stdout=subprocess.DEVNULL
    )
    (tmp_path / "train.log").write_text("loading\nKilled: out of memory\n", encoding="utf-8")
    write_progress(tmp_path, {"status": "training", "pid": process.pid, "step": 3, "max_steps": 10})
    process.wait()
    run = read_run(tmp_path)
    assert run.status == "failed" and not run.active
    assert "ended unexpectedly" in run.error and "out of memory" in run.error
    assert run.fraction == 0.3
