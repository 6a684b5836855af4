"""Generation benchmark: the assistant engine against plain `model.generate`, and the llama.cpp backend
against the transformers backend and against raw llama.cpp, all on the same prompts in the same run.

    python bench/bench_generation.py [--tokens 32] [--repeats 3] [--decode-tokens 128]
    python bench/bench_generation.py --agreement HOME --adapter NAME   # real adapter, both backends
    python bench/bench_generation.py --ttft [--repeats 3]   # only the llama.cpp tuned+rag first-token split

With the packaged SmolLM2-135M-Instruct on CPU (greedy) and four sample documents indexed with the packaged
embedding model, it measures:
  1. engine tokens/s (`Assistant.answer`) vs `model.generate` on the engine's own prompt: the main ratio;
  2. streaming overhead: `Assistant.stream` vs `Assistant.answer` on the same question;
  3. time to first token of a tuned+rag question, split into retrieval, prompt building, prefill and
     the rest (first decoding step, streamer hand-off);
  4. switching between two loaded adapters vs loading the base model;
  5. llama.cpp (generation.backend = llama_cpp): decode tokens/s vs the transformers backend and vs
     `xllamacpp` called directly on the same GGUF; a four-mode comparison, four answers at once vs one
     after another on transformers; tuned+rag time to first token split into retrieval, prompt build and
     llama.cpp's own prefill time (bench/llama_cpp_figures.py).
Each figure is the best of `--repeats` interleaved runs (the machine is shared; the best run is the least
disturbed). The adapters are random LoRA weights: their speed, not their answers, is measured here.
The last line is the llama.cpp decode ratio.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from pathlib import Path

import torch

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from assistant.builders import build_assistant, open_knowledge_base  # noqa: E402
from bench.llama_cpp_figures import agreement, llama_cpp_figures, ttft_only  # noqa: E402
from core.device import resolve_device  # noqa: E402
from core.settings import Settings  # noqa: E402
from finetune.base_model import load_base_model  # noqa: E402

DOCS = (
    "policies/returns-and-refunds.md",
    "help-centre/factory-reset.md",
    "help-centre/guest-network.md",
    "help-centre/troubleshooting-no-internet.md",
)
QUESTION = "how long do i have to send back a router i bought on your website?"


def best_of(repeats: int, run) -> float:
    """Fastest of `repeats` runs, in seconds."""
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        run()
        times.append(time.perf_counter() - started)
    return min(times)


def write_random_adapter(model_dir: Path, folder: Path, name: str, seed: int) -> None:
    import json

    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    base = AutoModelForCausalLM.from_pretrained(model_dir, dtype=torch.float32)
    torch.manual_seed(seed)
    config = LoraConfig(r=16, lora_alpha=32, target_modules=["q_proj", "k_proj", "v_proj", "o_proj"])
    get_peft_model(base, config).save_pretrained(folder)
    from finetune.gguf_lora import export_gguf_lora

    export_gguf_lora(folder, name=name, base_model=str(model_dir))
    info = {"name": name, "base_model": str(model_dir), "method": "lora", "created": f"2026-01-0{seed}"}
    (folder / "tunedesk_adapter.json").write_text(json.dumps(info))


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--tokens", type=int, default=32, help="new tokens per answer")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--decode-tokens", type=int, default=128, help="new tokens in the decode comparison")
    parser.add_argument(
        "--agreement", type=Path, help="home holding a trained adapter: compare backends only"
    )
    parser.add_argument("--adapter", default=None, help="adapter of --agreement (default: the newest)")
    parser.add_argument(
        "--ttft", action="store_true", help="only the llama.cpp tuned+rag time to first token, split"
    )
    args = parser.parse_args()
    if args.agreement:
        agreement(args.agreement, args.adapter)
        return
    work = Path(tempfile.mkdtemp(prefix="bench-generation-"))
    try:
        settings = Settings(
            home=work, device="cpu", generation={"max_new_tokens": args.tokens, "backend": "transformers"}
        )
        docs = work / "docs"
        for relative in DOCS:
            (docs / relative).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(REPO / "data/docs" / relative, docs / relative)
        with open_knowledge_base(settings) as knowledge_base:
            knowledge_base.ingest([docs])

        started = time.perf_counter()
        device = resolve_device("cpu")
        load_base_model(settings.model.base, settings.models_dir, device)  # converts the GGUF once, if needed
        load_base_s = best_of(1, lambda: load_base_model(settings.model.base, settings.models_dir, device))
        model_dir = settings.models_dir / settings.model.base
        for seed, name in enumerate(("first", "second"), 1):
            write_random_adapter(model_dir, settings.adapters_dir / name, name, seed)
        if args.ttft:
            ttft_only(settings, "first", args.repeats)
            return
        assistant = build_assistant(settings)
        generator = assistant.generator
        print(f"setup {time.perf_counter() - started:.1f} s; base model load {load_base_s * 1000:.0f} ms")

        # 1. Engine vs raw generate on the engine's own prompt (rag mode, untuned weights).
        answer = assistant.answer(QUESTION, mode="rag")  # warm-up, and the prompt to replay
        messages = assistant.build_prompt(QUESTION, answer.sources, mode="rag").messages
        # The baseline is what one writes by hand: render the chat template, tokenize, generate greedily.
        tokenizer = generator.tokenizer
        text = tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
        input_ids = tokenizer(text, add_special_tokens=False, return_tensors="pt")["input_ids"]

        def raw() -> int:
            with torch.inference_mode():
                output = generator.model.generate(
                    input_ids=input_ids,
                    attention_mask=torch.ones_like(input_ids),
                    max_new_tokens=args.tokens,
                    do_sample=False,
                    pad_token_id=tokenizer.pad_token_id,
                )
            return output.shape[1] - input_ids.shape[1]

        raw_tokens = raw()
        assert raw_tokens == answer.completion_tokens, (raw_tokens, answer.completion_tokens)
        raw_s, engine_s, stream_s = [], [], []
        for _ in range(args.repeats):
            raw_s.append(best_of(1, raw))
            engine_s.append(best_of(1, lambda: assistant.answer(QUESTION, mode="rag")))
            stream_s.append(best_of(1, lambda: "".join(assistant.stream(QUESTION, mode="rag"))))
        raw_tps, engine_tps, stream_tps = (raw_tokens / min(times) for times in (raw_s, engine_s, stream_s))
        print(
            f"prompt {input_ids.shape[1]} tokens, answer {raw_tokens} tokens: raw generate {raw_tps:.1f} tok/s, "
            f"engine {engine_tps:.1f} tok/s, engine streaming {stream_tps:.1f} tok/s"
        )

        # 3. Time to first token, tuned+rag; prefill is one forward pass over the prompt with the adapter on.
        firsts = []
        for _ in range(args.repeats):
            stream = assistant.stream(QUESTION, mode="tuned+rag", adapter="first")
            "".join(stream)
            firsts.append(stream.answer.timings)
        prefill_s = best_of(args.repeats, lambda: prefill(generator.model, input_ids))
        timings = min(firsts, key=lambda item: item.first_token_ms)
        rest = timings.first_token_ms - timings.retrieval_ms - timings.prompt_ms - prefill_s * 1000
        print(
            f"tuned+rag first token {timings.first_token_ms:.0f} ms = retrieval {timings.retrieval_ms:.0f} + "
            f"prompt build {timings.prompt_ms:.1f} + prefill {prefill_s * 1000:.0f} + first step and hand-off {rest:.0f}"
        )

        # 4. Adapter switching: both adapters already loaded once; switching is set_adapter.
        assistant.answer(QUESTION, mode="tuned", adapter="second")
        switch_s = best_of(
            args.repeats * 10,
            lambda: (generator.model.set_adapter("first"), generator.model.set_adapter("second")),
        )
        print(
            f"adapter switch {switch_s / 2 * 1e6:.0f} us vs base model load {load_base_s * 1000:.0f} ms "
            f"({load_base_s / (switch_s / 2):.0f}x)"
        )
        print(
            f"BENCH generation_stream {stream_tps / engine_tps:.3f} streaming vs whole-answer engine tokens/s"
        )
        print(
            f"BENCH generation_ttft_prefill_share {prefill_s * 1000 / timings.first_token_ms:.3f} prefill share of tuned+rag time to first token"
        )
        print(
            f"BENCH generation {engine_tps / raw_tps:.3f} engine tokens/s vs raw model.generate on the same prompt"
        )
        llama_cpp_figures(
            settings, assistant, QUESTION, decode_tokens=args.decode_tokens, repeats=args.repeats
        )
    finally:
        shutil.rmtree(work, ignore_errors=True)


def prefill(model, input_ids: torch.Tensor) -> None:
    # generate computes logits for the last position only; logits over all positions would cost as much again.
    with torch.inference_mode():
        model(input_ids=input_ids, logits_to_keep=1)


if __name__ == "__main__":
    main()
