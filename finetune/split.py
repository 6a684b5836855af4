"""Split conversations into train and validation, deterministically and by conversation.

Each conversation's side is decided by a hash of its content and the seed alone, never by its
position in the list: the same conversation lands on the same side in every run, and adding or
removing other conversations never moves it. This module knows nothing about files or tokens.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

from finetune.conversation import Conversation


def split_conversations(
    conversations: Sequence[Conversation], *, validation_fraction: float, seed: int
) -> tuple[list[Conversation], list[Conversation]]:
    """(train, validation), each in input order.

    With a fraction above zero and at least two conversations, validation is never empty: when no
    conversation's hash falls under the fraction, the one with the lowest hash is held out.
    """
    if not 0 <= validation_fraction < 1:
        raise ValueError(f"validation_fraction must be in [0, 1), not {validation_fraction}")
    scores = [_score(conversation, seed) for conversation in conversations]
    held_out = {index for index, score in enumerate(scores) if score < validation_fraction}
    if validation_fraction > 0 and not held_out and len(conversations) >= 2:
        held_out = {min(range(len(scores)), key=scores.__getitem__)}
    train = [c for index, c in enumerate(conversations) if index not in held_out]
    validation = [c for index, c in enumerate(conversations) if index in held_out]
    return train, validation


def _score(conversation: Conversation, seed: int) -> float:
    """A number in [0, 1) fixed by the conversation's content and the seed."""
    digest = hashlib.sha256(f"{seed}:{conversation.content_hash()}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64
