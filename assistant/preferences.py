"""Turns what users said about answers into training data: pairs for DPO, rated answers for KTO, liked ones for SFT.

    tunedesk feedback export --dpo prefs.jsonl --kto rated.jsonl --sft liked.jsonl
    tunedesk train --from-feedback --name support-fb

Every prompt is the one the model read when it wrote the answer, rebuilt with the engine's own prompt
builder (`training_prompt.AnswerTimePrompt`): for a retrieval mode the system prompt and the numbered
sources stored with the answer, for the other modes the plain conversation. Preference training then
optimises the prompt the model sees at answer time. An answer the model never wrote (the engine
abstained before calling it: nothing was relevant enough) gives no prompt and is left out, with a note.

Preference pairs (TRL's conversational preference format, one JSON object per line):
    {"prompt": [...messages], "chosen": [{"role": "assistant", ...}], "rejected": [...]}
come from blind A/B votes (the preferred answer is chosen; ties and "both bad" say nothing and are
skipped) and from thumbs: an answer rated up and another rated down for the same question (compared
case- and space-insensitively) form one pair, under the prompt of the chosen answer (of the rejected
one when the model did not write the chosen one). Rated answers (TRL's unpaired format, for KTO) are
    {"prompt": [...], "completion": [{"role": "assistant", ...}], "label": true|false}
one per rated answer, its latest rating. Thumbs-up answers also become SFT conversations. Every text a
user or the model wrote is PII-scrubbed, since users paste personal data into chats; the sources are
the knowledge base's documents and are kept as the model read them.
Knows nothing about training; reads the store only through `Storage`'s public methods.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from assistant.answer import Source, uses_retrieval
from assistant.prompts import Message
from assistant.storage import Storage
from finetune.pii import scrub
from ingest.atomic import write_text_atomically


class PromptBuilder(Protocol):
    """The engine's prompt for one turn (`training_prompt.AnswerTimePrompt` is one)."""

    def messages(
        self, question: str, history: Sequence[Message], hits: Sequence[Any], *, retrieval: bool = True
    ) -> tuple[list[Message], int]: ...


@dataclass(frozen=True)
class RatedAnswer:
    question: str
    history: list[dict[str, str]]  # the turns before the question
    answer: str
    rating: str  # "up" | "down", the latest one given
    details: dict[str, Any]  # the stored answer: mode, sources, abstained, token counts


@dataclass(frozen=True)
class Feedback:
    """The store's feedback as training rows, every prompt as the model read it."""

    pairs: list[dict]  # DPO rows
    rated: list[dict]  # KTO rows
    from_votes: int
    from_thumbs: int
    votes_skipped: int  # ties and "both bad"
    left_out: list[str] = field(default_factory=list)  # one line per answer the model never wrote


@dataclass(frozen=True)
class ExportCounts:
    pairs_from_votes: int
    pairs_from_thumbs: int
    votes_skipped: int  # ties and "both bad"
    rated_answers: int
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
                details = {
                    "mode": message.mode,
                    "sources": message.sources,
                    "abstained": message.abstained,
                    "prompt_tokens": message.prompt_tokens,
                    "completion_tokens": message.completion_tokens,
                }
                question = messages[index - 1].content
                rated.append(RatedAnswer(question, history, message.content, ratings[-1][0], details))
    return rated


def answer_prompt(
    question: str,
    history: Sequence[Message],
    details: dict[str, Any],
    prompt: PromptBuilder,
    keep: frozenset[str] = frozenset(),
) -> list[Message] | None:
    """The messages the model read when it wrote an answer stored with `details` (its `to_dict()` form);
    None when the model wrote nothing (the engine abstained before calling it)."""
    if details.get("abstained") and not details.get("prompt_tokens") and not details.get("completion_tokens"):
        return None
    retrieval = uses_retrieval(details.get("mode"))
    hits = [_source(stored) for stored in details.get("sources", [])] if retrieval else []
    turns = [{"role": turn["role"], "content": _clean(turn["content"], keep)} for turn in history]
    messages, _ = prompt.messages(_clean(question, keep), turns, hits, retrieval=retrieval)
    return messages


