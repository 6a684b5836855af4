"""Pads pre-tokenized samples into one batch: right padding, padded labels ignored by the loss.

Samples arrive from `tokenize_conversation` (input_ids, attention_mask, labels with -100 on every token
that is not the assistant's). Batches are kept short by the length-grouped sampler, not here; this
module knows nothing about tokenizers or models.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch

IGNORE_INDEX = -100


@dataclass(frozen=True)
class PadCollator:
    pad_token_id: int

    def __call__(self, samples: Sequence[dict[str, Sequence[int]]]) -> dict[str, torch.Tensor]:
        longest = max(len(sample["input_ids"]) for sample in samples)
        input_ids = torch.full((len(samples), longest), self.pad_token_id, dtype=torch.long)
        attention_mask = torch.zeros((len(samples), longest), dtype=torch.long)
        labels = torch.full((len(samples), longest), IGNORE_INDEX, dtype=torch.long)
        for row, sample in enumerate(samples):
            size = len(sample["input_ids"])
            input_ids[row, :size] = torch.as_tensor(sample["input_ids"], dtype=torch.long)
            attention_mask[row, :size] = torch.as_tensor(sample["attention_mask"], dtype=torch.long)
            labels[row, :size] = torch.as_tensor(sample["labels"], dtype=torch.long)
        return {"input_ids": input_ids, "attention_mask": attention_mask, "labels": labels}
