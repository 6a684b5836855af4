"""While an adapter trains in the background, the tuned modes say they wait for it (Chat and Compare, AppTest)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from core.home import HomeLayout
from ui.modes import ModeCheck, default_mode
from ui.training_runs import REQUEST, write_progress


@pytest.fixture
def training_run(use_empty_home):
    """A run `support` at step 3 of 24 in the home, owned by a live process that stands in for the trainer."""
    process = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"])
    folder = HomeLayout(use_empty_home).training / "support"
    folder.mkdir(parents=True)
    (folder / REQUEST).write_text(json.dumps({"name": "support"}), encoding="utf-8")
    write_progress(
        folder, {"status": "training", "pid": process.pid, "step": 3, "max_steps": 24, "started": "now"}
    )
    yield folder
    process.kill()
    process.wait()


def test_notice_names_the_run_instead_of_asking_for_one():
    training = ModeCheck(None, [], True, "**support** (step 3 of 24)")
    mode, notice = default_mode(training)
    assert mode == "rag"
    assert notice == (
        "Answering in **rag** mode: the adapter **support** (step 3 of 24) is being trained; "
        "the tuned modes switch on when it is published."
    )
    assert training.unavailable("tuned+rag") == training.unavailable("tuned")
    assert training.unavailable("rag") is None
    assert default_mode(ModeCheck("support", ["support"], True, "**other** (step 1 of 2)")) == (
        "tuned+rag",
        None,
    )


def test_chat_says_the_adapter_is_being_trained(training_run, app):
    page = app()
    assert page.selectbox[0].options == ["base"]
    notice = page.info[0].value
    assert "the adapter **support** (step 3 of 24) is being trained" in notice
    assert "switch on when it is published" in notice and "knowledge base is empty" in notice

    write_progress(training_run, {"status": "failed", "error": "stopped"})
    page.run()
    assert "needs a fine-tuned adapter and none exists yet" in page.info[0].value  # nothing trains any more


def test_compare_columns_say_the_adapter_is_being_trained(training_run, app):
    page = app("compare")
    page.text_input[1].set_value("Hello?")
    page.button[1].click().run()  # the "All four modes" form
    assert not page.exception, [item.value for item in page.exception]
    warnings = {item.value.split(":")[0]: item.value for item in page.warning}
    assert set(warnings) == {"rag", "tuned", "tuned+rag"}
    assert "needs documents" in warnings["rag"]
    for mode in ("tuned", "tuned+rag"):
        assert "**support** (step 3 of 24) is being trained" in warnings[mode]
