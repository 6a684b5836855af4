"""`python -m ui.start_training`, which `make demo` uses: never a second run of the same adapter."""

from __future__ import annotations

import json
import subprocess
import sys

from core.home import HomeLayout
from ui.start_training import main
from ui.training_runs import PROGRESS, REQUEST, read_run, write_progress


def test_a_running_training_is_not_started_again(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("TUNEDESK_HOME", str(tmp_path))
    trainer = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"])
    try:
        folder = HomeLayout(tmp_path).training / "support"
        folder.mkdir(parents=True)
        (folder / REQUEST).write_text(json.dumps({"name": "support"}), encoding="utf-8")
        write_progress(folder, {"status": "training", "pid": trainer.pid, "step": 2, "max_steps": 24})
        before = (folder / PROGRESS).read_text(encoding="utf-8")

        assert main(["support", str(tmp_path), "--max-steps", "24"]) == 0
        assert "already training" in capsys.readouterr().out
        assert (folder / PROGRESS).read_text(encoding="utf-8") == before  # nothing new was started
        assert read_run(folder).pid == trainer.pid
    finally:
        trainer.kill()
        trainer.wait()


def test_bad_name_and_missing_data_fail_in_one_line(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("TUNEDESK_HOME", str(tmp_path / "home"))
    assert main(["../support", str(tmp_path)]) == 2
    assert capsys.readouterr().err.startswith("error: --name '../support'")
    assert main(["support", str(tmp_path / "missing")]) == 1
    error = capsys.readouterr().err
    assert error.startswith("error: training data: no such file") and error.count("\n") == 1
    assert not HomeLayout(tmp_path / "home").training.exists()
