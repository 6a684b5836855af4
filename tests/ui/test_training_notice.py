"""While an adapter trains in the background, the tuned modes say they wait for it (Chat and Compare, AppTest)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from core.home import HomeLayout
from ui.modes import default_mode, unavailable_reason
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
    mode, notice = default_mode(False, True, "**support** (step 3 of 24)")
    assert mode == "rag"
    assert (
        "**support** (step 3 of 24) is being trained" in notice and "switch on when it is published" in notice
    )
    assert "train one on the Training page" not in notice
    assert "being trained" in unavailable_reason("tuned+rag", False, True, "**support** (step 3 of 24)")
    assert unavailable_reason("rag", False, True, "**support** (step 3 of 24)") is None
    assert default_mode(True, True, "**support** (step 3 of 24)") == ("tuned+rag", None)


def test_chat_says_the_adapter_is_being_trained(training_run, app):
    page = app()
    assert page.selectbox[0].options == ["base"]
    notice = page.info[0].value
    assert "the adapter **support** (step 3 of 24) is being trained" in notice
    assert "switch on when it is published" in notice and "knowledge base is empty" in notice

    write_progress(training_run, {"status": "failed", "error": "stopped"})
    page.run()
    assert "no fine-tuned adapter exists yet" in page.info[0].value  # nothing is training any more


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