def collect_feedback(storage: Storage, prompt: PromptBuilder, keep: frozenset[str] = frozenset()) -> Feedback:
    """Pairs from votes and thumbs, and every rated answer on its own; every text scrubbed."""
    pairs, left_out = [], []
    skipped = 0
    for vote in storage.votes():
        if vote.vote not in ("A", "B"):
            skipped += 1
            continue
        sides = [(vote.answer_a, vote.details_a), (vote.answer_b, vote.details_b)]
        (chosen, chosen_details), (rejected, rejected_details) = sides if vote.vote == "A" else sides[::-1]
        if chosen.strip() == rejected.strip():
            continue
        messages = answer_prompt(vote.question, [], chosen_details, prompt, keep) or answer_prompt(
            vote.question, [], rejected_details, prompt, keep
        )
        if messages is None:
            left_out.append(f"vote {vote.id}: neither answer was written by the model (both abstained)")
            continue
        pairs.append(_pair(messages, chosen, rejected, keep))
    from_votes = len(pairs)
    by_question: dict[str, dict[str, list[RatedAnswer]]] = {}
    rated = []
    for item in rated_answers(storage):
        by_question.setdefault(_key(item.question), {"up": [], "down": []})[item.rating].append(item)
        messages = answer_prompt(item.question, item.history, item.details, prompt, keep)
        if messages is None:
            left_out.append(f"rated answer to {_clean(item.question, keep)[:60]!r}: the engine abstained")
            continue
        completion = [{"role": "assistant", "content": _clean(item.answer, keep)}]
        rated.append({"prompt": messages, "completion": completion, "label": item.rating == "up"})
    for groups in by_question.values():
        for liked, disliked in zip(groups["up"], groups["down"], strict=False):
            messages = answer_prompt(
                liked.question, liked.history, liked.details, prompt, keep
            ) or answer_prompt(disliked.question, disliked.history, disliked.details, prompt, keep)
            if messages is not None:
                pairs.append(_pair(messages, liked.answer, disliked.answer, keep))
    return Feedback(pairs, rated, from_votes, len(pairs) - from_votes, skipped, left_out)


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
    storage: Storage,
    prompt: PromptBuilder,
    *,
    dpo: Path | None = None,
    kto: Path | None = None,
    sft: Path | None = None,
    keep: Iterable[str] = (),
) -> ExportCounts:
    """Write the pairs to `dpo`, the rated answers to `kto` and the liked conversations to `sft` (each
    optional), atomically."""
    keep = frozenset(keep)
    feedback = collect_feedback(storage, prompt, keep)
    liked = sft_conversations(storage, keep) if sft else []
    for path, rows in ((dpo, feedback.pairs), (kto, feedback.rated), (sft, liked)):
        if path:
            write_jsonl(path, rows)
    return ExportCounts(
        feedback.from_votes, feedback.from_thumbs, feedback.votes_skipped, len(feedback.rated), len(liked)
    )


def write_jsonl(path: Path, rows: Iterable[dict]) -> None:
    """One JSON object per line, written atomically."""
    write_text_atomically(Path(path), "".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows))


def _source(stored: dict[str, Any]) -> Source:
    """A source as stored with an answer (`asdict` of `Source`), back as the object the prompt builder takes."""
    return Source(**{**stored, "headings": tuple(stored.get("headings", ()))})


def _pair(messages: list[Message], chosen: str, rejected: str, keep: frozenset[str]) -> dict:
    return {
        "prompt": messages,
        "chosen": [{"role": "assistant", "content": _clean(chosen, keep)}],
        "rejected": [{"role": "assistant", "content": _clean(rejected, keep)}],
    }


def _clean(text: str, keep: frozenset[str]) -> str:
    return scrub(text, keep=keep)[0]


def _key(question: str) -> str:
    return " ".join(question.lower().split())
