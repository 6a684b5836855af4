"""Finds the sentences of an answer that affirm what a shown source explicitly negates.

A small model copying a source often drops or moves its negation: the policy says "The restocking fee never
applies to faulty items" and the answer says "The restocking fee applies to faulty items"; the policy says
the window starts on the delivery date, "not the order date", and the answer says "30 days from the order
date". Every word of such a sentence is in the sources and so is every figure, so the figure check
(grounding.py) passes it. What gives it away is a source sentence about the same thing (it shares at least
half the answer sentence's content words) that negates words the answer sentence states without any negation
of its own. The engine flags such a sentence under the answer, with the source sentence that says otherwise.

The negated words are those after "not", "never", "no" or "without" up to the end of their clause; at least
two of them must be content words (one word alone, "can't be online when ...", says too little about what
is denied), and the answer must state them in a row ("the order date", not "the delivery date shown in your
order tracking"). An answer sentence that negates, conditions ("unless", "only") or asks something itself is
left alone. Meant to be sure when it speaks rather than to catch every contradiction.

Knows nothing about models, retrieval or settings: it compares strings.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from assistant.answer import Source
from assistant.grounding import sentences
from ingest.keyword_index import content_words

_CONTRACTION = re.compile(r"(?:\b(?P<can>can)|\b(?P<will>wo)|)n['\u2019]t\b", re.IGNORECASE)
_CANNOT = re.compile(r"\bcannot\b", re.IGNORECASE)
_NEGATOR = re.compile(r"\b(?:not|never|no|without)\b", re.IGNORECASE)
# An answer sentence with any of these denies or conditions something itself.
_HEDGED = re.compile(r"\b(?:not|never|no|without|unless|except|only)\b", re.IGNORECASE)
# Where the words a negation denies end: punctuation, or a word that opens another clause or alternative.
_CLAUSE_END = re.compile(
    r"[,;:.!?()\u2014\u2013]|\s-\s|\b(?:and|but|or|nor|unless|except|when|whenever|if|because|until|while|so"
    r"|although|though|which|who|that)\b",
    re.IGNORECASE,
)
_MARKDOWN = re.compile(r"\*\*|__|`|^\s*(?:[-*+]|\d{1,2}[.)])\s+", re.MULTILINE)
MIN_DENIED_WORDS = 2  # content words a negation must deny for a sentence stating them to contradict it
MIN_SHARED = 0.5  # share of the answer sentence's content words the source sentence must hold: the same topic


@dataclass(frozen=True)
class Contradiction:
    sentence: str  # the answer's
    source_number: int  # the source, as numbered for the model
    source_sentence: str  # the source's sentence that says otherwise


def contradictions(answer: str, sources: Sequence[Source]) -> list[Contradiction]:
    """The answer's sentences that state, without negating them, words a shown source sentence about the
    same thing negates; the first such source sentence for each, in the order of the answer."""
    negating = [
        (source.number, sentence, denied, said)
        for source in sources
        for sentence in sentences(_MARKDOWN.sub("", source.text))
        for plain in (_expanded(sentence),)
        for said in (content_words(plain),)
        for denied in _denied(plain)
    ]
    found: list[Contradiction] = []
    for sentence in sentences(answer):
        plain = _expanded(sentence)
        if _HEDGED.search(plain) or plain.rstrip().endswith("?"):
            continue  # it negates or asks something itself: whether that is the same is beyond a word check
        stated = content_words(plain)
        for number, source_sentence, denied, said in negating:
            if _contradicts(stated, denied, said):
                found.append(Contradiction(sentence, number, source_sentence))
                break
    return found


def _contradicts(stated: list[str], denied: tuple[str, ...], said: list[str]) -> bool:
    """Whether an answer sentence's content words `stated` hold the `denied` words in a row, as the source
    sentence with words `said` denies them, and are about the same thing: the sentences share at least
    MIN_SHARED of the answer's words, one of them outside what is denied (the subject: "the return window",
    "the restocking fee")."""
    if not _in_a_row(denied, stated):
        return False
    shared = set(stated) & set(said)
    return len(shared) >= MIN_SHARED * len(set(stated)) and bool(shared - set(denied))


def _in_a_row(part: tuple[str, ...], words: list[str]) -> bool:
    size = len(part)
    return any(tuple(words[start : start + size]) == part for start in range(len(words) - size + 1))


def _denied(plain: str) -> list[tuple[str, ...]]:
    """The content words each negation of the `_expanded` sentence `plain` denies, in order, those of at least
    MIN_DENIED_WORDS."""
    denied = []
    for negation in _NEGATOR.finditer(plain):
        rest = plain[negation.end() :]
        end = _CLAUSE_END.search(rest)
        words = tuple(content_words(rest[: end.start()] if end else rest))
        if len(words) >= MIN_DENIED_WORDS:
            denied.append(words)
    return denied


def _expanded(text: str) -> str:
    """ "doesn't" as "does not", "cannot" as "can not", so one word finds every negation."""
    return _CANNOT.sub("can not", _CONTRACTION.sub(_negation, text))


def _negation(contraction: re.Match[str]) -> str:
    if contraction["can"]:
        return f"{contraction['can']} not"
    return "will not" if contraction["will"] else " not"
