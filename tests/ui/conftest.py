"""Fixtures for the app tests: a tiny random Llama with the real SmolLM2 chat tokenizer, a random LoRA
adapter for it, and homes with a small knowledge base built with the real packaged embedding model.

The app reads its settings from the environment, so each test points TUNEDESK_* at its home.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

APP = Path(__file__).resolve().parents[2] / "ui" / "app.py"
ADAPTER = "demo"
DOCUMENTS = {
    "returns.md": "# Returns policy\n\nRouters bought direct can be returned within 30 days of delivery "
    "for a full refund. Opened items returned after 14 days pay a 15% restocking fee.\n",
    "warranty.md": "# Warranty\n\nThe Halo Router warranty lasts two years and covers manufacturing defects. "
    "Water damage is not covered by the warranty.\n",
}
QUESTION = "How many days do I have to return a router?"


def tiny_env(home: Path, model_dir: Path) -> dict[str, str]:
    """The environment that points the app at `home` and the tiny model, with short answers."""
    return {
        "TUNEDESK_HOME": str(home),
        "TUNEDESK_DEVICE": "cpu",
        "TUNEDESK_MODEL__BASE": str(model_dir),
        "TUNEDESK_GENERATION__MAX_NEW_TOKENS": "8",
        # Any chunk counts as relevant: the tests check the flow, not the embedder's calibration.
        "TUNEDESK_ASSISTANT__MIN_SCORE": "-1",
        "HF_HUB_OFFLINE": "1",
    }


def write_adapter(adapters_dir: Path, model_dir: Path, name: str) -> Path:
    """A random LoRA adapter (init_lora_weights=False, so tuned answers differ) in the adapter-store layout."""
    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    folder = adapters_dir / name
    base = AutoModelForCausalLM.from_pretrained(model_dir, dtype=torch.float32)
    torch.manual_seed(1)
    config = LoraConfig(r=8, lora_alpha=64, target_modules=["q_proj", "v_proj"], init_lora_weights=False)
    get_peft_model(base, config).save_pretrained(folder, safe_serialization=True)
    info = {
        "name": name,
        "base_model": str(model_dir),
        "method": "lora",
        "data_hash": "test",
        "created": "2026-01-01T00:00:00+00:00",
    }
    (folder / "tunedesk_adapter.json").write_text(json.dumps(info), encoding="utf-8")
    (folder / "metrics.json").write_text(
        json.dumps(
            {"steps": 6, "train_loss": 2.5, "perplexity": {"validation": {"before": 90.0, "after": 40.0}}}
        ),
        encoding="utf-8",
    )
    return folder


def write_docs(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in DOCUMENTS.items():
        (folder / name).write_text(text, encoding="utf-8")
    return folder


@pytest.fixture(scope="session")
def full_home(tmp_path_factory, tiny_model_dir) -> Path:
    """A home with the two documents indexed and one adapter, `demo`."""
    from assistant.builders import open_knowledge_base
    from core.settings import Settings

    home = tmp_path_factory.mktemp("home")
    settings = Settings(home=home, device="cpu", model={"base": str(tiny_model_dir)})
    with open_knowledge_base(settings) as knowledge_base:
        report = knowledge_base.ingest([write_docs(tmp_path_factory.mktemp("docs"))])
    assert not report.failed and len(report.added) == 2
    write_adapter(settings.adapters_dir, tiny_model_dir, ADAPTER)
    return home


@pytest.fixture
def use_full_home(full_home, tiny_model_dir, monkeypatch) -> Path:
    for key, value in tiny_env(full_home, tiny_model_dir).items():
        monkeypatch.setenv(key, value)
    return full_home


@pytest.fixture
def use_empty_home(tmp_path, tiny_model_dir, monkeypatch) -> Path:
    """A fresh home: no documents, no adapter."""
    for key, value in tiny_env(tmp_path / "home", tiny_model_dir).items():
        monkeypatch.setenv(key, value)
    return tmp_path / "home"


@pytest.fixture
def app():
    """A function giving the app, switched to one page and run once."""
    from streamlit.testing.v1 import AppTest

    def open_page(page: str | None = None):
        test = AppTest.from_file(str(APP), default_timeout=120).run()
        if page:
            test.switch_page(f"app_pages/{page}.py").run()
        assert not test.exception, [item.value for item in test.exception]
        return test

    return open_page
