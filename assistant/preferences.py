"""Turns what users said about answers into training data: preference pairs for DPO, and good answers for SFT.

    tunedesk feedback export --dpo prefs.jsonl --sft liked.jsonl

Preference pairs (TRL's conversational preference format, one JSON object per line):
    {"prompt": [{"role": "user", "content": q}], "chosen": [{"role": "assistant", ...}], "rejected": [...]}
come from blind A/B votes (the preferred answer is chosen; ties and "both bad" say nothing and are
skipped) and from thumbs: an answer rated up and another rated down for the same question (compared
case- and space-insensitively) form one pair. Thumbs-up answers also become SFT conversations: the
conversation up to and including the liked answer. A message's latest rating counts. Every text is
PII-scrubbed before it is written, since users paste personal data into chats.
Knows nothing about training; reads the store only through `Storage`'s public methods.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from assistant.storage import Storage
from finetune.pii import scrub
from ingest.atomic import write_text_atomically


@dataclass(frozen=True)
class RatedAnswer:
    question: str
    history: list[dict[str, str]]  # the turns before the question
    answer: str
    rating: str  # "up" | "down", the latest one given


@dataclass(frozen=True)
class ExportCounts:
    pairs_from_votes: int
    pairs_from_thumbs: int
    votes_skipped: int  # ties and "both bad"
    sft_conversations: int


def rated_answers(storage: Storage) -> list[RatedAnswer]:
    """Every rated assistant message with the question it answered, in conversation order."""
    rated = []
    for conversation in storage.conversations():
        messages = storage.messages(conversation.id)
        for index, message in enumerate(messages):
            if message.role != "assistant" or index == 0 or messages[index - 1].role != "user":
                continue
            ratings = storage.feedback(message.id)
            if ratings:
                history = [turn.as_turn() for turn in messages[: index - 1]]
                rated.append(
                    RatedAnswer(messages[index - 1].content, history, message.content, ratings[-1][0])
                )
    return rated


def preference_pairs(
    storage: Storage, keep: frozenset[str] = frozenset()
) -> tuple[list[dict], int, int, int]:
    """(pairs, from votes, from thumbs, votes skipped); every text scrubbed."""
    pairs = []
    skipped = 0
    for vote in storage.votes():
        if vote.vote not in ("A", "B"):
            skipped += 1
            continue
        chosen, rejected = (
            (vote.answer_a, vote.answer_b) if vote.vote == "A" else (vote.answer_b, vote.answer_a)
        )
        if chosen.strip() != rejected.strip():
            pairs.append(_pair(vote.question, chosen, rejected, keep))
    from_votes = len(pairs)
    by_question: dict[str, dict[str, list[RatedAnswer]]] = {}
    for item in rated_answers(storage):
        by_question.setdefault(_key(item.question), {"up": [], "down": []})[item.rating].append(item)
    for groups in by_question.values():
        for liked, disliked in zip(groups["up"], groups["down"], strict=False):
            pairs.append(_pair(liked.question, liked.answer, disliked.answer, keep))
    return pairs, from_votes, len(pairs) - from_votes, skipped


def sft_conversations(storage: Storage, keep: frozenset[str] = frozenset()) -> list[dict]:
    """Thumbs-up answers as `{"messages": [...]}` conversations ending with the liked answer, scrubbed."""
    conversations = []
    for item in rated_answers(storage):
        if item.rating != "up":
            continue
        turns = [
            *item.history,
            {"role": "user", "content": item.question},
            {"role": "assistant", "content": item.answer},
        ]
        conversations.append(
            {"messages": [{"role": t["role"], "content": _clean(t["content"], keep)} for t in turns]}
        )
    return conversations


def export_feedback(
    storage: Storage, *, dpo: Path | None = None, sft: Path | None = None, keep: Iterable[str] = ()
) -> ExportCounts:
    """Write the preference pairs to `dpo` and the liked conversations to `sft` (each optional), atomically."""
    keep = frozenset(keep)
    pairs, from_votes, from_thumbs, skipped = preference_pairs(storage, keep)
    liked = sft_conversations(storage, keep) if sft else []
    if dpo:
        write_jsonl(dpo, pairs)
    if sft:
        write_jsonl(sft, liked)
    return ExportCounts(from_votes, from_thumbs, skipped, len(liked))


def write_jsonl(path: Path, rows: Iterable[dict]) -> None:
    """One JSON object per line, written atomically."""
    write_text_atomically(Path(path), "".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows))


def _pair(question: str, chosen: str, rejected: str, keep: frozenset[str]) -> dict:
    return {
        "prompt": [{"role": "user", "content": _clean(question, keep)}],
        "chosen": [{"role": "assistant", "content": _clean(chosen, keep)}],
        "rejected": [{"role": "assistant", "content": _clean(rejected, keep)}],
    }


def _clean(text: str, keep: frozenset[str]) -> str:
    return scrub(text, keep=keep)[0]


def _key(question: str) -> str:
    return " ".join(question.lower().split())
