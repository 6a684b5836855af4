"""Blind A/B rounds and the scoreboard of votes."""

from __future__ import annotations

import random
from dataclasses import dataclass

import pytest

from assistant.answer import Answer
from ui.blind import BlindRound, scoreboard, scoreboard_rows, system_name


@dataclass
class Vote:
    mode_a: str
    adapter_a: str | None
    mode_b: str
    adapter_b: str | None
    vote: str


def test_shuffle_puts_each_system_first_about_half_the_time():
    base, tuned = Answer("b", "base", None), Answer("t", "tuned+rag", "demo")
    rng = random.Random(0)
    firsts = [BlindRound.shuffled("q", base, tuned, rng).a.mode for _ in range(400)]
    assert 150 < firsts.count("base") < 250


def test_a_round_takes_one_vote():
    round_ = BlindRound("q", Answer("x", "base", None), Answer("y", "rag", None))
    assert not round_.revealed
    with pytest.raises(ValueError, match="use one of"):
        round_.cast("C")
    round_.cast("tie")
    assert round_.revealed and round_.vote == "tie"
    with pytest.raises(ValueError, match="already has a vote"):
        round_.cast("A")


def test_scoreboard_counts_wins_by_system_whatever_the_shown_order():
    votes = [
        Vote("base", None, "tuned+rag", "demo", "B"),  # tuned+rag wins, shown second
        Vote("tuned+rag", "demo", "base", None, "A"),  # tuned+rag wins, shown first
        Vote("tuned+rag", "demo", "base", None, "B"),  # base wins
        Vote("base", None, "tuned+rag", "demo", "tie"),
        Vote("rag", None, "base", None, "both_bad"),
    ]
    first, second = scoreboard(votes)
    assert (first.first, first.second) == ("base", "tuned+rag [demo]")
    assert (first.first_wins, first.second_wins, first.ties, first.both_bad, first.total) == (1, 2, 1, 0, 4)
    assert first.rate(first.second_wins) == 0.5
    assert (second.first, second.second, second.both_bad, second.total) == ("base", "rag", 1, 1)
    row = scoreboard_rows([first])[0]
    assert row["system 2 wins"] == "2 (50%)" and row["system 1 wins"] == "1 (25%)" and row["votes"] == 4


def test_system_names():
    assert system_name("base", None) == "base"
    assert system_name("tuned", "support") == "tuned [support]"
