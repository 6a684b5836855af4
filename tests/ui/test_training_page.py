"""The Training page: data check, a LoRA run started in a background process with the tiny model, live
progress, the adapter list and the active-adapter choice."""

from __future__ import annotations

import json
import random
import time

import pytest

from assistant.adapter_choice import stored_choice
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
    assert any("Memorisation check passed" in item.value for item in page.success)
    # The first adapter is promoted (nothing to compare with) and the page says why.
    assert stored_choice(training_env / "active_adapter.json") == "tiny"
    assert any("Promotion: promoted without comparison" in item.value for item in page.success)
    assert page.dataframe[0].value["promotion"].tolist()[0].startswith("promoted without comparison")


def publish(adapters, name: str, created: str, method: str = "lora") -> None:
    (adapters / name).mkdir(parents=True)
    record = {"name": name, "base_model": "base", "method": method, "created": created}
    (adapters / name / "tunedesk_adapter.json").write_text(json.dumps(record), encoding="utf-8")


def test_the_active_adapter_is_chosen_among_adapters_by_the_one_rule(use_empty_home, app, monkeypatch):
    adapters = use_empty_home / "adapters"
    publish(adapters, "old", "2026-01-01T00:00:00")
    publish(adapters, "new", "2026-02-01T00:00:00")
    publish(adapters, "whole", "2026-03-01T00:00:00", method="full")
    page = app("training")
    assert page.dataframe[0].value["name"].tolist() == ["new", "old", "whole"]
    assert page.radio[0].options == ["new", "old"]  # a full fine-tune is not an adapter to switch to
    assert page.radio[0].value == "new"
    page.radio[0].set_value("old").run()
    [use] = [button for button in page.button if button.label == "Use this adapter"]
    use.click().run()
    assert stored_choice(use_empty_home / "active_adapter.json") == "old"
    assert page.radio[0].value == "old"

    monkeypatch.setenv("TUNEDESK_ASSISTANT__ADAPTER", "new")  # the setting comes before the app's choice
    pinned = app("training")
    assert pinned.radio[0].value == "new" and pinned.radio[0].disabled
    assert "assistant.adapter = new" in pinned.caption[0].value
