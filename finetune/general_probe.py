"""A general-knowledge probe: does the model still rank the right completion of a plain fact above a wrong one?

The packaged `general_probe.jsonl` holds short everyday facts, each a prompt with a right and a wrong
completion. The model scores both by log-likelihood (the sum over the completion's tokens); the probe's
accuracy is the share where the right one scores higher, and the margin the mean difference in nats.
No sampling, so it is cheap and deterministic: a drop after tuning is forgetting, not noise.
Knows nothing about training.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from importlib import resources

import torch
from torch.nn import functional
from transformers import PreTrainedModel, PreTrainedTokenizerBase

from finetune.collate import IGNORE_INDEX, PadCollator

PROBE_FILE = "general_probe.jsonl"


@dataclass(frozen=True)
class ProbeItem:
    prompt: str
    right: str
    wrong: str


@dataclass(frozen=True)
class ProbeResult:
    accuracy: float  # share of items whose right completion is the likelier one
    margin: float  # mean log-likelihood of right minus wrong, in nats

    def to_dict(self) -> dict[str, float]:
        return {"accuracy": round(self.accuracy, 4), "margin": round(self.margin, 4)}


def probe_items() -> list[ProbeItem]:
    text = resources.files("finetune").joinpath(PROBE_FILE).read_text(encoding="utf-8")
    return [ProbeItem(**json.loads(line)) for line in text.splitlines() if line.strip()]


@torch.inference_mode()
def run_probe(
    model: PreTrainedModel,
    tokenizer: PreTrainedTokenizerBase,
    items: list[ProbeItem],
    *,
    batch_size: int = 8,
) -> ProbeResult:
    """Score every item's right and wrong completion; accuracy and mean margin over `items`."""
    samples = []
    for item in items:
        samples += [_sample(tokenizer, item.prompt, item.right), _sample(tokenizer, item.prompt, item.wrong)]
    scores = _log_likelihoods(model, samples, tokenizer.pad_token_id, batch_size)
    margins = [scores[2 * index] - scores[2 * index + 1] for index in range(len(items))]
    return ProbeResult(
        accuracy=sum(margin > 0 for margin in margins) / len(margins),
        margin=sum(margins) / len(margins),
    )


def _sample(tokenizer: PreTrainedTokenizerBase, prompt: str, completion: str) -> dict[str, list[int]]:
    prompt_ids = tokenizer(prompt, add_special_tokens=False)["input_ids"]
    completion_ids = tokenizer(completion, add_special_tokens=False)["input_ids"]
    input_ids = prompt_ids + completion_ids
    return {
        "input_ids": input_ids,
        "attention_mask": [1] * len(input_ids),
        "labels": [IGNORE_INDEX] * len(prompt_ids) + completion_ids,
    }


def _log_likelihoods(model, samples: list[dict], pad_token_id: int, batch_size: int) -> list[float]:
    was_training = model.training
    model.eval()
    device = next(model.parameters()).device
    collate = PadCollator(pad_token_id)
    scores: list[float] = []
    for start in range(0, len(samples), batch_size):
        batch = {key: value.to(device) for key, value in collate(samples[start : start + batch_size]).items()}
        logits = model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]).logits
        # Prompt tuning returns logits for its virtual tokens first: keep the positions of the real tokens.
        logits = logits[:, -batch["input_ids"].size(1) :]
        targets = batch["labels"][:, 1:]
        nll = functional.cross_entropy(
            logits[:, :-1].float().transpose(1, 2), targets, ignore_index=IGNORE_INDEX, reduction="none"
        )
        scores += (-nll.sum(dim=1)).tolist()
    model.train(was_training)
    return scores
