"""Builds retrieval-augmented fine-tuning (RAFT) examples: each agent reply under the prompt that tuned+rag sends.

For every agent turn of a training conversation: the customer's turn is the question, the turns before it
the history. Retrieval runs on that turn exactly as at answer time (the same query, the same knowledge
base). The oracle is the chunk that supports the reply (`finetune.oracle`), searched among the chunks
retrieved for the question and for the reply itself. With probability `oracle_probability` it is shown at a
random position among the retrieved distractors and the target is the reply citing it `[n]`; otherwise it
is withheld, and unless another shown chunk supports the reply, the target is a decline: the assistant's own
"not in the documentation" sentence (the engine recognises it as an abstention) followed by one of the team's
hand-off sentences (`finetune.declines`). Replies no chunk supports (greetings, questions back, account
actions) keep their words and the sources retrieved for them, uncited.

The prompt itself comes from the caller (`PromptFormat`): this module never formats sources, so training
and answering cannot drift apart. Knows nothing about settings, embedding models or training loops.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, Protocol

from finetune.conversation import Conversation, Message
from finetune.declines import mine_declines
from finetune.oracle import WordWeights, cite, find_oracle, support

ChatMessage = dict[str, str]


class Retriever(Protocol):
    """Searches many queries at once (`finetune.batched_search.BatchedSearch`), each answer best first."""

    def search_many(self, queries: Sequence[str], k: int) -> list[Sequence[Any]]: ...


class PromptFormat(Protocol):
    """The answer-time prompt: its retrieval query and its messages, with how many sources fit."""

    def query(self, question: str, history: Sequence[ChatMessage]) -> str: ...

    def messages(
        self, question: str, history: Sequence[ChatMessage], hits: Sequence[Any]
    ) -> tuple[list[ChatMessage], int]: ...


@dataclass(frozen=True)
class RaftContext:
    """Where the examples' sources come from, and what the adapter records about it."""

    retriever: Retriever
    prompt_format: Callable[[Any], PromptFormat]  # given the base model's tokenizer
    index_generation: int
    embedding_model: str
    close: Callable[[], None]  # releases the knowledge base


@dataclass
class RaftCounts:
    examples: int = 0
    oracle_kept: int = 0
    oracle_withheld_supported: int = 0  # withheld, but another shown chunk supports the reply: cited
    declines: int = 0
    no_supporting_chunk: int = 0  # replies no chunk supports: kept uncited
    dropped_unsupported: int = 0  # replies no chunk supports, left out by `keep_unsupported`
    dropped_no_decline: int = 0  # decline examples skipped: the transcripts hold no hand-off sentence
    dropped_too_long: int = 0  # the cited source did not fit in the context window
    decline_sentences: int = 0  # distinct hand-off sentences mined

    def add(self, kind: str) -> None:
        setattr(self, kind, getattr(self, kind) + 1)
        self.examples += 1

    def to_dict(self) -> dict[str, int]:
        return asdict(self)


@dataclass
class RaftExamples:
    conversations: list[Conversation]
    counts: RaftCounts = field(default_factory=RaftCounts)


@dataclass(frozen=True)
class _Turn:
    origin: str
    question: str
    history: list[ChatMessage]
    reply: str


def build_raft_examples(
    conversations: Sequence[Conversation],
    retriever: Retriever,
    prompt_format: PromptFormat,
    *,
    k: int,
    oracle_probability: float,
    min_support: float,
    seed: int,
    decline_opening: str = "",
    keep_unsupported: float = 1.0,
) -> RaftExamples:
    """One example per agent turn that follows a customer turn. `decline_opening` starts every decline (the
    assistant's abstain message); without it and without mined hand-offs, decline examples are dropped.
    `keep_unsupported` is the share of replies no chunk supports that are kept: each one teaches the model to
    answer beside its sources, which is right for greetings and questions back and wrong for facts."""
    turns = [turn for conversation in conversations for turn in _turns(conversation)]
    retrieved = retriever.search_many([prompt_format.query(t.question, t.history) for t in turns], k + 1)
    # Searching with the reply itself finds the chunk it came from even when the question's words miss it.
    by_reply = retriever.search_many([t.reply for t in turns], k)
    chunks = {hit.chunk_id: hit for hits in (*retrieved, *by_reply) for hit in hits}
    weights = WordWeights(hit.text for hit in chunks.values())

    def supported(text: str) -> bool:
        return any(support(text, hit.text, weights).score >= min_support for hit in chunks.values())

    declines = mine_declines(conversations, supported)
    rng = random.Random(seed)
    result = RaftExamples([], RaftCounts(decline_sentences=len(declines)))
    for turn, hits, reply_hits in zip(turns, retrieved, by_reply, strict=True):
        candidates = list({hit.chunk_id: hit for hit in (*hits, *reply_hits)}.values())
        found = find_oracle(turn.reply, [hit.text for hit in candidates], weights, min_support=min_support)
        oracle = candidates[found[0]] if found else None
        plan = _plan(turn.reply, hits, oracle, k, oracle_probability, min_support, weights, rng)
        if plan.kind == "no_supporting_chunk" and keep_unsupported < 1.0 and rng.random() >= keep_unsupported:
            result.counts.dropped_unsupported += 1
            continue
        if plan.kind == "declines":
            if not declines and not decline_opening:
                result.counts.dropped_no_decline += 1
                continue
            hand_off = rng.choice(declines) if declines else ""
            plan.target = " ".join(part for part in (decline_opening, hand_off) if part)
        messages, fitted = prompt_format.messages(turn.question, turn.history, plan.shown)
        if plan.cited > fitted:
            result.counts.dropped_too_long += 1
            continue
        result.counts.add(plan.kind)
        result.conversations.append(
            Conversation(
                tuple(Message(m["role"], m["content"]) for m in messages)
                + (Message("assistant", plan.target),),
                turn.origin,
            )
        )
    return result


def _turns(conversation: Conversation) -> list[_Turn]:
    messages = conversation.messages
    turns = []
    for index in range(1, len(messages)):
        if messages[index].role == "assistant" and messages[index - 1].role == "user":
            history = [
                {"role": m.role, "content": m.content} for m in messages[: index - 1] if m.role != "system"
            ]
            turns.append(
                _Turn(conversation.origin, messages[index - 1].content, history, messages[index].content)
            )
    return turns


@dataclass
class _Plan:
    kind: str  # a RaftCounts field: oracle_kept, oracle_withheld_supported, declines, no_supporting_chunk
    target: str
    shown: list[Any]
    cited: int = 0  # the source number the target cites; 0 = none


def _plan(reply, hits, oracle, k, probability, min_support, weights, rng) -> _Plan:
    """What to show and what to answer for one turn; a decline's words are chosen by the caller."""
    distractors = [hit for hit in hits if oracle is None or hit.chunk_id != oracle.chunk_id]
    if oracle is None:
        return _Plan("no_supporting_chunk", reply, distractors[:k])
    if rng.random() < probability:
        shown = distractors[: k - 1]
        position = rng.randint(0, len(shown))
        shown.insert(position, oracle)
        sentence = support(reply, oracle.text, weights).sentence
        return _Plan("oracle_kept", cite(reply, sentence, position + 1), shown, position + 1)
    shown = distractors[:k]
    for number, hit in enumerate(shown, 1):
        backing = support(reply, hit.text, weights)
        if backing.score >= min_support:
            return _Plan("oracle_withheld_supported", cite(reply, backing.sentence, number), shown, number)
    return _Plan("declines", "", shown)
