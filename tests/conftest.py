"""Suite-wide test setup: everything offline, GPU tests skipped without a GPU, and the tiny chat model
that unit tests of every stage share (the real SmolLM2 tokenizer on a random 2-layer Llama)."""

from __future__ import annotations

import os

# Set before any test imports transformers / sentence-transformers, so nothing tries a model hub.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import json  # noqa: E402
from pathlib import Path  # noqa: E402

import pytest  # noqa: E402

from tests.tiny_models import load_chat_tokenizer, packaged_base_gguf, write_tiny_llama  # noqa: E402


@pytest.fixture(scope="session")
def chat_tokenizer():
    """The real SmolLM2 tokenizer with its chat template, read from the packaged GGUF (~4 s, once)."""
    return load_chat_tokenizer()


@pytest.fixture(scope="session")
def tiny_model_dir(chat_tokenizer, tmp_path_factory) -> Path:
    """A randomly initialised 2-layer Llama (hidden 64) saved with the real chat tokenizer (tiny_models.py)."""
    return write_tiny_llama(tmp_path_factory.mktemp("tiny-llama"), chat_tokenizer)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    import torch

    if torch.cuda.is_available():
        return
    skip_gpu = pytest.mark.skip(reason="needs a CUDA GPU; none is visible to torch on this machine")
    for item in items:
        if "gpu" in item.keywords:
            item.add_marker(skip_gpu)


def write_llama_gguf(model_dir: Path, out: Path, tokenizer_gguf: Path) -> Path:
    """A Hugging Face Llama folder written as an F32 GGUF model, as llama.cpp's converter lays it out:
    its tensor names, q/k rows permuted, and the tokenizer metadata copied from `tokenizer_gguf`."""
    import gguf
    import numpy as np
    from safetensors.numpy import load_file

    from finetune.gguf_lora import permute_rows

    config = json.loads((model_dir / "config.json").read_text(encoding="utf-8"))
    weights = load_file(str(model_dir / "model.safetensors"))
    n_head, n_kv = config["num_attention_heads"], config["num_key_value_heads"]
    writer = gguf.GGUFWriter(out, "llama")
    writer.add_type(gguf.GGUFType.MODEL)
    writer.add_name(model_dir.name)
    writer.add_context_length(config["max_position_embeddings"])
    writer.add_embedding_length(config["hidden_size"])
    writer.add_block_count(config["num_hidden_layers"])
    writer.add_feed_forward_length(config["intermediate_size"])
    writer.add_head_count(n_head)
    writer.add_head_count_kv(n_kv)
    writer.add_rope_dimension_count(config["hidden_size"] // n_head)
    writer.add_rope_freq_base(config["rope_parameters"]["rope_theta"])
    writer.add_layer_norm_rms_eps(config["rms_norm_eps"])
    writer.add_vocab_size(config["vocab_size"])
    writer.add_file_type(gguf.LlamaFileType.ALL_F32)
    reader = gguf.GGUFReader(tokenizer_gguf)
    for key, field in reader.fields.items():
        if key.startswith("tokenizer."):
            sub_type = field.types[-1] if field.types[0] == gguf.GGUFValueType.ARRAY else None
            writer.add_key_value(key, field.contents(), field.types[0], sub_type=sub_type)
    names = {
        "input_layernorm": "attn_norm",
        "self_attn.q_proj": "attn_q",
        "self_attn.k_proj": "attn_k",
        "self_attn.v_proj": "attn_v",
        "self_attn.o_proj": "attn_output",
        "post_attention_layernorm": "ffn_norm",
        "mlp.gate_proj": "ffn_gate",
        "mlp.up_proj": "ffn_up",
        "mlp.down_proj": "ffn_down",
    }
    writer.add_tensor("token_embd.weight", weights["model.embed_tokens.weight"].astype(np.float32))
    writer.add_tensor("output_norm.weight", weights["model.norm.weight"].astype(np.float32))
    for layer in range(config["num_hidden_layers"]):
        for hf_name, gguf_name in names.items():
            tensor = weights[f"model.layers.{layer}.{hf_name}.weight"].astype(np.float32)
            if gguf_name in ("attn_q", "attn_k"):
                tensor = permute_rows(tensor, n_head if gguf_name == "attn_q" else n_kv)
            writer.add_tensor(f"blk.{layer}.{gguf_name}.weight", tensor)
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    return out


@pytest.fixture(scope="session")
def tiny_gguf(tiny_model_dir, tmp_path_factory) -> Path:
    """The tiny random Llama as a GGUF model file (F32) that llama.cpp runs."""
    out = tmp_path_factory.mktemp("tiny-gguf") / "tiny.gguf"
    return write_llama_gguf(tiny_model_dir, out, packaged_base_gguf())
