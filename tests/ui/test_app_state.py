"""Small pieces of the app: mode fallback, the password check, run liveness."""

from __future__ import annotations

import subprocess
import sys

from ui.auth import password_matches
from ui.modes import ModeCheck, default_mode
from ui.training_runs import read_run, write_progress


def test_default_mode_falls_back_with_a_notice():
    assert default_mode(ModeCheck("a", ["a"], True)) == ("tuned+rag", None)
    mode, notice = default_mode(ModeCheck(None, [], True))
    assert mode == "rag" and notice == (
        "Answering in **rag** mode: mode tuned needs a fine-tuned adapter and none exists yet; "
        "train one on the Training page."
    )
    assert default_mode(ModeCheck("a", ["a"], False))[0] == "tuned"
    assert default_mode(ModeCheck(None, [], False))[0] == "base"
    assert ModeCheck(None, [], True).available() == ["base", "rag"]
    assert ModeCheck("a", ["a"], True).unavailable("rag") is None


def test_an_adapter_the_setting_names_but_that_is_gone_is_reported_not_replaced():
    check = ModeCheck("gone", ["a"], True)
    assert check.available() == ["base", "rag"]
    assert check.unavailable("tuned+rag") == "unknown adapter 'gone' (known: a)"
    assert "unknown adapter 'gone'" in default_mode(check)[1]


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
