"""The llama.cpp half of bench/bench_generation.py: decode speed against the transformers backend and raw
llama.cpp, a four-mode comparison at once vs one after another, time to first token, and the agreement of
greedy answers between the two backends with a real trained adapter (`--agreement HOME`).

Every ratio compares figures taken in the same run, interleaved, best of `repeats` (the machine is shared).
"""

from __future__ import annotations

import json
import os
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from assistant.answer import CORE_MODES as MODES
from assistant.builders import build_assistant, build_generator, default_adapter, gguf_base_model
from assistant.generation import Sampling
from core.settings import Settings, override

STORY = [{"role": "user", "content": "Write a long story about a family setting up their new Wi-Fi router."}]
REPO = Path(__file__).resolve().parents[1]
TTFT_QUESTIONS = (
    "how do i factory reset my router?",
    "how can i turn on a guest network for visitors?",
    "my router says no internet, what should i check first?",
)


def tokens_per_s(run) -> float:
    started = time.perf_counter()
    tokens = run()
    return tokens / (time.perf_counter() - started)


def raw_server(model_path: Path):
    """llama.cpp as one writes it by hand with xllamacpp: one slot, every core, the same GGUF."""
    import xllamacpp

    params = xllamacpp.CommonParams()
    params.model.path = str(model_path)
    params.n_ctx = 2048
    params.cpuparams.n_threads = os.cpu_count() or 1
    params.cpuparams_batch.n_threads = os.cpu_count() or 1
    return xllamacpp.Server(params)


def llama_cpp_figures(
    settings: Settings, transformers_assistant, question: str, *, decode_tokens: int, repeats: int
) -> None:
    llama_settings = override(settings, **{"generation.backend": "llama_cpp"})
    llama = build_generator(llama_settings)
    llama_assistant = build_assistant(llama_settings, generator=llama)
    ours = transformers_assistant.generator
    raw = raw_server(gguf_base_model(settings))
    sampling = Sampling(max_new_tokens=decode_tokens)

    def raw_tokens() -> int:
        body = {"messages": STORY, "max_tokens": decode_tokens, "temperature": 0}
        return raw.handle_chat_completions(body)["usage"]["completion_tokens"]

    # 1. Decode speed on a short prompt (prefill is a small share), interleaved.
    speeds: dict[str, list[float]] = {"transformers": [], "llama_cpp": [], "raw": []}
    for _ in range(repeats):
        speeds["transformers"].append(
            tokens_per_s(
                lambda: ours.complete(STORY, adapter=None, sampling=sampling).usage.completion_tokens
            )
        )
        speeds["llama_cpp"].append(
            tokens_per_s(
                lambda: llama.complete(STORY, adapter=None, sampling=sampling).usage.completion_tokens
            )
        )
        speeds["raw"].append(tokens_per_s(raw_tokens))
    best = {name: max(values) for name, values in speeds.items()}
    print(
        f"decode ({decode_tokens} new tokens, short prompt): transformers {best['transformers']:.1f} tok/s, "
        f"llama.cpp backend {best['llama_cpp']:.1f} tok/s, raw xllamacpp {best['raw']:.1f} tok/s"
    )

    # 2. The compare screen: four modes at once on llama.cpp vs one after another on transformers.
    adapter = "first"

    def four(assistant) -> list:
        return [assistant.answer(question, mode=mode, adapter=adapter) for mode in MODES]

    def four_at_once() -> list:
        with ThreadPoolExecutor(len(MODES)) as pool:
            return list(
                pool.map(lambda mode: llama_assistant.answer(question, mode=mode, adapter=adapter), MODES)
            )

    sequential_s, concurrent_s = [], []
    for _ in range(repeats):
        started = time.perf_counter()
        four(transformers_assistant)
        sequential_s.append(time.perf_counter() - started)
        started = time.perf_counter()
        answers = four_at_once()
        concurrent_s.append(time.perf_counter() - started)
    tokens = sum(answer.completion_tokens for answer in answers)
    print(
        f"four-mode comparison ({tokens} answer tokens on llama.cpp): transformers one after another "
        f"{min(sequential_s):.2f} s, llama.cpp at once {min(concurrent_s):.2f} s "
        f"({min(sequential_s) / min(concurrent_s):.1f}x)"
    )

    ttft_split(llama, llama_assistant, raw, adapter, repeats)
    print(
        f"BENCH generate_llamacpp_raw {best['llama_cpp'] / best['raw']:.3f} llama.cpp backend vs raw xllamacpp "
        "decode tokens/s, same GGUF"
    )
    print(
        f"BENCH generate_llamacpp_compare {min(sequential_s) / min(concurrent_s):.3f} four-mode comparison, "
        "transformers sequential wall time over llama.cpp concurrent"
    )
    print(
        f"BENCH generate_llamacpp {best['llama_cpp'] / best['transformers']:.3f} llama.cpp backend vs "
        "transformers backend decode tokens/s, same model and prompt"
    )


