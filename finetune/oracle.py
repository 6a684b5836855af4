"""Finds the chunk that supports an agent's reply, by overlap of the reply's facts with the chunk's text.

A reply's facts are its numbers and its content words. Numbers must match exactly: a sentence that says
"30 days" is not supported by a chunk that says "14 days", whatever else they share. Words are weighted by
their rarity among the candidate chunks (inverse document frequency), so "firmware" counts and "please"
barely does, without a stop-word list of any one language or domain. Support is measured per sentence of
the reply: a greeting or a question back to the customer neither helps nor hurts the sentence that states
the fact, and the best-supported sentence is where the citation belongs.

Knows nothing about retrieval, prompts or models: it compares texts.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

_NUMBER = re.compile(r"\d+(?:[.,:/]\d+)*")
_WORD = re.compile(r"[^\W\d_]{3,}")
# A sentence ends at . ! ? followed by space; keeps "e.g." and "1.5" inside one sentence well enough.
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[^\s])")
# A sentence with fewer content words than this and no number states nothing a chunk could support.
MIN_SENTENCE_WORDS = 3


@dataclass(frozen=True)
class Facts:
    numbers: frozenset[str]
    words: frozenset[str]


def facts_of(text: str) -> Facts:
    lowered = text.lower()
    return Facts(frozenset(_NUMBER.findall(lowered)), frozenset(_WORD.findall(lowered)))


def sentence_spans(text: str) -> list[tuple[int, int]]:
    """Character spans of the sentences of `text`, without the spaces between them."""
    spans, start = [], 0
    for gap in _SENTENCE_END.finditer(text):
        spans.append((start, gap.start()))
        start = gap.end()
    spans.append((start, len(text.rstrip())))
    return [(begin, end) for begin, end in spans if end > begin]


class WordWeights:
    """Inverse document frequency of words over a set of chunk texts; unseen words weigh the most."""

    def __init__(self, chunk_texts: Iterable[str]) -> None:
        frequency: Counter[str] = Counter()
        count = 0
        for text in chunk_texts:
            frequency.update(facts_of(text).words)
            count += 1
        self._frequency = frequency
        self._count = count

    def weight(self, word: str) -> float:
        return math.log((self._count + 1) / (self._frequency[word] + 1)) + 1.0

    def rarest(self) -> float:
        """The weight of a word no chunk contains."""
        return math.log(self._count + 1) + 1.0


@dataclass(frozen=True)
class Support:
    score: float  # share of the best sentence's fact weight found in the chunk, 0..1
    sentence: int  # index of that sentence in `sentence_spans(reply)`; -1 when no sentence states a fact


def support(reply: str, chunk_text: str, weights: WordWeights) -> Support:
    """How well `chunk_text` supports the best-supported sentence of `reply`."""
    chunk = facts_of(chunk_text)
    best = Support(0.0, -1)
    for index, (begin, end) in enumerate(sentence_spans(reply)):
        facts = facts_of(reply[begin:end])
        if not facts.numbers and len(facts.words) < MIN_SENTENCE_WORDS:
            continue
        if not facts.numbers <= chunk.numbers:
            continue  # a number the chunk does not state: this sentence is not from this chunk
        total = sum(weights.weight(word) for word in facts.words)
        found = sum(weights.weight(word) for word in facts.words & chunk.words)
        # Numbers weigh as much as the rarest word each: they are the facts most often asked for.
        total += weights.rarest() * len(facts.numbers)
        found += weights.rarest() * len(facts.numbers)
        score = found / total if total else 0.0
        if score > best.score:
            best = Support(score, index)
    return best


def find_oracle(
    reply: str, chunk_texts: Sequence[str], weights: WordWeights, *, min_support: float
) -> tuple[int, Support] | None:
    """Index of the chunk that best supports `reply` and how, or None when none reaches `min_support`."""
    scored = [(index, support(reply, text, weights)) for index, text in enumerate(chunk_texts)]
    scored = [item for item in scored if item[1].score >= min_support]
    if not scored:
        return None
    return max(scored, key=lambda item: item[1].score)


def cite(reply: str, sentence: int, number: int) -> str:
    """`reply` with ` [number]` at the end of sentence `sentence`, before its closing punctuation."""
    _, end = sentence_spans(reply)[sentence]
    while end and reply[end - 1] in ".!?:;":
        end -= 1
    return f"{reply[:end]} [{number}]{reply[end:]}"
