"""Every peft method on the tiny random Llama: it trains only its own parameters, saves a self-describing
adapter folder, resumes, and the transformers generator serves it next to LoRA adapters."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file
from transformers import TrainerCallback, set_seed

from core.device import resolve_device
from finetune import methods
from finetune.adapters import AdapterError, export_gguf, list_adapters, merge_adapter
from finetune.base_model import load_tokenizer
from finetune.conversation import Conversation, Message
from finetune.tokenize import tokenize_conversation
from finetune.train import build_model, build_trainer, train

PEFT_TYPES = {"dora": "LORA", "ia3": "IA3", "prefix": "PREFIX_TUNING", "prompt": "PROMPT_TUNING"}


class Killed(Exception):
    """Stands in for the process being killed right after a checkpoint was written."""


class KillAfterSave(TrainerCallback):
    def __init__(self, step: int) -> None:
        self.step = step

    def on_save(self, args, state, control, **kwargs):
        if state.global_step == self.step:
            raise Killed(f"killed after step {self.step}")


@pytest.fixture(scope="module")
def samples(support_jsonl, tiny_model_dir) -> list[dict]:
    tokenizer = load_tokenizer(str(tiny_model_dir), tiny_model_dir)
    chats = [json.loads(line)["messages"] for line in support_jsonl.read_text().splitlines()]
    conversations = [
        Conversation(tuple(Message(turn["role"], turn["content"]) for turn in chat), f"t:{index}")
        for index, chat in enumerate(chats)
    ]
    return [tokenize_conversation(conversation, tokenizer, max_tokens=256) for conversation in conversations]


@pytest.mark.parametrize("method", ["lora", "dora", "ia3", "prefix", "prompt"])
def test_method_trains_its_own_parameters_only(method, tiny_settings, tmp_path, samples, tiny_model_dir):
    settings = tiny_settings(tmp_path, method=method, max_steps=3, early_stopping_patience=0)
    set_seed(0)
    model = build_model(settings.training, settings.model.base, settings.models_dir, resolve_device("cpu"))
    trainable = {name: p.detach().clone() for name, p in model.named_parameters() if p.requires_grad}
    frozen = {name: p.detach().clone() for name, p in model.named_parameters() if not p.requires_grad}
    assert trainable and frozen
    tokenizer = load_tokenizer(str(tiny_model_dir), tiny_model_dir)

    trainer, _ = build_trainer(
        model, tokenizer, samples, [], settings.training, tmp_path / "run", resolve_device("cpu")
    )
    trainer.train()

    after = dict(model.named_parameters())
    unchanged = [name for name, before in trainable.items() if torch.equal(after[name].detach(), before)]
    assert not unchanged, f"{method}: trainable parameters that did not move: {unchanged}"
    for name, before in frozen.items():
        assert torch.equal(after[name].detach(), before), f"{method}: base weight {name} changed"


@pytest.fixture(scope="module")
def method_home(tmp_path_factory, tiny_settings, support_jsonl) -> Path:
    """A home with one adapter per non-LoRA method and a plain LoRA one, each trained for 4 steps."""
    home = tmp_path_factory.mktemp("methods-home")
    for method in ("lora", *PEFT_TYPES):
        settings = tiny_settings(home, method=method, max_steps=4, early_stopping_patience=0)
        train(settings, [support_jsonl], method)
    return home


@pytest.mark.parametrize("method", list(PEFT_TYPES))
def test_adapter_folder_records_the_method(method_home, method):
    folder = method_home / "adapters" / method
    assert json.loads((folder / "tunedesk_adapter.json").read_text())["method"] == method
    assert json.loads((folder / "adapter_config.json").read_text())["peft_type"] == PEFT_TYPES[method]
    assert (folder / "adapter_model.safetensors").is_file()
    # llama.cpp runs plain LoRA only: no GGUF file is written for the others, and asking for one says why.
    assert not (folder / "adapter_model.gguf").exists()
    with pytest.raises(AdapterError, match="GGUF export skipped, llama.cpp runs only plain LoRA"):
        export_gguf(method_home / "adapters", method)
    metrics = json.loads((folder / "metrics.json").read_text())
    assert metrics["perplexity"]["validation"]["after"] < metrics["perplexity"]["validation"]["before"]


def test_every_method_is_measured_against_the_same_base(method_home):
    """ "Before" is the base model for every method, though prefix and prompt tuning start from random
    virtual tokens: the same data gives the same before-figures, so the rows of a comparison line up."""
    before = {}
    for method in ("lora", *PEFT_TYPES):
        metrics = json.loads((method_home / "adapters" / method / "metrics.json").read_text())
        before[method] = (
            metrics["perplexity"]["validation"]["before"],
            metrics["perplexity"]["general_text"]["before"],
            metrics["forgetting"]["probe"]["before"]["accuracy"],
        )
    for method, figures in before.items():
        assert figures == pytest.approx(before["lora"], rel=1e-4), method


def test_dora_is_also_a_lora_option(tmp_path, tiny_settings, support_jsonl):
    settings = tiny_settings(tmp_path, use_dora=True, max_steps=2, early_stopping_patience=0)
    folder = train(settings, [support_jsonl], "lora-dora").adapter_dir
    assert json.loads((folder / "tunedesk_adapter.json").read_text())["method"] == "dora"
    assert json.loads((folder / "adapter_config.json").read_text())["use_dora"] is True
    assert any("lora_magnitude_vector" in key for key in load_file(folder / "adapter_model.safetensors"))


def test_every_method_is_listed(method_home):
    listed = {info.name: info.method for info in list_adapters(method_home / "adapters")}
    assert listed == {"lora": "lora", "dora": "dora", "ia3": "ia3", "prefix": "prefix", "prompt": "prompt"}


def test_prompt_tuning_cannot_be_merged(method_home, tmp_path):
    with pytest.raises(AdapterError, match="virtual tokens"):
        merge_adapter(method_home / "adapters", "prompt", tmp_path / "merged")


def test_prompt_tuning_resumes_to_the_same_weights(tmp_path, tiny_settings, support_jsonl):
    quick = {"method": "prompt", "max_steps": 4, "early_stopping_patience": 0}
    straight = train(tiny_settings(tmp_path / "a", **quick), [support_jsonl], "p").adapter_dir
    settings = tiny_settings(tmp_path / "b", **quick)
    with pytest.raises(Killed):
        train(settings, [support_jsonl], "p", callbacks=[KillAfterSave(2)])
    result = train(settings, [support_jsonl], "p", resume=True)
    assert result.resumed_from == "checkpoint-2"
    expected = load_file(straight / "adapter_model.safetensors")
    for key, tensor in load_file(result.adapter_dir / "adapter_model.safetensors").items():
        torch.testing.assert_close(tensor, expected[key], rtol=1e-5, atol=1e-6)


def test_parse_methods_checks_names():
    assert methods.parse_methods("all", cuda=False) == ["lora", "dora", "ia3", "prefix", "prompt", "full"]
    assert methods.parse_methods("ia3, lora,ia3", cuda=False) == ["ia3", "lora"]
    with pytest.raises(methods.MethodError, match="--methods 'lora,adapterx'"):
        methods.parse_methods("lora,adapterx", cuda=False)
    with pytest.raises(methods.MethodError, match="qlora needs a CUDA GPU"):
        methods.parse_methods("qlora", cuda=False)
