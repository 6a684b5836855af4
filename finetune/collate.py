"""Turns pre-tokenized samples into batches: padding-free packing for training, right padding for scoring.

Samples arrive from `tokenize_conversation` (input_ids, attention_mask, labels with -100 on every token
that is not the assistant's). This module knows nothing about tokenizers or models.

Packing (`PackCollator`) concatenates a batch into one row with no padding at all; position ids
restart at 0 for every sample, and the first label of every sample becomes -100 so that no sample
learns to predict the next one's first token. transformers' sdpa, eager and flex attention turn
restarting position ids into a block-diagonal causal mask (`masking_utils.find_packed_sequence_indices`),
and flash-attention takes them as variable-length boundaries, so a sample never attends to another:
its logits and loss are those it has alone (tests/finetune/test_collate.py). The mask is only built
that way when the model gets no `attention_mask` and no KV cache: the packed batch has no mask and
says `use_cache=False`, since a model whose config enables the cache (most chat models) would
otherwise make one even in training, and then attend across samples.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch
from transformers import DataCollatorWithFlattening

IGNORE_INDEX = -100


@dataclass(frozen=True)
class PackCollator:
    """Packs a batch into one `[1, total_tokens]` row: no padding, logits only where a label is.

    Besides input_ids, labels and position_ids, the batch names the positions that predict an
    assistant token (`logits_to_keep`, a boolean mask) and their targets (`shift_labels`): the model
    projects only those onto the vocabulary, which on a small model is most of the work, and the
    Trainer counts `shift_labels` to normalise the loss. The loss is the same as over every position.
    """

    def __call__(self, samples: Sequence[dict[str, Sequence[int]]]) -> dict[str, torch.Tensor | bool]:
        flatten = DataCollatorWithFlattening(return_position_ids=True, separator_id=IGNORE_INDEX)
        batch = flatten(list(samples))
        # Position i predicts token i + 1; the last position predicts nothing.
        targets = torch.nn.functional.pad(batch["labels"][:, 1:], (0, 1), value=IGNORE_INDEX)
        keep = targets != IGNORE_INDEX
        return {**batch, "logits_to_keep": keep, "shift_labels": targets[keep], "use_cache": False}


@dataclass(frozen=True)
class PadCollator:
    """Right-pads a batch to its longest sample; padded labels are ignored by the loss."""

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