def ttft_split(llama, llama_assistant, raw, adapter: str, repeats: int) -> float:
    """Print the time to first token of tuned+rag on llama.cpp, split into retrieval, prompt build and
    prefill; returns the prefill share. Each repeat asks a question not asked before: a repeated prompt
    would be answered from the slot's cache, with no prefill at all."""
    firsts = []
    for fresh in TTFT_QUESTIONS[:repeats]:
        stream = llama_assistant.stream(fresh, mode="tuned+rag", adapter=adapter)
        "".join(stream)
        firsts.append((fresh, stream.answer))
    fresh, answer = min(firsts, key=lambda item: item[1].timings.first_token_ms)
    timings = answer.timings
    messages = llama_assistant.build_prompt(fresh, answer.sources, mode="tuned+rag").messages
    # cache_prompt off: the whole prompt is computed, as for the first question of a conversation.
    prefill_ms = min(
        raw.handle_chat_completions(
            {"messages": messages, "max_tokens": 1, "temperature": 0, "cache_prompt": False}
        )["timings"]["prompt_ms"]
        for _ in range(repeats)
    )
    generation_ms = timings.first_token_ms - timings.retrieval_ms - timings.prompt_ms
    print(
        f"tuned+rag on llama.cpp, {len(answer.sources)} sources, {llama.count_tokens(messages)} prompt tokens: "
        f"first token {timings.first_token_ms:.0f} ms = retrieval {timings.retrieval_ms:.0f} + prompt build "
        f"{timings.prompt_ms:.1f} + prefill and first step {generation_ms:.0f} "
        f"(llama.cpp alone, whole prompt uncached: prefill {prefill_ms:.0f})"
    )
    return prefill_ms / timings.first_token_ms


def ttft_only(settings: Settings, adapter: str, repeats: int) -> None:
    """Only the tuned+rag time-to-first-token split on llama.cpp (`bench_generation.py --ttft`)."""
    llama_settings = override(settings, **{"generation.backend": "llama_cpp"})
    llama = build_generator(llama_settings)
    share = ttft_split(
        llama,
        build_assistant(llama_settings, generator=llama),
        raw_server(gguf_base_model(settings)),
        adapter,
        repeats,
    )
    print(
        f"BENCH generation_ttft_llamacpp_prefill_share {share:.3f} llama.cpp uncached prefill share of "
        "tuned+rag time to first token"
    )


def agreement(home: Path, adapter: str | None, *, questions: int = 20, tokens: int = 20) -> None:
    """Share of questions whose first `tokens` greedy tokens are the same on both backends, for the base
    model and for `adapter` (default: the newest; none yet: the base only)."""
    settings = Settings(home=home, device="cpu")
    adapter = adapter or default_adapter(settings)
    generators = {
        backend: build_generator(override(settings, **{"generation.backend": backend}))
        for backend in ("transformers", "llama_cpp")
    }
    tokenizer = generators["transformers"].tokenizer
    lines = (REPO / "data/eval/questions.jsonl").read_text(encoding="utf-8").splitlines()[:questions]
    sampling = Sampling(max_new_tokens=tokens)
    for mode_adapter in (None, adapter) if adapter else (None,):
        same, prefixes = 0, []
        for line in lines:
            messages = [{"role": "user", "content": json.loads(line)["question"]}]
            ids = {
                backend: tokenizer(
                    generator.complete(messages, adapter=mode_adapter, sampling=sampling).text,
                    add_special_tokens=False,
                )["input_ids"][:tokens]
                for backend, generator in generators.items()
            }
            a, b = ids["transformers"], ids["llama_cpp"]
            prefix = next(
                (i for i, (x, y) in enumerate(zip(a, b, strict=False)) if x != y), min(len(a), len(b))
            )
            same += a == b
            prefixes.append(prefix)
        label = f"adapter {mode_adapter}" if mode_adapter else "base"
        print(
            f"{label}: {same}/{len(lines)} questions with the same first {tokens} greedy tokens; "
            f"mean agreeing prefix {sum(prefixes) / len(prefixes):.1f} tokens"
        )
        print(
            f"BENCH generate_llamacpp_agreement_{'tuned' if mode_adapter else 'base'} {same / len(lines):.3f}"
        )
