"""The forgetting guard: general text mixed into training, and the verdict on how much general ability a run lost.

`data.mix_in` mixes paragraphs of general English into the training samples (the usual mitigation of
catastrophic forgetting): "general" is the packaged `general_mix.txt`, which is not the text forgetting
is measured on (`general_text.txt`), so mixing cannot flatter the measurement. `assess` compares the
general-text perplexity and the general-knowledge probe before and after a run and marks the run when
the perplexity rose by more than `max_forgetting` (relative). Knows nothing about training loops.
"""

from __future__ import annotations

import math
from importlib import resources
from pathlib import Path

from transformers import PreTrainedTokenizerBase

from finetune.general_probe import ProbeResult
from finetune.perplexity import Sample, paragraph_samples

PACKAGED_MIX = "general"


class MixInError(ValueError):
    """The `data.mix_in` text cannot be read; the message names it and what to do."""


def mix_in_samples(
    source: str | None, tokenizer: PreTrainedTokenizerBase, *, max_tokens: int
) -> list[Sample]:
    """Training samples of the mix-in text (every token learned); none when `source` is None."""
    if source is None:
        return []
    if source == PACKAGED_MIX:
        text = resources.files("finetune").joinpath("general_mix.txt").read_text(encoding="utf-8")
    else:
        try:
            text = Path(source).expanduser().read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as error:
            raise MixInError(
                f"data.mix_in {source!r}: cannot read it ({error.__class__.__name__}); give a UTF-8 text "
                'file or "general" for the packaged text'
            ) from None
    samples = paragraph_samples(text, tokenizer, max_tokens=max_tokens)
    if not samples:
        raise MixInError(f"data.mix_in {source!r}: holds no text; give paragraphs separated by blank lines")
    return samples


def assess(
    general_before: float,
    general_after: float,
    probe_before: ProbeResult,
    probe_after: ProbeResult,
    *,
    max_forgetting: float,
    mix_in: str | None,
    mixed_samples: int,
) -> dict:
    """The run's forgetting record; `marked` when general-text perplexity rose more than `max_forgetting`."""
    measured = math.isfinite(general_before) and math.isfinite(general_after) and general_before > 0
    rise = general_after / general_before - 1 if measured else None
    return {
        "general_text_rise": None if rise is None else round(rise, 4),
        "max_forgetting": max_forgetting,
        "marked": rise is not None and rise > max_forgetting,
        "probe": {"before": probe_before.to_dict(), "after": probe_after.to_dict()},
        "mix_in": {"source": mix_in, "samples": mixed_samples},
    }


def describe(record: dict) -> str:
    """One line for the CLI: the rise, the probe, and FORGETTING when the run is marked."""
    rise = record["general_text_rise"]
    probe = record["probe"]
    change = "n/a" if rise is None else f"{rise:+.1%}"
    line = (
        f"general-text perplexity {change} (limit +{record['max_forgetting']:.0%}), general-knowledge probe "
        f"{probe['before']['accuracy']:.0%} -> {probe['after']['accuracy']:.0%}"
    )
    if record["mix_in"]["source"] is not None:
        line += f", {record['mix_in']['samples']} general paragraphs mixed in ({record['mix_in']['source']})"
    if record["marked"]:
        return (
            f'FORGETTING: {line}; mix in general text (data.mix_in = "general"), lower the learning rate '
            "or train fewer steps"
        )
    return f"forgetting check passed: {line}"
