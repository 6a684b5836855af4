"""`train --from-feedback` on thumbs only: KTO from the tuned modes' adapter with the tiny model, sources in the
prompts, a new adapter whose trainable weights moved, the old one untouched."""

from __future__ import annotations

import json
import math
import shutil

import pytest
from safetensors.torch import load_file

from assistant.answer import Answer, Source
from assistant.builders import open_storage
from assistant.feedback_training import train_from_feedback
from finetune.recipe import TrainError

FACTS = [
    "Routers bought direct can be returned within 30 days of delivery for a full refund.",
    "The Halo Router warranty lasts two years and covers manufacturing defects.",
    "A solid amber light on the router means there is no internet.",
]


def rate_answers(storage) -> None:
    """Eight distinct questions, each answered in tuned+rag from one source and rated once: no pairs."""
    for index in range(8):
        fact = FACTS[index % len(FACTS)]
        source = Source(1, f"doc{index}", "policies/doc.md", "Policy", None, 0.9, fact)
        good = index % 2 == 0
        text = f"{fact} [1]" if good else f"Nobody knows, maybe {index} years."
        conversation = storage.new_conversation()
        message = storage.add_exchange(
            conversation,
            f"Question {index} about the policy?",
            Answer(text, "tuned+rag", "support", [source], prompt_tokens=80, completion_tokens=12),
        )
        storage.record_feedback(message, "up" if good else "down")


@pytest.mark.slow
def test_kto_trains_on_thumbs_only_feedback(tmp_path, eval_home, make_settings):
    home = tmp_path / "home"
    shutil.copytree(eval_home / "adapters" / "support", home / "adapters" / "support")
    settings = make_settings(home, max_steps=3, learning_rate=5e-3)
    with pytest.raises(TrainError, match="no feedback to train on"):
        train_from_feedback(settings, "support-fb", eval_limit=0)
    rate_answers(open_storage(settings))
    before = load_file(home / "adapters" / "support" / "adapter_model.safetensors")

    run = train_from_feedback(settings, "support-fb", eval_limit=0)

    assert run.method == "kto" and run.from_adapter == "support"  # the adapter the tuned modes use
    assert len(run.feedback.rated) == 8 and not run.feedback.pairs
    assert all(FACTS[0] in row["prompt"][-1]["content"] for row in run.feedback.rated[::3])
    folder = home / "adapters" / "support-fb"
    after = load_file(folder / "adapter_model.safetensors")
    assert set(after) == set(before)
    assert any(not after[key].equal(before[key]) for key in before)
    unchanged = load_file(home / "adapters" / "support" / "adapter_model.safetensors")
    assert all(unchanged[key].equal(before[key]) for key in before)

    metrics = json.loads((folder / "metrics.json").read_text())
    assert metrics["steps"] == 3 and math.isfinite(metrics["train_loss"])
    assert math.isfinite(metrics["kto"]["kl"]) and "rewards_chosen" in metrics["kto"]
    config = json.loads((folder / "training_config.json").read_text())
    assert config["preference"]["method"] == "kto" and config["preference"]["from_adapter"] == "support"
    # Four up, four down: the loss weights stay equal.
    assert config["preference"]["desirable_weight"] == config["preference"]["undesirable_weight"] == 1.0
    assert not (home / "runs" / "support-fb").exists()
