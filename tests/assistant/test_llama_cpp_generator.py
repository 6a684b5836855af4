"""The llama.cpp backend against transformers + peft on a tiny random Llama written as GGUF: the same greedy
answers with and without a trained LoRA, per-request adapters under concurrency, hot reload, bad files."""

from __future__ import annotations

import shutil
import threading
from pathlib import Path

import pytest

from assistant.decoding import StopDecoding, Usage
from assistant.generation import GenerationError, Sampling, TransformersGenerator
from assistant.llama_cpp_generator import LlamaCppGenerator
from finetune.gguf_check import GGUFFileError
from finetune.gguf_lora import GGUF_NAME, export_gguf_lora

PROMPTS = [
    [{"role": "user", "content": "How do I reset my router?"}],
    [{"role": "user", "content": "Is water damage covered by the warranty?"}],
    [
        {"role": "system", "content": "Answer briefly."},
        {"role": "user", "content": "Which light means no internet?"},
    ],
]
TARGETS = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]


def train_lora(model_dir: Path, tokenizer, folder: Path, text: str, seed: int) -> Path:
    """A LoRA on every linear layer, trained with peft until the tiny model says `text` after any question."""
    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    torch.manual_seed(seed)
    base = AutoModelForCausalLM.from_pretrained(model_dir, dtype=torch.float32)
    model = get_peft_model(base, LoraConfig(r=8, lora_alpha=16, target_modules=TARGETS, lora_dropout=0.0))
    batch = []
    for messages in PROMPTS:
        chat = tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
        # Ending in the end-of-turn token, so greedy decoding stops there instead of wandering into
        # untrained territory where the random model's top tokens are near ties.
        batch.append(tokenizer(chat + text + tokenizer.eos_token, add_special_tokens=False)["input_ids"])
    optimizer = torch.optim.Adam([p for p in model.parameters() if p.requires_grad], lr=1e-2)
    before = {name: p.detach().clone() for name, p in model.named_parameters() if "lora_B" in name}
    for _ in range(30):
        for ids in batch:
            tensor = torch.tensor([ids])
            loss = model(input_ids=tensor, labels=tensor).loss
            loss.backward()
            optimizer.step()
            optimizer.zero_grad()
    changed = [
        name for name, p in model.named_parameters() if name in before and not torch.equal(p, before[name])
    ]
    assert changed, "training left every lora_B at its initial zeros"
    model.peft_config["default"].base_model_name_or_path = str(model_dir)
    model.save_pretrained(folder, safe_serialization=True)
    export_gguf_lora(folder, name=folder.name, base_model=str(model_dir))
    return folder


