"""Train/validation split: deterministic, by conversation content, stable when data is added."""

from __future__ import annotations

import pytest

from finetune.conversation import Conversation, Message
from finetune.split import split_conversations


def _many(count: int, start: int = 0) -> list[Conversation]:
    return [
        Conversation((Message("user", f"question {i}"), Message("assistant", f"answer {i}")), f"f:{i}")
        for i in range(start, start + count)
    ]


def _contents(conversations: list[Conversation]) -> set[str]:
    return {c.messages[0].content for c in conversations}


def test_same_seed_same_split_regardless_of_order() -> None:
    data = _many(500)
    train, validation = split_conversations(data, validation_fraction=0.2, seed=3)
    again_train, again_validation = split_conversations(list(reversed(data)), validation_fraction=0.2, seed=3)
    assert _contents(validation) == _contents(again_validation)
    assert _contents(train) == _contents(again_train)
    assert len(train) + len(validation) == 500
    assert 70 <= len(validation) <= 130  # about 20 %


def test_adding_conversations_never_moves_existing_ones() -> None:
    before_train, before_validation = split_conversations(_many(300), validation_fraction=0.1, seed=1)
    after_train, after_validation = split_conversations(
        _many(300) + _many(200, start=300), validation_fraction=0.1, seed=1
    )
    assert _contents(before_validation) <= _contents(after_validation)
    assert _contents(before_train) <= _contents(after_train)


def test_seed_changes_the_split_and_origin_does_not() -> None:
    data = _many(200)
    _, first = split_conversations(data, validation_fraction=0.2, seed=1)
    _, second = split_conversations(data, validation_fraction=0.2, seed=2)
    assert _contents(first) != _contents(second)
    renamed = [Conversation(c.messages, "elsewhere.jsonl:1") for c in data]
    _, third = split_conversations(renamed, validation_fraction=0.2, seed=1)
    assert _contents(third) == _contents(first)


def test_small_data_still_gets_one_validation_conversation() -> None:
    train, validation = split_conversations(_many(3), validation_fraction=0.01, seed=0)
    assert (len(train), len(validation)) == (2, 1)
    train, validation = split_conversations(_many(3), validation_fraction=0.0, seed=0)
    assert (len(train), len(validation)) == (3, 0)


def test_fraction_out_of_range_is_refused() -> None:
    with pytest.raises(ValueError, match="validation_fraction"):
        split_conversations(_many(2), validation_fraction=1.0, seed=0)
