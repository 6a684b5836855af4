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


@pytest.mark.slow
def test_cli_from_feedback_trains_dpo_on_votes_and_reports_the_reward_before_and_after(
    tmp_path, eval_home, tiny_model_dir, questions_file, monkeypatch
):
    from typer.testing import CliRunner

    from assistant.cli.app import app
    from assistant.storage import Storage

    home = tmp_path / "home"
    shutil.copytree(eval_home, home)
    storage = Storage(home / "chat.sqlite3")
    for index, fact in enumerate(FACTS * 2):
        source = Source(1, f"doc{index}", "policies/doc.md", "Policy", None, 0.9, fact)
        good = Answer(f"{fact} [1]", "tuned+rag", "support", [source], prompt_tokens=80, completion_tokens=12)
        bad = Answer(
            f"Maybe {index + 40} days.",
            "tuned+rag",
            "support",
            [source],
            prompt_tokens=80,
            completion_tokens=5,
        )
        storage.record_vote(f"Question {index} about the policy?", good, bad, "A")
    for key, value in {
        "TUNEDESK_TRAINING__BATCH_SIZE": "2",
        "TUNEDESK_DATA__MAX_TOKENS": "256",
        "TUNEDESK_DATA__VALIDATION_FRACTION": "0.25",
        "TUNEDESK_DATA__EVAL_QUESTIONS": str(questions_file),
        "TUNEDESK_GENERATION__MAX_NEW_TOKENS": "8",
        "TUNEDESK_ASSISTANT__MIN_SCORE": "0",
    }.items():
        monkeypatch.setenv(key, value)
    arguments = ["--home", str(home), "--device", "cpu", "train", "--from-feedback", "--name", "voted"]
    options = ["--base", str(tiny_model_dir), "--max-steps", "2", "--lr", "5e-3", "--eval-limit", "3"]

    result = CliRunner().invoke(app, [*arguments, *options, "--json"])

    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    assert payload["method"] == "dpo" and payload["pairs"] == 6 and payload["from_adapter"] == "support"
    assert 0.0 <= payload["metrics"]["dpo"]["rewards_accuracies"] <= 1.0
    reward = payload["reward"]
    assert reward["mode"] == "tuned+rag" and reward["questions"] == 3
    assert all(isinstance(reward[side], float) and -10 < reward[side] <= 1 for side in ("before", "after"))
    recorded = json.loads((home / "adapters" / "voted" / "metrics.json").read_text())
    assert recorded["reward"] == reward and "rewards_margins" in recorded["dpo"]
    both = CliRunner().invoke(app, [*arguments, *options, "--dpo", str(questions_file)])
    assert both.exit_code == 2 and "--from-feedback: give neither DATA, --dpo nor --context" in both.stderr
