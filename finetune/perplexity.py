"""Perplexity of a causal LM on labelled samples: exp of the mean negative log-likelihood per scored token.

Only tokens whose label is not -100 count, so on tokenized conversations this scores the assistant's
replies alone. `general_text_samples` turns the neutral English prose shipped with the package into
samples where every token counts, to show how much general language ability tuning cost.
Knows nothing about training.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from importlib import resources

import torch
from torch.nn import functional
from transformers import PreTrainedModel, PreTrainedTokenizerBase

from finetune.collate import IGNORE_INDEX, PadCollator

Sample = dict[str, Sequence[int]]


@torch.inference_mode()
def perplexity(
    model: PreTrainedModel, samples: Sequence[Sample], *, pad_token_id: int, batch_size: int = 8
) -> float:
    """exp(total NLL / scored tokens) over `samples`; NaN when no token is scored."""
    if not samples:
        return math.nan
    was_training = model.training
    model.eval()
    device = next(model.parameters()).device
    collate = PadCollator(pad_token_id)
    # Similar lengths in one batch keep padding, and so wasted compute, low.
    ordered = sorted(samples, key=lambda sample: len(sample["input_ids"]))
    total_nll = 0.0
    scored = 0
    for start in range(0, len(ordered), batch_size):
        batch = {key: value.to(device) for key, value in collate(ordered[start : start + batch_size]).items()}
        logits = model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]).logits
        # Prompt tuning returns logits for its virtual tokens first: keep the positions of the real tokens.
        logits = logits[:, -batch["input_ids"].size(1) :]
        # Position t predicts token t+1; the loss is summed in float32 whatever the model's dtype.
        targets = batch["labels"][:, 1:]
        nll = functional.cross_entropy(
            logits[:, :-1].float().reshape(-1, logits.size(-1)),
            targets.reshape(-1),
            ignore_index=IGNORE_INDEX,
            reduction="sum",
        )
        total_nll += nll.item()
        scored += int((targets != IGNORE_INDEX).sum())
    model.train(was_training)
    return math.exp(total_nll / scored) if scored else math.nan


def general_text_samples(tokenizer: PreTrainedTokenizerBase, *, max_tokens: int = 256) -> list[Sample]:
    """One sample per paragraph of the packaged general-English text, every token scored."""
    text = resources.files("finetune").joinpath("general_text.txt").read_text(encoding="utf-8")
    return paragraph_samples(text, tokenizer, max_tokens=max_tokens)


def paragraph_samples(text: str, tokenizer: PreTrainedTokenizerBase, *, max_tokens: int) -> list[Sample]:
    """One sample per paragraph (blank-line separated) of `text`, every token scored."""
    samples = []
    for paragraph in (block.strip() for block in text.split("\n\n")):
        if not paragraph:
            continue
        input_ids = tokenizer(paragraph, add_special_tokens=False)["input_ids"][:max_tokens]
        samples.append(
            {"input_ids": input_ids, "attention_mask": [1] * len(input_ids), "labels": list(input_ids)}
        )
    return samples
