"""Fixtures for the evaluation tests: a tiny random Llama with the real SmolLM2 tokenizer, a tiny adapter
trained on synthetic transcripts, a three-document knowledge base and three matching questions."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

DOCUMENTS = {
    "policies/returns.md": "# Returns policy\n\nRouters bought direct can be returned within 30 days of delivery "
    "for a full refund. Opened items returned after 14 days pay a 15% restocking fee.\n",
    "policies/warranty.md": "# Warranty\n\nThe Halo Router warranty lasts two years and covers manufacturing "
    "defects. Water damage is not covered by the warranty.\n",
    "help/lights.md": "# Router lights\n\nA solid amber light on the router means there is no internet. "
    "A white light means everything works.\n",
}

QUESTIONS = [
    {
        "question": "How many days do I have to return a router for a full refund?",
        "answer": "You have 30 days from delivery for a full refund.",
        "sources": ["policies/returns.md"],
        "keywords": ["30 days", "full refund"],
        "kind": "doc",
    },
    {
        "question": "What does the amber light on the router mean?",
        "answer": "A solid amber light means there is no internet.",
        "sources": ["help/lights.md"],
        "keywords": ["no internet"],
        "kind": "procedure",
    },
    {
        "question": "What salary do your support agents make?",
        "answer": "I'm sorry, I don't have information about that.",
        "sources": [],
        "keywords": [],
        "kind": "unanswerable",
    },
]


def write_transcripts(path: Path, count: int = 12) -> Path:
    """`count` distinct short support chats as chat JSONL."""
    topics = ("router", "mesh", "firmware", "warranty", "refund", "light")
    with path.open("w", encoding="utf-8") as stream:
        for index in range(count):
            topic = topics[index % len(topics)]
            messages = [
                {
                    "role": "user",
                    "content": f"Question {index}: my {topic} stopped working after {index} days.",
                },
                {
                    "role": "assistant",
                    "content": f"Sorry about the {topic}. Restart it and wait {index + 2} minutes.",
                },
            ]
            stream.write(json.dumps({"messages": messages}) + "\n")
    return path


@pytest.fixture(scope="session")
def transcripts(tmp_path_factory) -> Path:
    return write_transcripts(tmp_path_factory.mktemp("transcripts") / "chats.jsonl")


@pytest.fixture(scope="session")
def make_settings(tiny_model_dir):
    """Settings for the tiny model under `home`: short answers, short training."""
    from core.settings import Settings

    def build(home: Path, **training) -> Settings:
        defaults = {"max_steps": 4, "batch_size": 2, "save_steps": 2, "eval_steps": 2, "learning_rate": 1e-2}
        return Settings(
            home=home,
            device="cpu",
            model={"base": str(tiny_model_dir)},
            data={"validation_fraction": 0.25, "max_tokens": 256},
            training={**defaults, **training},
            generation={"max_new_tokens": 8},
            assistant={"min_score": 0.0},
        )

    return build


@pytest.fixture(scope="session")
def eval_home(tmp_path_factory, make_settings, transcripts) -> Path:
    """A home with a knowledge base of DOCUMENTS (real MiniLM embedder) and one trained adapter, `support`."""
    from assistant.builders import open_knowledge_base
    from finetune.train import train

    home = tmp_path_factory.mktemp("home")
    settings = make_settings(home)
    docs = tmp_path_factory.mktemp("docs")
    for name, text in DOCUMENTS.items():
        (docs / name).parent.mkdir(parents=True, exist_ok=True)
        (docs / name).write_text(text, encoding="utf-8")
    with open_knowledge_base(settings) as knowledge_base:
        assert not knowledge_base.ingest([docs]).failed
    train(settings, [transcripts], "support")
    return home


@pytest.fixture()
def questions_file(tmp_path) -> Path:
    path = tmp_path / "questions.jsonl"
    path.write_text("".join(json.dumps(q) + "\n" for q in QUESTIONS), encoding="utf-8")
    return path
