"""Turns support transcripts into example exchanges: each customer turn with the agent reply that follows it.

Personal data is scrubbed as training scrubs it (finetune/cleaning.py), so an example never shows one
customer's details to another, nor an agent reply that greets a `<NAME>`; exact and near-duplicate
exchanges are dropped (the first is kept), so the k examples of a prompt are k different ones. `held_out` finds the exchanges whose customer turn
resembles an evaluation question (the matcher training uses, finetune/eval_leaks.py): those are never
shown. Knows nothing about embeddings, files or prompts.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from finetune.cleaning import scrub_turn
from finetune.conversation import Conversation
from finetune.dedupe import near_duplicates, near_matches


@dataclass(frozen=True)
class Exchange:
    customer: str
    agent: str
    origin: str  # the conversation's origin and the exchange's turn in it, e.g. "chats.jsonl:3 turn 2"


def exchanges_of(
    conversations: Iterable[Conversation],
    *,
    scrub_pii: bool,
    pii_keep: frozenset[str] = frozenset(),
    pii_ner_model: str | None = None,
    near_duplicate_threshold: float = 0.85,
) -> list[Exchange]:
    """Every customer turn directly answered by an agent turn, in load order, scrubbed and deduplicated."""
    found = []
    for conversation in conversations:
        turns = _merged_turns(conversation)
        for position, ((role, text), (next_role, reply)) in enumerate(zip(turns, turns[1:], strict=False)):
            if role == "user" and next_role == "assistant":
                if scrub_pii:
                    text, _, _ = scrub_turn(role, text, keep=pii_keep, ner_model=pii_ner_model)
                    reply, _, _ = scrub_turn(next_role, reply, keep=pii_keep, ner_model=pii_ner_model)
                found.append(Exchange(text, reply, f"{conversation.origin} turn {position + 1}"))
    unique: dict[str, Exchange] = {}
    for exchange in found:
        unique.setdefault(_key(exchange), exchange)
    exchanges = list(unique.values())
    repeats = near_duplicates([f"{e.customer}\n{e.agent}" for e in exchanges], near_duplicate_threshold)
    return [exchange for index, exchange in enumerate(exchanges) if index not in repeats]


def held_out(exchanges: Sequence[Exchange], questions: Sequence[str], threshold: float) -> set[int]:
    """Indexes of the exchanges whose customer turn has shingle Jaccard >= `threshold` with a question."""
    if not questions:
        return set()
    return set(near_matches([exchange.customer for exchange in exchanges], list(questions), threshold))


def _merged_turns(conversation: Conversation) -> list[tuple[str, str]]:
    """(role, text) of the non-empty user and agent turns, neighbours of one role joined as one turn."""
    turns: list[tuple[str, str]] = []
    for message in conversation.messages:
        text = message.content.strip()
        if message.role == "system" or not text:
            continue
        if turns and turns[-1][0] == message.role:
            turns[-1] = (message.role, f"{turns[-1][1]}\n{text}")
        else:
            turns.append((message.role, text))
    return turns


def _key(exchange: Exchange) -> str:
    return f"{' '.join(exchange.customer.lower().split())}\x00{' '.join(exchange.agent.lower().split())}"
