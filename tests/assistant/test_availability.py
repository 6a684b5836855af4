"""One answer to "why can this mode not run now": the same from the engine, the CLI's builder and the app,
in the words of each shell, and the app's "being trained" while a training run is in progress."""

from __future__ import annotations

import shutil

import pytest

from assistant.answer import MODES
from assistant.availability import APP_HINTS, unavailable
from assistant.builders import unavailable_reason
from assistant.engine import Assistant
from core.settings import load_settings
from ui.modes import ModeCheck


def test_each_missing_piece_has_its_reason():
    ready = {"adapter": "a", "adapters": ["a", "b"], "has_documents": True}
    assert [unavailable(mode, **ready) for mode in MODES] == [None] * len(MODES)
    assert unavailable("tuned", **{**ready, "adapter": None}) == (
        "mode tuned needs a fine-tuned adapter and none exists yet; create one with `tunedesk train`"
    )
    assert unavailable("tuned+rag", **{**ready, "adapter": "c"}) == "unknown adapter 'c' (known: a, b)"
    assert unavailable("rag", **{**ready, "has_documents": False}) == (
        "mode rag needs documents and the knowledge base is empty; add them with `tunedesk ingest PATH`"
    )
    assert unavailable("tuned", **{**ready, "has_documents": False}) is None
    assert unavailable("base", adapter=None, adapters=[], has_documents=False) is None


def test_the_app_says_what_to_do_in_its_words_and_waits_for_a_training_run():
    empty = {"adapter": None, "adapters": [], "has_documents": False, "hints": APP_HINTS}
    assert unavailable("tuned", **empty).endswith("; train one on the Training page")
    assert unavailable("rag", **empty).endswith("; add some on the Documents page")
    waiting = unavailable("tuned+rag", **empty, training="**support** (step 3 of 24)")
    assert waiting == (
        "the adapter **support** (step 3 of 24) is being trained; the tuned modes switch on when it is published"
    )


@pytest.fixture
def home(tmp_path, adapters_dir):
    """The assistant tests' adapters `alpha` and `beta`; no documents."""
    home = tmp_path / "home"
    shutil.copytree(adapters_dir, home / "adapters")
    return home


def test_engine_cli_and_app_give_the_same_answer(home, generator):
    for configured in (None, "gamma"):
        settings = load_settings(home=home, device="cpu", **{"assistant.adapter": configured})
        engine = Assistant(generator, None, default_adapter=configured or "beta")
        app = ModeCheck(configured or "beta", ["alpha", "beta"], has_documents=False)
        for mode in MODES:
            said = unavailable_reason(settings, mode)
            assert engine.unavailable(mode) == said
            assert app.unavailable(mode) == (
                said
                and said.replace("add them with `tunedesk ingest PATH`", "add some on the Documents page")
            )
    assert engine.unavailable("tuned") == "unknown adapter 'gamma' (known: alpha, beta)"
    assert engine.unavailable("tuned", "alpha") is None  # a name given with the question comes first


def test_an_empty_home_has_no_adapter_and_no_documents(tmp_path, generator):
    settings = load_settings(home=tmp_path / "bare", device="cpu")
    engine = Assistant(generator, None, default_adapter=None)
    for mode in MODES:
        assert engine.unavailable(mode) == unavailable_reason(settings, mode)