@pytest.fixture(scope="module")
def loras(tiny_model_dir, chat_tokenizer, tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("gguf-loras")
    return {
        "alpha": train_lora(tiny_model_dir, chat_tokenizer, root / "alpha", "Alpha router reset steps.", 1),
        "beta": train_lora(tiny_model_dir, chat_tokenizer, root / "beta", "Beta warranty lasts long.", 2),
    }


@pytest.fixture(scope="module")
def reference(tiny_model_dir, chat_tokenizer, loras) -> TransformersGenerator:
    import torch
    from transformers import AutoModelForCausalLM

    model = AutoModelForCausalLM.from_pretrained(tiny_model_dir, dtype=torch.float32)
    return TransformersGenerator(model, chat_tokenizer, adapters=loras, max_new_tokens=20)


@pytest.fixture(scope="module")
def llama(tiny_gguf, loras) -> LlamaCppGenerator:
    files = {name: folder / GGUF_NAME for name, folder in loras.items()}
    return LlamaCppGenerator(tiny_gguf, find_adapters=lambda: files, threads=2, slots=2, max_new_tokens=20)


@pytest.mark.slow  # trains two LoRAs on the tiny model first
def test_greedy_answers_equal_transformers_with_and_without_the_lora(llama, reference):
    for messages in PROMPTS:
        for adapter in (None, "alpha", "beta"):
            ours = llama.complete(messages, adapter=adapter)
            theirs = reference.complete(messages, adapter=adapter)
            assert ours.text == theirs.text, (messages, adapter)
            assert ours.usage == theirs.usage
        # The adapter is really applied: it answers what it was trained to, the base does not.
        assert llama.complete(messages, adapter="alpha").text.startswith("Alpha router reset")
        assert llama.complete(messages, adapter=None).text != llama.complete(messages, adapter="alpha").text


@pytest.mark.slow  # trains two LoRAs on the tiny model first
def test_tokens_and_control_tokens_come_from_the_model(llama, reference):
    for messages in PROMPTS:
        assert llama.count_tokens(messages) == reference.count_tokens(messages)
    assert "<|im_start|>" in llama.special_tokens and "<|im_end|>" in llama.special_tokens
    assert sorted(llama.adapters) == ["alpha", "beta"]


@pytest.mark.slow  # trains two LoRAs on the tiny model first
def test_streaming_matches_complete_and_stops_at_stop_strings(llama):
    messages = PROMPTS[0]
    whole = llama.complete(messages, adapter="alpha")
    stream = llama.stream(messages, adapter="alpha")
    pieces = []
    with pytest.raises(StopIteration) as finished:
        while True:
            pieces.append(next(stream))
    assert "".join(pieces) == whole.text and len(pieces) > 1
    assert finished.value.value == whole.usage
    stopped = llama.complete(messages, adapter="alpha", sampling=Sampling(stop=("reset",)))
    assert "steps" not in stopped.text and stopped.usage.completion_tokens < whole.usage.completion_tokens


@pytest.mark.slow  # trains two LoRAs on the tiny model first
def test_a_stream_told_to_stop_stops_decoding_and_counts_the_tokens_read(llama):
    stream = llama.stream(PROMPTS[1], adapter=None, sampling=Sampling(max_new_tokens=2000))
    pieces = [next(stream) for _ in range(3)]
    with pytest.raises(StopIteration) as stopped:
        stream.throw(StopDecoding())
    assert all(pieces) and stopped.value.value == Usage(llama.count_tokens(PROMPTS[1]), 3)
    assert llama.complete(PROMPTS[1], adapter="beta").text.startswith("Beta warranty")  # the slot is free


@pytest.mark.slow  # trains two LoRAs on the tiny model first
def test_a_stream_whose_reader_goes_away_stops_decoding(llama):
    stream = llama.stream(PROMPTS[1], adapter=None, sampling=Sampling(max_new_tokens=2000))
    next(stream)
    stream.close()  # joins the decoding thread: returns only once llama.cpp stopped
    # The slot is free again at once for the next request.
    assert llama.complete(PROMPTS[1], adapter="beta").text.startswith("Beta warranty")


@pytest.mark.slow  # trains two LoRAs on the tiny model first
def test_two_requests_with_different_adapters_at_once_each_get_their_own(llama):
    expected = {name: llama.complete(PROMPTS[2], adapter=name).text for name in ("alpha", "beta")}
    results: dict[str, list[str]] = {"alpha": [], "beta": []}

    def ask(name: str) -> None:
        for _ in range(3):
            results[name].append("".join(llama.stream(PROMPTS[2], adapter=name)))

    threads = [threading.Thread(target=ask, args=(name,)) for name in results]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results == {name: [text] * 3 for name, text in expected.items()}
    assert expected["alpha"] != expected["beta"]


@pytest.mark.slow  # trains two LoRAs on the tiny model first
def test_an_adapter_added_or_retrained_while_serving_is_used_without_a_restart(tiny_gguf, loras, tmp_path):
    files: dict[str, Path] = {}
    generator = LlamaCppGenerator(
        tiny_gguf, find_adapters=lambda: dict(files), threads=2, slots=1, max_new_tokens=8, reload_check_s=0
    )
    assert generator.adapters == []
    base = generator.complete(PROMPTS[0], adapter=None).text
    served = tmp_path / "served.gguf"
    shutil.copy(loras["alpha"] / GGUF_NAME, served)
    files["live"] = served
    assert generator.adapters == ["live"]
    assert generator.complete(PROMPTS[0], adapter="live").text.startswith("Alpha router")
    # Retrained under the same name: the file is replaced, the new weights answer.
    shutil.copy(loras["beta"] / GGUF_NAME, tmp_path / "new.gguf")
    (tmp_path / "new.gguf").replace(served)
    assert generator.complete(PROMPTS[0], adapter="live").text.startswith("Beta warranty")
    assert generator.complete(PROMPTS[0], adapter=None).text == base


@pytest.fixture
def random_lora(adapters_dir, tiny_model_dir, tmp_path) -> Path:
    """The shared random (untrained) adapter `alpha`, exported to GGUF in a copy."""
    folder = tmp_path / "alpha"
    shutil.copytree(adapters_dir / "alpha", folder)
    return export_gguf_lora(folder, name="alpha", base_model=str(tiny_model_dir))


def test_bad_files_are_refused_by_name_before_llama_cpp_sees_them(tiny_gguf, random_lora, tmp_path):
    not_gguf = tmp_path / "notes.gguf"
    not_gguf.write_text("just some text, not a model\n", encoding="utf-8")
    truncated = tmp_path / "truncated.gguf"
    truncated.write_bytes(tiny_gguf.read_bytes()[: tiny_gguf.stat().st_size // 2])
    for bad in (not_gguf, truncated, random_lora):
        with pytest.raises(GGUFFileError, match=str(bad)) as error:
            LlamaCppGenerator(bad, find_adapters=dict, threads=1, slots=1)
        assert "\n" not in str(error.value)

    other_base = tmp_path / "other.gguf"  # same architecture, other dimensions: a LoRA for another model
    write_wide_lora(random_lora, other_base)
    truncated_lora = tmp_path / "cut.gguf"
    whole = random_lora.read_bytes()
    truncated_lora.write_bytes(whole[: len(whole) - 100])
    files = {
        "alpha": random_lora,
        "model": tiny_gguf,
        "notes": not_gguf,
        "other": other_base,
        "cut": truncated_lora,
        "old": tmp_path / "never-exported" / GGUF_NAME,
    }
    generator = LlamaCppGenerator(
        tiny_gguf, find_adapters=lambda: files, threads=1, slots=1, max_new_tokens=4
    )
    assert generator.adapters == ["alpha", "cut", "model", "notes", "old", "other"]
    reasons = {
        "model": "not a GGUF LoRA",
        "notes": "not a readable GGUF",
        "other": "do not fit the base model",
        "cut": "truncated",
        "old": "adapters export old --format gguf",
    }
    for name, reason in reasons.items():
        with pytest.raises(GenerationError, match=reason) as error:
            generator.complete(PROMPTS[0], adapter=name)
        assert str(files[name]) in str(error.value) and "\n" not in str(error.value)
    # The good adapter and the base keep answering, each with its own weights.
    tuned = generator.complete(PROMPTS[0], adapter="alpha")
    assert (
        tuned.usage.completion_tokens > 0 and tuned.text != generator.complete(PROMPTS[0], adapter=None).text
    )
    assert generator.complete(PROMPTS[0], adapter=None).usage.completion_tokens > 0


def write_wide_lora(lora: Path, out: Path) -> None:
    """`lora` with every lora_b twice as wide: what a LoRA of a larger model of the family looks like."""
    import gguf
    import numpy as np

    reader = gguf.GGUFReader(lora)
    writer = gguf.GGUFWriter(out, "llama")
    writer.add_type(gguf.GGUFType.ADAPTER)
    writer.add_string(gguf.Keys.Adapter.TYPE, "lora")
    writer.add_float32(gguf.Keys.Adapter.LORA_ALPHA, 16.0)
    for tensor in reader.tensors:
        data = np.array(tensor.data)
        if tensor.name.endswith("lora_b"):
            data = np.concatenate([data, data], axis=0)
        writer.add_tensor(tensor.name, data)
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()


def test_auto_picks_llama_cpp_for_a_gguf_base_on_the_cpu_only(tiny_model_dir, tiny_gguf, tmp_path):
    from assistant.builders import build_generator, generation_backend
    from core.settings import Settings

    packaged = Settings(home=tmp_path, device="cpu")
    assert packaged.generation.backend == "auto" and generation_backend(packaged) == "llama_cpp"
    assert (
        generation_backend(Settings(home=tmp_path, device="cpu", model={"base": str(tiny_gguf)}))
        == "llama_cpp"
    )
    folder = Settings(home=tmp_path, device="cpu", model={"base": str(tiny_model_dir)})
    assert generation_backend(folder) == "transformers"
    forced = Settings(
        home=tmp_path, device="cpu", model={"base": str(tiny_model_dir)}, generation={"backend": "llama_cpp"}
    )
    with pytest.raises(GenerationError, match="generation.backend = llama_cpp needs a GGUF base model"):
        build_generator(forced)
