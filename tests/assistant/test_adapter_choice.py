"""The one adapter-choice rule: setting > active adapter (while it exists) > newest, never a full fine-tune;
the same answer from the builders (CLI, API) and the app's resources."""

from __future__ import annotations

import json
from pathlib import Path

from assistant.adapter_choice import choose_adapter, store_choice, stored_choice, switchable
from assistant.builders import default_adapter, peft_adapters
from core.settings import load_settings
from finetune.adapters import INFO_NAME, AdapterInfo


def info(name: str, created: str, method: str = "lora") -> AdapterInfo:
    return AdapterInfo(name, Path(name), "base", method, created, "hash", {})


OLD, NEW = info("old", "2026-01-01T00:00:00"), info("new", "2026-02-01T00:00:00")
FULL = info("whole", "2026-03-01T00:00:00", method="full")  # the newest, but a whole model


def test_the_order_is_setting_then_active_then_newest():
    found = [OLD, NEW, FULL]
    assert choose_adapter(found) == "new"
    assert choose_adapter(found, active="old") == "old"
    assert choose_adapter(found, configured="new", active="old") == "new"
    assert choose_adapter(found, active="gone") == "new"  # the chosen one was removed
    assert choose_adapter([]) is None and choose_adapter([FULL]) is None


def test_a_named_adapter_is_kept_even_when_it_does_not_exist():
    # Kept, so the answer says "unknown adapter" instead of silently using another one.
    assert choose_adapter([OLD, NEW], configured="ghost") == "ghost"


def test_a_full_fine_tune_is_never_chosen():
    assert switchable([OLD, FULL, NEW]) == [OLD, NEW]
    assert choose_adapter([OLD, FULL]) == "old"  # the newest is a full fine-tune
    assert choose_adapter([OLD, NEW, FULL], active="whole") == "new"  # chosen on the Training page


def test_the_stored_choice_survives_a_round_trip_and_a_bad_file_reads_as_none(tmp_path):
    path = tmp_path / "home" / "active_adapter.json"
    assert stored_choice(path) is None
    store_choice(path, "old")
    assert stored_choice(path) == "old"
    for broken in ("{not json", '["old"]', '{"adapter": ["old"]}'):
        path.write_text(broken, encoding="utf-8")
        assert stored_choice(path) is None


def publish(adapters: Path, name: str, created: str, method: str = "lora") -> None:
    (adapters / name).mkdir(parents=True)
    record = {"name": name, "base_model": "base", "method": method, "created": created}
    (adapters / name / INFO_NAME).write_text(json.dumps(record), encoding="utf-8")


def test_the_builders_apply_the_rule_to_the_home(tmp_path):
    settings = load_settings(home=tmp_path)
    assert default_adapter(settings) is None
    publish(settings.adapters_dir, "old", "2026-01-01T00:00:00")
    publish(settings.adapters_dir, "new", "2026-02-01T00:00:00")
    publish(settings.adapters_dir, "whole", "2026-03-01T00:00:00", method="full")
    assert [adapter.name for adapter in peft_adapters(settings)] == ["new", "old"]
    assert default_adapter(settings) == "new"
    store_choice(settings.layout.active_adapter_file, "old")
    assert default_adapter(settings) == "old"
    store_choice(settings.layout.active_adapter_file, "whole")
    assert default_adapter(settings) == "new"
    assert default_adapter(load_settings(home=tmp_path, **{"assistant.adapter": "whole"})) == "whole"
