"""Stop sequences: a whole answer is cut at the first one; a stream never sends any part of one."""

from __future__ import annotations

import pytest

from assistant.api.stops import StopFilter, cut_at_stop


def test_cut_at_stop_uses_the_earliest_sequence():
    assert cut_at_stop("one two three", ["three", "two"]) == ("one ", True)
    assert cut_at_stop("one two", ["four"]) == ("one two", False)
    assert cut_at_stop("one two", []) == ("one two", False)


@pytest.mark.parametrize(
    ("pieces", "stops", "passed", "stopped"),
    [
        (["Hel", "lo wo", "rld"], ["o w"], ["Hel", "l", ""], True),
        (["abc", "x", "y", "z!"], ["xyz"], ["abc", "", "", ""], True),
        (["abcx", "y"], ["xyz"], ["abc", ""], False),  # held "xy" comes out at the end
        (["one ", "two"], [], ["one ", "two"], False),
        (["a STOP b", "more"], ["STOP", "b"], ["a ", ""], True),
    ],
)
def test_stop_filter_never_sends_a_stop_sequence(pieces, stops, passed, stopped):
    held = StopFilter(stops)
    assert [held.feed(piece) for piece in pieces] == passed
    tail = held.flush()
    assert held.stopped is stopped
    assert held.text == "".join(passed) + tail
    full = "".join(pieces)
    cuts = [full.find(stop) for stop in stops if stop in full]
    assert held.text == (full[: min(cuts)] if cuts else full)
