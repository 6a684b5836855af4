"""Adapters llama.cpp cannot run (DoRA here) are answered by transformers, said once in the log;
the transformers generator switches between adapters of different peft types and back."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
import torch

from assistant.generation import TransformersGenerator
from assistant.llama_cpp_generator import LlamaCppGenerator
from assistant.routed_generator import RoutedGenerator

MESSAGES = [{"role": "user", "content": "How do I reset my router?"}]


def save_adapter(model_dir: Path, folder: Path, config) -> Path:
    """A randomly initialised peft adapter (so its answers differ from the base model's)."""
    from peft import get_peft_model
    from transformers import AutoModelForCausalLM

    torch.manual_seed(3)
    base = AutoModelForCausalLM.from_pretrained(model_dir, dtype=torch.float32)
    model = get_peft_model(base, config)
    model.peft_config["default"].base_model_name_or_path = str(model_dir)
    model.save_pretrained(folder, safe_serialization=True)
    return folder


@pytest.fixture(scope="module")
def adapters(tiny_model_dir, tmp_path_factory) -> dict[str, Path]:
    """A LoRA, a DoRA, an IA3 and a prompt-tuning adapter, randomly initialised."""
    from peft import IA3Config, LoraConfig, PromptTuningConfig

    root = tmp_path_factory.mktemp("typed-adapters")
    lora = LoraConfig(r=8, lora_alpha=64, target_modules=["q_proj", "v_proj"], init_lora_weights=False)
    dora = LoraConfig(
        r=8, lora_alpha=64, target_modules=["q_proj", "v_proj"], init_lora_weights=False, use_dora=True
    )
    ia3 = IA3Config(task_type="CAUSAL_LM", init_ia3_weights=False)
    prompt = PromptTuningConfig(num_virtual_tokens=8, task_type="CAUSAL_LM")
    return {
        "halo": save_adapter(tiny_model_dir, root / "halo", lora),
        "decomposed": save_adapter(tiny_model_dir, root / "decomposed", dora),
        "scale": save_adapter(tiny_model_dir, root / "scale", ia3),
        "tips": save_adapter(tiny_model_dir, root / "tips", prompt),
    }


def transformers_generator(model_dir: Path, tokenizer, adapters: dict[str, Path]) -> TransformersGenerator:
    from transformers import AutoModelForCausalLM

    model = AutoModelForCausalLM.from_pretrained(model_dir, dtype=torch.float32)
    return TransformersGenerator(model, tokenizer, adapters=adapters, max_new_tokens=12)


def test_switching_between_peft_types_gives_each_adapters_own_answers(
    tiny_model_dir, chat_tokenizer, adapters
):
    alone = {
        name: transformers_generator(tiny_model_dir, chat_tokenizer, {name: path}).complete(
            MESSAGES, adapter=name
        )
        for name, path in adapters.items()
    }
    shared = transformers_generator(tiny_model_dir, chat_tokenizer, adapters)
    base = shared.complete(MESSAGES, adapter=None).text
    assert alone["halo"].text != base
    for name in ("halo", "tips", "scale", "halo", None, "tips"):
        expected = base if name is None else alone[name].text
        assert shared.complete(MESSAGES, adapter=name).text == expected, name
    # One peft model holds one type: the prompt-tuning adapter replaced the LoRA and IA3 ones.
    assert shared.model.active_peft_config.peft_type == "PROMPT_TUNING"


def test_llama_cpp_hands_other_methods_to_transformers_and_says_so_once(
    tiny_gguf, tiny_model_dir, chat_tokenizer, adapters, caplog
):
    builds = []

    def build_fallback() -> TransformersGenerator:
        builds.append(1)
        return transformers_generator(tiny_model_dir, chat_tokenizer, {"decomposed": adapters["decomposed"]})

    llama = LlamaCppGenerator(tiny_gguf, find_adapters=dict, threads=2, slots=1, max_new_tokens=12)
    routed = RoutedGenerator(
        llama, find_fallback=lambda: {"decomposed": "dora"}, build_fallback=build_fallback
    )
    reference = transformers_generator(tiny_model_dir, chat_tokenizer, {"decomposed": adapters["decomposed"]})

    assert routed.adapters == ["decomposed"]
    assert routed.complete(MESSAGES, adapter=None).text == llama.complete(MESSAGES, adapter=None).text
    assert not builds  # the base model is answered by llama.cpp; transformers is not even loaded
    with caplog.at_level(logging.WARNING, logger="assistant.routed_generator"):
        first = routed.complete(MESSAGES, adapter="decomposed")
        pieces = routed.stream(MESSAGES, adapter="decomposed")
        streamed = "".join(pieces)
    assert first.text == reference.complete(MESSAGES, adapter="decomposed").text == streamed
    assert first.text != llama.complete(MESSAGES, adapter=None).text
    assert len(builds) == 1
    notes = [record.getMessage() for record in caplog.records]
    assert notes == [
        "adapter 'decomposed' (dora): llama.cpp runs only plain LoRA adapters; answering with the "
        "transformers backend for it (slower)"
    ]
