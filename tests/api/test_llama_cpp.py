"""The API on the llama.cpp backend: a broken adapter file gives a one-line error naming the file, the
server keeps serving the base model and the good adapter, and an adapter added while it runs is served."""

from __future__ import annotations

import shutil

import httpx

from assistant.engine import Assistant
from assistant.llama_cpp_generator import LlamaCppGenerator
from finetune.gguf_lora import GGUF_NAME, export_gguf_lora


def ask(url: str, model: str) -> httpx.Response:
    body = {"model": model, "messages": [{"role": "user", "content": "How do I reset my router?"}]}
    return httpx.post(f"{url}/v1/chat/completions", json=body | {"max_tokens": 6}, timeout=60)


def test_bad_adapters_fail_alone_and_new_ones_are_picked_up(
    make_app, serve, adapters_dir, tiny_gguf, tiny_model_dir, knowledge_base, tmp_path
):
    good = tmp_path / "alpha"
    shutil.copytree(adapters_dir / "alpha", good)
    export_gguf_lora(good, name="alpha", base_model=str(tiny_model_dir))
    truncated = tmp_path / "cut.gguf"
    truncated.write_bytes((good / GGUF_NAME).read_bytes()[:300])
    files = {"alpha": good / GGUF_NAME, "cut": truncated, "model": tiny_gguf}
    generator = LlamaCppGenerator(
        tiny_gguf, find_adapters=lambda: dict(files), threads=1, slots=2, max_new_tokens=6, reload_check_s=0
    )
    assistant = Assistant(generator, knowledge_base, min_score=0.2, default_adapter="alpha")
    with serve(make_app(assistant=assistant)) as url:
        for name, words in (("cut", "truncated"), ("model", "not a GGUF LoRA")):
            failed = ask(url, f"tunedesk-tuned:{name}")
            message = failed.json()["error"]["message"]
            assert failed.status_code == 500 and words in message and str(files[name]) in message
            assert "\n" not in message
        assert ask(url, "tunedesk-base").status_code == 200
        tuned = ask(url, "tunedesk-tuned:alpha")
        assert tuned.status_code == 200 and tuned.json()["choices"][0]["message"]["content"]

        files["later"] = good / GGUF_NAME  # published while the server runs
        listed = httpx.get(f"{url}/v1/models").json()["data"]
        assert "tunedesk-tuned:later" in {model["id"] for model in listed}
        later = ask(url, "tunedesk-tuned:later")
        assert later.status_code == 200
        assert (
            later.json()["choices"][0]["message"]["content"]
            == tuned.json()["choices"][0]["message"]["content"]
        )
