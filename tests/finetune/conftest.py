"""Fixtures shared by the fine-tuning tests."""

from __future__ import annotations

from pathlib import Path

import pytest

# Words the synthetic chats are drawn from; varied enough that no two chats are near-duplicates.
TOPIC_TEXT = (
    "router mesh firmware warranty password reset coverage ethernet parental guest update light refund"
)
WORD_TEXT = (
    "please check the cable again then restart unit wait two minutes light turns white solid amber blue "
    "settings page admin address open browser type name network band channel signal strong weak kitchen "
    "upstairs garage office laptop phone television console printer camera doorbell thermostat speaker "
    "order number receipt box label serial sticker bottom back side front button hold seconds release"
)
TOPICS, WORDS = TOPIC_TEXT.split(), WORD_TEXT.split()


def write_support_transcripts(path: Path, count: int = 16, seed: int = 0) -> Path:
    """`count` distinct synthetic support chats as chat JSONL: varied wording, two exchanges each."""
    import json
    import random

    rng = random.Random(seed)

    def sentence(low: int, high: int) -> str:
        return " ".join(rng.choice(WORDS) for _ in range(rng.randint(low, high))).capitalize() + "."

    with path.open("w", encoding="utf-8") as stream:
        for index in range(count):
            topic = TOPICS[index % len(TOPICS)]
            messages = [
                {"role": "user", "content": f"Question {index} about my {topic}: {sentence(4, 8)}"},
                {"role": "assistant", "content": f"About the {topic}: {sentence(5, 14)}"},
                {"role": "user", "content": sentence(3, 6)},
                {"role": "assistant", "content": sentence(4, 10)},
            ]
            stream.write(json.dumps({"messages": messages}) + "\n")
    return path


@pytest.fixture(scope="session")
def support_jsonl(tmp_path_factory) -> Path:
    return write_support_transcripts(tmp_path_factory.mktemp("transcripts") / "chats.jsonl")


@pytest.fixture(scope="session")
def tiny_settings(tiny_model_dir):
    """A function building fast training settings for the tiny model under `home`."""
    from core.settings import Settings

    def build(home: Path, **training) -> Settings:
        defaults = {"max_steps": 6, "batch_size": 2, "save_steps": 2, "eval_steps": 2, "learning_rate": 1e-2}
        return Settings(
            home=home,
            device="cpu",
            model={"base": str(tiny_model_dir)},
            data={"validation_fraction": 0.2, "max_tokens": 256},
            training={**defaults, **training},
        )

    return build


@pytest.fixture(scope="session")
def trained_home(tmp_path_factory, tiny_settings, support_jsonl) -> Path:
    """A home folder holding one adapter, `demo`, trained once for the tests that only read it."""
    from finetune.train import train

    home = tmp_path_factory.mktemp("home")
    train(tiny_settings(home), [support_jsonl], "demo")
    return home
