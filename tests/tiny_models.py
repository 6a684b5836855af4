"""The tiny chat model that the tests and the benchmarks share: the real SmolLM2 tokenizer, with its chat
template, on a randomly initialised 2-layer Llama, saved as a Hugging Face folder.

Small enough (~3.2M parameters, nearly all in the embedding) that a few training steps take well under a
second on a CPU, yet it goes through exactly the code paths of a real base model.
"""

from __future__ import annotations

from pathlib import Path

PACKAGED_BASE = "SmolLM2-135M-Instruct"


def packaged_base_gguf() -> Path:
    """The packaged SmolLM2 GGUF file (imported here, not at the top: it pulls in torch and transformers)."""
    from finetune.base_model import packaged_gguf

    return packaged_gguf(PACKAGED_BASE)


def load_chat_tokenizer():
    """The real SmolLM2 tokenizer with its chat template, read from the packaged GGUF (~4 s)."""
    from transformers import AutoTokenizer

    path = packaged_base_gguf()
    return AutoTokenizer.from_pretrained(str(path.parent), gguf_file=path.name)


def write_tiny_llama(folder: Path, tokenizer) -> Path:
    """Saves a random 2-layer Llama (hidden size 64, seed 0) with `tokenizer` in `folder`; returns `folder`."""
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    config = LlamaConfig(
        vocab_size=len(tokenizer),
        hidden_size=64,
        intermediate_size=128,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=2048,
        tie_word_embeddings=True,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
    )
    torch.manual_seed(0)
    LlamaForCausalLM(config).save_pretrained(folder, safe_serialization=True)
    tokenizer.save_pretrained(folder)
    return folder
