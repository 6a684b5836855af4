"""Perplexity over scored tokens only, independent of batching and padding."""

from __future__ import annotations

import math

import pytest
import torch
from transformers import AutoModelForCausalLM

from finetune.collate import IGNORE_INDEX, PadCollator
from finetune.perplexity import general_text_samples, perplexity


@pytest.fixture(scope="module")
def tiny_model(tiny_model_dir):
    return AutoModelForCausalLM.from_pretrained(tiny_model_dir, use_safetensors=True)


def sample(ids: list[int], scored_from: int) -> dict[str, list[int]]:
    return {
        "input_ids": ids,
        "attention_mask": [1] * len(ids),
        "labels": [IGNORE_INDEX] * scored_from + ids[scored_from:],
    }


def manual_nll(model, ids: list[int], scored_from: int) -> tuple[float, int]:
    with torch.inference_mode():
        logits = model(input_ids=torch.tensor([ids])).logits[0]
    log_probs = torch.log_softmax(logits.float(), dim=-1)
    total = -sum(
        log_probs[position - 1, ids[position]].item() for position in range(max(scored_from, 1), len(ids))
    )
    return total, len(ids) - max(scored_from, 1)


def test_perplexity_counts_only_labelled_tokens(tiny_model):
    first, second = list(range(300, 320)), list(range(900, 907))
    samples = [sample(first, 12), sample(second, 3)]
    nll_a, count_a = manual_nll(tiny_model, first, 12)
    nll_b, count_b = manual_nll(tiny_model, second, 3)
    expected = math.exp((nll_a + nll_b) / (count_a + count_b))
    assert perplexity(tiny_model, samples, pad_token_id=2, batch_size=2) == pytest.approx(expected, rel=1e-4)


def test_padding_does_not_change_perplexity(tiny_model):
    samples = [sample(list(range(100 + n, 100 + 4 * n)), n) for n in (2, 5, 9)]
    one_by_one = perplexity(tiny_model, samples, pad_token_id=2, batch_size=1)
    padded = perplexity(tiny_model, samples, pad_token_id=2, batch_size=3)
    assert padded == pytest.approx(one_by_one, rel=1e-4)


def test_collator_pads_labels_with_ignore_index():
    batch = PadCollator(pad_token_id=7)([sample([5, 6, 8], 1), sample([9], 0)])
    assert batch["input_ids"].tolist() == [[5, 6, 8], [9, 7, 7]]
    assert batch["attention_mask"].tolist() == [[1, 1, 1], [1, 0, 0]]
    assert batch["labels"].tolist() == [[IGNORE_INDEX, 6, 8], [9, IGNORE_INDEX, IGNORE_INDEX]]


def test_nothing_scored_is_nan(tiny_model):
    assert math.isnan(perplexity(tiny_model, [], pad_token_id=2))
    assert math.isnan(perplexity(tiny_model, [sample([4, 5, 6], 3)], pad_token_id=2))


def test_general_text_ships_with_the_package(chat_tokenizer):
    samples = general_text_samples(chat_tokenizer, max_tokens=64)
    assert len(samples) >= 10
    for item in samples:
        assert 20 <= len(item["input_ids"]) <= 64
        assert item["labels"] == item["input_ids"]
    assert "river" in chat_tokenizer.decode(samples[0]["input_ids"])
