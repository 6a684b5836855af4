"""Stop sequences: cut a whole answer at the first one, or filter a stream so none is ever sent.

A stream cannot know whether "Ans" is the start of the stop sequence "Answer:" until more text
arrives, so the filter holds back only such a tail and passes everything else on at once.
Knows nothing about HTTP or models.
"""

from __future__ import annotations

from collections.abc import Sequence


def cut_at_stop(text: str, stops: Sequence[str]) -> tuple[str, bool]:
    """`text` up to the first stop sequence, and whether one was found."""
    cuts = [index for index in (text.find(stop) for stop in stops) if index >= 0]
    return (text[: min(cuts)], True) if cuts else (text, False)


class StopFilter:
    """Passes streamed text on, holding back only a tail that could be the start of a stop sequence."""

    def __init__(self, stops: Sequence[str]) -> None:
        self.stops = tuple(stops)
        self.text = ""  # everything passed on so far
        self.stopped = False
        self._held = ""

    def feed(self, piece: str) -> str:
        if self.stopped:
            return ""
        pending = self._held + piece
        kept, self.stopped = cut_at_stop(pending, self.stops)
        if self.stopped:
            self._held = ""
            return self._pass(kept)
        hold = max((_overlap(pending, stop) for stop in self.stops), default=0)
        self._held = pending[len(pending) - hold :] if hold else ""
        return self._pass(pending[: len(pending) - hold])

    def flush(self) -> str:
        held, self._held = self._held, ""
        return "" if self.stopped else self._pass(held)

    def _pass(self, text: str) -> str:
        self.text += text
        return text


def _overlap(text: str, stop: str) -> int:
    """Length of the longest end of `text` that is a proper beginning of `stop`."""
    for size in range(min(len(text), len(stop) - 1), 0, -1):
        if text.endswith(stop[:size]):
            return size
    return 0
