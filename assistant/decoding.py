"""What a generator reports about the tokens it spent, and the signal that stops it decoding.

Apart from `generation.py` because the engine needs both at run time and must not import torch.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Usage:
    prompt_tokens: int
    completion_tokens: int


class StopDecoding(Exception):  # noqa: N818 - a signal to the stream, not an error
    """Thrown into a `Generator.stream` by its reader once the answer is complete (the answer filter saw a
    closing fence, a chat control token or a loop): the stream stops decoding and returns the usage so far,
    so no time goes on tokens nobody will read."""
