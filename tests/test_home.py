"""The home folder's layout: each path where the product has always kept it, and spelled only in core/home.py."""

from __future__ import annotations

import re
from pathlib import Path

from assistant.builders import open_storage
from core.home import HomeLayout
from core.settings import load_settings

ROOT = Path(__file__).resolve().parents[1]
PRODUCT = ("core", "ingest", "finetune", "assistant", "ui")
# Names a home path is built from; a `/ "name"` join of one of them anywhere else spells the layout again.
NAMES = (
    "index",
    "models",
    "adapters",
    "runs",
    "training",
    "eval",
    "uploads",
    "transcripts",
    "chat.sqlite3",
    "active_adapter.json",
    "abstention.json",
    "api_keys.json",
)


def test_each_path_lies_where_it_always_did(tmp_path):
    layout = HomeLayout(tmp_path)
    found = {
        "index": layout.index,
        "models": layout.models,
        "adapters": layout.adapters,
        "runs": layout.runs,
        "training": layout.training,
        "eval": layout.eval,
        "uploads": layout.uploads,
        "transcripts": layout.transcripts,
        "chat.sqlite3": layout.chat_database,
        "active_adapter.json": layout.active_adapter_file,
        "abstention.json": layout.calibration_file,
        "api_keys.json": layout.api_keys_file,
    }
    assert {name: path.relative_to(tmp_path).as_posix() for name, path in found.items()} == {
        name: name for name in NAMES
    }


def test_settings_expose_the_layout_of_their_home(tmp_path):
    settings = load_settings(home=tmp_path / "home")
    assert settings.layout == HomeLayout(tmp_path / "home")
    assert settings.index_dir == settings.layout.index and settings.adapters_dir == settings.layout.adapters
    assert open_storage(settings).path == tmp_path / "home" / "chat.sqlite3"
    moved = load_settings(home=tmp_path / "home", **{"assistant.database": tmp_path / "elsewhere.db"})
    assert open_storage(moved).path == tmp_path / "elsewhere.db"


def _joins(text: str) -> list[str]:
    return re.findall(r"/\s*[\"'](" + "|".join(map(re.escape, NAMES)) + r")[\"']", text)


def test_no_module_but_core_home_spells_a_home_path():
    spelled = {}
    for package in PRODUCT:
        for path in sorted((ROOT / package).rglob("*.py")):
            joins = _joins(path.read_text(encoding="utf-8"))
            if joins and path != ROOT / "core" / "home.py":
                spelled[path.relative_to(ROOT).as_posix()] = joins
    assert spelled == {}


def test_the_spelling_check_sees_a_join():
    assert _joins('folder = settings.home / "runs" / name') == ["runs"]
    assert _joins("path = home /'chat.sqlite3'") == ["chat.sqlite3"]
    assert _joins('"runs": 3, home / name') == []
