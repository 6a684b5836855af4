"""End to end with the real packaged SmolLM2-135M-Instruct: convert once, LoRA-train, reload, generate."""

from __future__ import annotations

import json

import pytest
import torch
from peft import PeftModel
from safetensors.torch import load_file
from transformers import AutoModelForCausalLM, AutoTokenizer

from core.settings import Settings
from finetune.base_model import ensure_base_model
from finetune.train import train

pytestmark = pytest.mark.e2e

BASE = "SmolLM2-135M-Instruct"
EXCHANGES = [
    (
        "My Halo Router light is solid amber.",
        "Solid amber means no internet. Restart your modem, then the router.",
    ),
    (
        "How do I factory reset the Halo Router?",
        "Hold the reset button for 10 seconds until the light blinks blue.",
    ),
    ("What is the admin address on firmware 4?", "Open 10.50.0.1 in a browser on your home network."),
    ("How many devices can one router hold?", "Up to 128 devices on firmware 4.1 or later."),
    (
        "The light is pulsing amber, can I unplug it?",
        "Please don't: a firmware update is running. Wait until it is white.",
    ),
    ("How long is the Halo Pro warranty?", "The Halo Pro Router has a 3-year warranty."),
]


def test_lora_on_the_packaged_model(tmp_path):
    data = tmp_path / "chats.jsonl"
    with data.open("w") as stream:
        for question, answer in EXCHANGES:
            messages = [{"role": "user", "content": question}, {"role": "assistant", "content": answer}]
            stream.write(json.dumps({"messages": messages}) + "\n")
    settings = Settings(
        home=tmp_path / "home",
        device="cpu",
        data={"validation_fraction": 0.2, "max_tokens": 128},
        training={"max_steps": 3, "batch_size": 2, "learning_rate": 1e-3},
    )

    result = train(settings, [data], "e2e")

    # The GGUF was converted once into a plain safetensors checkpoint that later loads skip converting.
    cached = settings.models_dir / BASE
    config = json.loads((cached / "config.json").read_text())
    assert "quantization_config" not in config and (cached / "model.safetensors").is_file()
    assert (cached / "chat_template.jinja").is_file()
    written = (cached / "model.safetensors").stat().st_mtime_ns
    assert ensure_base_model(BASE, settings.models_dir) == cached
    assert (cached / "model.safetensors").stat().st_mtime_ns == written

    folder = result.adapter_dir
    assert json.loads((folder / "adapter_config.json").read_text())["base_model_name_or_path"] == str(cached)
    lora_b = [
        tensor for key, tensor in load_file(folder / "adapter_model.safetensors").items() if "lora_B" in key
    ]
    assert lora_b and all(tensor.abs().max() > 0 for tensor in lora_b)
    metrics = json.loads((folder / "metrics.json").read_text())
    assert metrics["steps"] == 3
    assert 1 < metrics["perplexity"]["general_text"]["before"] < 100

    base = AutoModelForCausalLM.from_pretrained(cached, dtype=torch.float32, use_safetensors=True)
    model = PeftModel.from_pretrained(base, folder)
    tokenizer = AutoTokenizer.from_pretrained(folder)
    prompt = tokenizer.apply_chat_template(
        [{"role": "user", "content": "My router light is amber."}],
        add_generation_prompt=True,
        return_tensors="pt",
    )
    input_ids = prompt["input_ids"] if hasattr(prompt, "keys") else prompt
    with torch.inference_mode():
        output = model.generate(input_ids=input_ids, max_new_tokens=12, do_sample=False)
    reply = tokenizer.decode(output[0, input_ids.shape[1] :], skip_special_tokens=True)
    assert len(reply.split()) >= 3
