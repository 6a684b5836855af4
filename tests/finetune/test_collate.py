"""Packed batches: the collator keeps assistant-only labels, and a packed sample sees only itself."""

from __future__ import annotations

import pytest
import torch
from transformers import LlamaConfig, LlamaForCausalLM

from finetune.collate import IGNORE_INDEX, PackCollator, PadCollator

X = IGNORE_INDEX


def sample(input_ids: list[int], labels: list[int]) -> dict[str, list[int]]:
    return {"input_ids": input_ids, "attention_mask": [1] * len(input_ids), "labels": labels}


SAMPLES = [
    sample([5, 6, 7, 8, 9], [X, X, 7, 8, 9]),
    sample([10, 11, 12], [X, 11, 12]),
    sample([13, 14, 15, 16, 17, 18, 19], [X, X, X, 16, 17, X, 19]),
]


def tiny_llama(attention: str) -> LlamaForCausalLM:
    torch.manual_seed(0)
    config = LlamaConfig(
        vocab_size=64,
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=64,
        attn_implementation=attention,
    )
    return LlamaForCausalLM(config).eval()


def test_packing_concatenates_without_padding_and_keeps_assistant_labels():
    batch = PackCollator()(SAMPLES)
    # No attention_mask and no cache: either would hide the packing from the model's mask builder.
    assert "attention_mask" not in batch and batch["use_cache"] is False
    assert batch["input_ids"].tolist() == [[5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19]]
    assert batch["position_ids"].tolist() == [[0, 1, 2, 3, 4, 0, 1, 2, 0, 1, 2, 3, 4, 5, 6]]
    # Each sample's own labels, except its first token: the previous sample must not learn to predict it.
    assert batch["labels"].tolist() == [[X, X, 7, 8, 9, X, 11, 12, X, X, X, 16, 17, X, 19]]
    # Logits only at the positions just before an assistant token, with that token as the target.
    assert batch["logits_to_keep"].nonzero()[:, 1].tolist() == [1, 2, 3, 5, 6, 10, 11, 13]
    assert batch["shift_labels"].tolist() == [7, 8, 9, 11, 12, 16, 17, 19]


def test_a_first_token_label_is_dropped_even_when_it_was_trained():
    batch = PackCollator()([sample([1, 2], [1, 2]), sample([3, 4], [3, 4])])
    assert batch["labels"].tolist() == [[X, 2, X, 4]]
    assert batch["shift_labels"].tolist() == [2, 4]


@pytest.mark.parametrize("attention", ["sdpa", "eager"])
def test_a_packed_sample_has_the_logits_it_has_alone(attention):
    model = tiny_llama(attention)
    with torch.no_grad():
        packed = model(**PackCollator()(SAMPLES)).logits
        expected = []
        for item in SAMPLES:
            alone = model(input_ids=torch.tensor([item["input_ids"]])).logits[0]
            # Alone, position i predicts token i + 1; the last position predicts nothing.
            predicts_label = [label != X for label in item["labels"][1:]] + [False]
            expected.append(alone[torch.tensor(predicts_label)])
    torch.testing.assert_close(packed.reshape(-1, 64), torch.cat(expected), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("attention", ["sdpa", "eager"])
def test_packed_loss_and_gradients_equal_the_padded_batch(attention):
    packed_model, padded_model = tiny_llama(attention).train(), tiny_llama(attention).train()
    packed = packed_model(**PackCollator()(SAMPLES)).loss
    padded = padded_model(**PadCollator(pad_token_id=0)(SAMPLES)).loss
    torch.testing.assert_close(packed, padded, rtol=1e-5, atol=1e-6)
    assert packed.item() > 0
    packed.backward()
    padded.backward()
    for (name, weight), other in zip(packed_model.named_parameters(), padded_model.parameters(), strict=True):
        torch.testing.assert_close(weight.grad, other.grad, rtol=1e-4, atol=1e-6, msg=name)


def test_without_restarting_positions_the_samples_would_mix():
    # The checks above only mean something if plain concatenation does change the logits.
    model = tiny_llama("sdpa")
    batch = PackCollator()(SAMPLES)
    with torch.no_grad():
        packed = model(input_ids=batch["input_ids"], position_ids=batch["position_ids"], use_cache=False)
        mixed = model(input_ids=batch["input_ids"])
    first = len(SAMPLES[0]["input_ids"])
    torch.testing.assert_close(packed.logits[0, :first], mixed.logits[0, :first], rtol=1e-5, atol=1e-5)
    assert not torch.allclose(packed.logits[0, first:], mixed.logits[0, first:], atol=1e-3)
