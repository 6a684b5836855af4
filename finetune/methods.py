"""The training methods: which peft configuration each one wraps the base model with, and what it can run on.

    lora    low-rank updates of the attention projections (LoraConfig)
    dora    LoRA with weight decomposition: a learned magnitude per output row (LoraConfig, use_dora)
    qlora   LoRA on a 4-bit base (CUDA + bitsandbytes; the quantization is the loader's job)
    ia3     learned rescaling vectors of keys, values and feed-forward activations (IA3Config)
    prefix  learned key/value vectors prepended in every layer (PrefixTuningConfig)
    prompt  learned input embeddings prepended to the prompt (PromptTuningConfig)
    full    every weight (no peft)

Prefix and prompt tuning prepend virtual tokens to a whole row, so their batches are padded rows, not
one packed row of several samples (`packs`). llama.cpp serves plain LoRA only (`runs_on_llama_cpp`);
the other adapters are served by the transformers backend. Knows nothing about data or training loops.
"""

from __future__ import annotations

from collections.abc import Sequence

METHODS = ("lora", "dora", "ia3", "prefix", "prompt", "full", "qlora")
PROMPT_LEARNING = ("prefix", "prompt")


class MethodError(ValueError):
    """A method is unknown or cannot run here; the message names the setting and what to do."""


def is_peft(method: str) -> bool:
    """Whether the method trains a peft adapter (everything but a full fine-tune)."""
    return method != "full"


def packs(method: str) -> bool:
    """Whether training batches may pack several samples into one row (not with virtual tokens)."""
    return method not in PROMPT_LEARNING


def recorded_method(method: str, *, use_dora: bool) -> str:
    """The method an adapter folder records: `lora` with `use_dora` is DoRA, `qlora` with it QDoRA."""
    if use_dora and method in ("lora", "qlora"):
        return {"lora": "dora", "qlora": "qdora"}[method]
    return method


def runs_on_llama_cpp(method: str) -> bool:
    """Whether llama.cpp can serve the adapter: plain LoRA only (its GGUF LoRA has no DoRA magnitudes)."""
    return method in ("lora", "qlora")


def runnable(method: str, *, cuda: bool) -> bool:
    """Whether the method can train on this device (QLoRA's 4-bit kernels need CUDA and bitsandbytes)."""
    if method != "qlora":
        return True
    if not cuda:
        return False
    try:
        import bitsandbytes  # noqa: F401
    except ImportError:
        return False
    return True


def peft_config(
    method: str,
    *,
    rank: int,
    alpha: int,
    dropout: float,
    target_modules: Sequence[str],
    use_dora: bool,
    num_virtual_tokens: int,
):
    """The peft configuration of `method`; `target_modules` ('all-linear',) means every linear layer."""
    from peft import IA3Config, LoraConfig, PrefixTuningConfig, PromptTuningConfig

    targets = "all-linear" if tuple(target_modules) == ("all-linear",) else list(target_modules)
    match method:
        case "lora" | "qlora" | "dora":
            return LoraConfig(
                r=rank,
                lora_alpha=alpha,
                lora_dropout=dropout,
                target_modules=targets,
                use_dora=use_dora or method == "dora",
                task_type="CAUSAL_LM",
            )
        case "ia3":
            # peft's defaults per architecture (keys, values, the feed-forward down projection): IA3 rescales
            # activations, so the LoRA target list (attention only) would leave the feed-forward untouched.
            return IA3Config(task_type="CAUSAL_LM")
        case "prefix":
            return PrefixTuningConfig(num_virtual_tokens=num_virtual_tokens, task_type="CAUSAL_LM")
        case "prompt":
            return PromptTuningConfig(num_virtual_tokens=num_virtual_tokens, task_type="CAUSAL_LM")
    raise MethodError(f"training.method: {method!r} has no peft adapter; use one of {', '.join(METHODS)}")


def parse_methods(text: str, *, cuda: bool) -> list[str]:
    """A comma-separated `--methods` list, checked; "all" is every method that runs on this device."""
    if text.strip() == "all":
        return [method for method in METHODS if runnable(method, cuda=cuda)]
    chosen = [part.strip() for part in text.split(",") if part.strip()]
    unknown = [method for method in chosen if method not in METHODS]
    if unknown or not chosen:
        raise MethodError(f"--methods {text!r}: use a comma-separated list of {', '.join(METHODS)}, or all")
    blocked = [method for method in chosen if not runnable(method, cuda=cuda)]
    if blocked:
        raise MethodError(
            f"--methods: {', '.join(blocked)} needs a CUDA GPU with bitsandbytes; leave it out here"
        )
    return list(dict.fromkeys(chosen))
