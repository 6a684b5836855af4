"""The Training page: data check, a LoRA run started in a background process with the tiny model, live
progress, the adapter list and the active-adapter choice."""

from __future__ import annotations

import json
import random
import time

import pytest

from ui.adapter_choice import stored_choice
from ui.training_runs import list_runs

WORDS = [
    "router",
    "mesh",
    "light",
    "amber",
    "blue",
    "reset",
    "hold",
    "button",
    "seconds",
    "app",
    "firmware",
    "update",
    "refund",
    "label",
    "order",
]


def transcripts(count: int = 12) -> bytes:
    rng = random.Random(0)

    def sentence() -> str:
        return " ".join(rng.choice(WORDS) for _ in range(rng.randint(4, 9))).capitalize() + "."

    lines = []
    for index in range(count):
        messages = [
            {"role": "user", "content": f"Question {index}: {sentence()}"},
            {"role": "assistant", "content": f"Answer {index}: {sentence()} {sentence()}"},
        ]
        lines.append(json.dumps({"messages": messages}))
    return ("\n".join(lines) + "\n").encode()


@pytest.fixture
def training_env(use_empty_home, monkeypatch):
    for key, value in {
        "TUNEDESK_TRAINING__BATCH_SIZE": "2",
        "TUNEDESK_TRAINING__SAVE_STEPS": "2",
        "TUNEDESK_TRAINING__EVAL_STEPS": "2",
        "TUNEDESK_DATA__VALIDATION_FRACTION": "0.2",
        "TUNEDESK_DATA__MAX_TOKENS": "128",
    }.items():
        monkeypatch.setenv(key, value)
    return use_empty_home


def open_with_upload(app):
    page = app("training")
    page.file_uploader[0].set_value([("chats.jsonl", transcripts(), "application/jsonl")])
    page.multiselect[0].set_value([])  # only the uploaded file, not the repository's data/
    return page.run()


def test_data_check_reports_counts(training_env, app):
    page = open_with_upload(app)
    [check] = [button for button in page.button if button.label == "Check data"]
    check.click().run()
    assert not page.exception, [item.value for item in page.exception]
    metrics = {metric.label: metric.value for metric in page.metric}
    assert metrics["Conversations kept"] == "12 of 12"
    assert metrics["Train / validation"] in ("10 / 2", "9 / 3")


@pytest.mark.slow
def test_training_runs_in_the_background_and_publishes_an_adapter(training_env, app):
    page = open_with_upload(app)
    page.text_input[0].set_value("tiny")
    page.number_input[0].set_value(4)
    [start] = [button for button in page.button if button.label == "Start training"]
    start.click().run()
    assert not page.exception, [item.value for item in page.exception]
    assert page.selectbox[0].value == "tiny"  # the new run is shown

    deadline = time.monotonic() + 240
    while (run := list_runs(training_env / "training")[0]).active and time.monotonic() < deadline:
        time.sleep(1)
    assert run.status == "done", run.error
    assert run.step == 4 and run.max_steps == 4
    assert [step for step, _ in run.losses] == [1, 2, 3, 4]
    assert (training_env / "adapters" / "tiny" / "adapter_model.safetensors").is_file()

    page.run()
    assert page.dataframe[0].value["name"].tolist() == ["tiny"]
    assert page.radio[0].value == "tiny"
    assert any("Adapter tiny is ready" in item.value for item in page.success)
    assert stored_choice(training_env / "active_adapter.json") is None  # newest is used until someone chooses
