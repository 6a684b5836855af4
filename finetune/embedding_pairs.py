"""Mines (customer question, supporting chunk) pairs from support transcripts, for tuning the embedding model.

For every agent reply, the question is what the customer has said so far in that conversation and
the positive is the knowledge-base chunk that best supports the reply: among the keyword channel's
candidates for the reply's words, the chunk holding the largest share of the reply's content words,
kept only when that share reaches `min_support`. Greetings, identity checks and sign-offs share too
few words with any document to pass. Knows nothing about models or training.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from finetune.conversation import Conversation
from ingest.keyword_index import STOP_WORDS, keyword_text
from ingest.registry import Registry

_WORD = re.compile(r"\w+")
MIN_REPLY_WORDS = 4  # shorter replies ("Sure, one moment.") cannot single out a passage
CANDIDATES = 10  # keyword-channel chunks checked per reply


@dataclass(frozen=True)
class Pair:
    question: str
    chunk_id: int
    support: float  # share of the reply's content words found in the chunk
    origin: str  # the conversation's file:line


def content_words(text: str) -> set[str]:
    return {word for word in _WORD.findall(text.lower()) if word not in STOP_WORDS and len(word) > 1}


def mine_pairs(
    conversations: Sequence[Conversation], registry: Registry, *, min_support: float
) -> list[Pair]:
    """One pair per agent reply that a chunk supports, each (question, chunk) once, in input order."""
    pairs: dict[tuple[str, int], Pair] = {}
    chunk_words: dict[int, set[str]] = {}
    for conversation in conversations:
        asked: list[str] = []
        for message in conversation.messages:
            if message.role == "user":
                asked.append(message.content.strip())
                continue
            if message.role != "assistant" or not asked:
                continue
            reply = content_words(message.content)
            if len(reply) < MIN_REPLY_WORDS:
                continue
            best = _best_chunk(reply, message.content, registry, chunk_words)
            if best is not None and best[1] >= min_support:
                question = " ".join(asked)
                pairs.setdefault((question, best[0]), Pair(question, best[0], best[1], conversation.origin))
    return list(pairs.values())


def _best_chunk(
    reply: set[str], text: str, registry: Registry, chunk_words: dict[int, set[str]]
) -> tuple[int, float] | None:
    ids = [cid for cid, _ in registry.keyword_search(text, CANDIDATES)]
    missing = [cid for cid in ids if cid not in chunk_words]
    for cid, stored in registry.chunks(missing).items():
        chunk = stored.chunk
        chunk_words[cid] = content_words(keyword_text(chunk.title, chunk.headings, chunk.text))
    scored = [(cid, len(reply & chunk_words[cid]) / len(reply)) for cid in ids if cid in chunk_words]
    return max(scored, key=lambda item: item[1], default=None)
