"""Perplexity of the base model and of the tuned one (base + adapter) on held-out transcripts and general text.

Held-out transcripts are the adapter's own validation split when they can be reproduced: the split is
fixed by each conversation's content and the seed, so preparing the same transcripts with the data
settings recorded in the adapter's `training_config.json` gives back exactly the conversations it
never trained on (the recorded data hash confirms it). Other transcripts get a split with the same
settings, and the result says so. Only assistant tokens are scored. Knows nothing about answers.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from assistant.evaluation.metrics import relative_change
from core.settings import DataSettings
from finetune.collate import IGNORE_INDEX
from finetune.dataset import prepare_data
from finetune.perplexity import general_text_samples, perplexity
from finetune.tokenize import tokenize_conversation


@dataclass(frozen=True)
class HeldOut:
    samples: list[dict[str, list[int]]]
    split: str  # how the samples were chosen, for the report


def held_out_samples(
    transcripts: Sequence[Path], tokenizer: Any, adapter_dir: Path, data: DataSettings
) -> HeldOut:
    """Tokenized held-out conversations from `transcripts`, the adapter's validation split when possible.

    Every data setting the adapter recorded replaces the one in `data` (scrubbing and its keep list, the
    evaluation-leak removal, limits, split), since each of them changes which conversations are kept.
    """
    config = _training_config(adapter_dir)
    known = {key: value for key, value in config.get("data", {}).items() if key in DataSettings.model_fields}
    used = DataSettings.model_validate({**data.model_dump(), **known})
    prepared = prepare_data(list(transcripts), tokenizer, used)
    samples = [tokenize_conversation(c, tokenizer, max_tokens=used.max_tokens) for c in prepared.validation]
    samples = [sample for sample in samples if any(label != IGNORE_INDEX for label in sample["labels"])]
    if config.get("data_hash") == prepared.data_hash:
        split = f"the adapter's validation split ({len(samples)} conversations, seed {used.seed})"
    else:
        split = (
            f"a seeded split ({len(samples)} conversations, {used.validation_fraction:.0%}, seed {used.seed}); "
            "these transcripts are not the adapter's training data"
        )
    return HeldOut(samples, split)


def compare_perplexity(
    model: Any,
    tokenizer: Any,
    adapter_dir: Path,
    held_out: HeldOut | None,
    *,
    batch_size: int = 8,
    max_tokens: int = 1024,
) -> dict[str, Any]:
    """{"transcripts"|"general_text": {"base", "tuned", "relative_change"}}; wraps `model` with the adapter."""
    from peft import PeftModel

    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id
    sets = {"general_text": general_text_samples(tokenizer, max_tokens=max_tokens)}
    if held_out is not None and held_out.samples:
        sets["transcripts"] = held_out.samples
    base = {
        name: perplexity(model, samples, pad_token_id=pad, batch_size=batch_size)
        for name, samples in sets.items()
    }
    tuned_model = PeftModel.from_pretrained(model, adapter_dir).eval()
    tuned = {
        name: perplexity(tuned_model, samples, pad_token_id=pad, batch_size=batch_size)
        for name, samples in sets.items()
    }
    result: dict[str, Any] = {
        name: {
            "base": base[name],
            "tuned": tuned[name],
            "relative_change": relative_change(base[name], tuned[name]),
        }
        for name in sets
    }
    if "transcripts" in result:
        result["transcripts"]["split"] = held_out.split
        result["transcripts"]["conversations"] = len(held_out.samples)
    return result


def recorded_perplexity(metrics: dict[str, Any]) -> dict[str, Any]:
    """The before/after perplexities an adapter's training recorded, in `compare_perplexity`'s shape."""
    recorded = metrics.get("perplexity", {})
    result: dict[str, Any] = {}
    for ours, theirs in (("transcripts", "validation"), ("general_text", "general_text")):
        values = recorded.get(theirs)
        if isinstance(values, dict) and "before" in values and "after" in values:
            before, after = values["before"], values["after"]
            result[ours] = {"base": before, "tuned": after, "relative_change": relative_change(before, after)}
    if "transcripts" in result:
        result["transcripts"]["split"] = "the adapter's validation split, as measured when it was trained"
    return result


def _training_config(adapter_dir: Path) -> dict[str, Any]:
    try:
        return json.loads((Path(adapter_dir) / "training_config.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
