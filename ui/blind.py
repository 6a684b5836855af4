"""Blind A/B comparison: two answers shown in random order as "A" and "B", revealed only after a vote;
and the scoreboard of all votes, win rates with counts per pair of systems.

Knows nothing about Streamlit or how answers are made or stored.
"""

from __future__ import annotations

import random
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Protocol

from assistant.answer import Answer

VOTE_LABELS = {"A": "A is better", "B": "B is better", "tie": "Tie", "both_bad": "Both bad"}


def system_name(mode: str, adapter: str | None) -> str:
    """How a system is named on the scoreboard: the mode, plus the adapter for tuned modes."""
    return f"{mode} [{adapter}]" if adapter else mode


@dataclass
class BlindRound:
    """One question answered by two systems; `a` and `b` are already shuffled."""

    question: str
    a: Answer
    b: Answer
    vote: str | None = None  # set once, by `cast`

    @classmethod
    def shuffled(
        cls, question: str, first: Answer, second: Answer, rng: random.Random | None = None
    ) -> BlindRound:
        pair = [first, second]
        (rng or random.SystemRandom()).shuffle(pair)
        return cls(question, pair[0], pair[1])

    @property
    def revealed(self) -> bool:
        return self.vote is not None

    def cast(self, vote: str) -> None:
        if vote not in VOTE_LABELS:
            raise ValueError(f"vote {vote!r}: use one of {', '.join(VOTE_LABELS)}")
        if self.vote is not None:
            raise ValueError("this round already has a vote; ask a new question to vote again")
        self.vote = vote


class VoteLike(Protocol):
    mode_a: str
    adapter_a: str | None
    mode_b: str
    adapter_b: str | None
    vote: str


@dataclass(frozen=True)
class PairScore:
    """Votes between two systems, `first` < `second` by name whatever order they were shown in."""

    first: str
    second: str
    first_wins: int = 0
    second_wins: int = 0
    ties: int = 0
    both_bad: int = 0

    @property
    def total(self) -> int:
        return self.first_wins + self.second_wins + self.ties + self.both_bad

    def rate(self, wins: int) -> float:
        return wins / self.total if self.total else 0.0


def scoreboard(votes: Iterable[VoteLike]) -> list[PairScore]:
    """One row per pair of systems that met, most votes first."""
    counts: dict[tuple[str, str], list[int]] = {}
    for vote in votes:
        shown_a = system_name(vote.mode_a, vote.adapter_a)
        shown_b = system_name(vote.mode_b, vote.adapter_b)
        first, second = sorted((shown_a, shown_b))
        row = counts.setdefault((first, second), [0, 0, 0, 0])
        match vote.vote:
            case "A" | "B":
                winner = shown_a if vote.vote == "A" else shown_b
                row[0 if winner == first else 1] += 1
            case "tie":
                row[2] += 1
            case "both_bad":
                row[3] += 1
    scores = [PairScore(first, second, *row) for (first, second), row in counts.items()]
    return sorted(scores, key=lambda score: (-score.total, score.first, score.second))


def scoreboard_rows(scores: Iterable[PairScore]) -> list[dict[str, object]]:
    """The scoreboard as table rows for display."""
    return [
        {
            "system 1": score.first,
            "system 2": score.second,
            "votes": score.total,
            "system 1 wins": f"{score.first_wins} ({score.rate(score.first_wins):.0%})",
            "system 2 wins": f"{score.second_wins} ({score.rate(score.second_wins):.0%})",
            "ties": score.ties,
            "both bad": score.both_bad,
        }
        for score in scores
    ]
