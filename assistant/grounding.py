"""Finds the figures an answer states that neither its sources nor the question contain: invented numbers.

A small model asked something its sources do not answer rarely says so; it states a plausible date, price or
count instead. A number is the one kind of claim that can be checked cheaply and without a model: it is in
the text the model was shown, or the model made it up. The engine uses this to flag the sentences that state
such figures as unverified; an answer whose other sentences say nothing about the question is an abstention.
The evaluation's reward counts invented figures too.

Knows nothing about models, retrieval or settings: it compares strings.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

from ingest.keyword_index import content_words

_CITATION = re.compile(r"\[\d{1,2}\]")
UNVERIFIED = "Unverified"  # the label of the line flagging an answer's unverified sentences
UNVERIFIED_LINE_START = f"{UNVERIFIED}, "  # how every line flagging a sentence begins
UNVERIFIED_LEAD = f"{UNVERIFIED_LINE_START}no source states "  # how the line flagging invented figures begins
# A sentence ends at . ! or ? (a citation or a closing mark may follow) before a capital or an opening mark:
# "approx. 6 weeks" and "9 a.m. to 6 p.m." stay whole. A line break always ends one.
_SENTENCE_END = re.compile(
    r"(?:(?<=[.!?])|(?<=[.!?]\[\d\])|(?<=[.!?]\[\d\d\])|(?<=[.!?][\"\u201d')]))\s+(?=[A-Z\"\u201c(\[])|\n+"
)
_UNVERIFIED_AT_END = re.compile(
    r"(?:\n\n" + re.escape(UNVERIFIED_LINE_START) + r"[^\n]*: \u201c[^\n]*\u201d)+\s*\Z"
)
_UNVERIFIED_LINE = re.compile(r"^" + re.escape(UNVERIFIED_LINE_START) + r"[^\n]*: \u201c", re.MULTILINE)
_LETTER = re.compile(r"[^\W\d_]")
_NUMBER = re.compile(r"\d+(?:[.,]\d+)*")
_THOUSANDS = re.compile(r",(?=\d{3}\b)")
# "1. Unplug it", or a list's number left alone where an answer was cut off: a step, not a figure.
_LIST_MARKER = re.compile(r"^\s*\d{1,2}[.)](?:\s|$)", re.MULTILINE)
# "I'm 99% sure": how sure the speaker is, a hedge about the answer, not a figure it states.
_CERTAINTY = re.compile(r"\b\d{1,3}\s?(?:%|per ?cent)\s+(?:sure|certain|confident|positive)\b", re.IGNORECASE)


def figures(text: str) -> list[str]:
    """The numbers of `text` in a canonical form ("1,000" and "1000" agree; "$14.95" gives "14.95"),
    citation markers like `[2]`, list numbering and the speaker's certainty ("99% sure") left out, in
    order of appearance, each once."""
    text = _CERTAINTY.sub(" ", _LIST_MARKER.sub("", _CITATION.sub(" ", text)))
    found = (_canonical(match) for match in _NUMBER.findall(text))
    return list(dict.fromkeys(found))


def invented_figures(answer: str, shown: Iterable[str], question: str = "") -> list[str]:
    """The figures of `answer` found in none of the `shown` texts (the sources) and not in the question."""
    known = set(figures(question))
    for text in shown:
        known.update(figures(text))
    return [figure for figure in figures(answer) if figure not in known]


def split_unverified(answer: str, invented: Sequence[str]) -> tuple[list[str], str]:
    """(the sentences of `answer` stating one of the `invented` figures, the other sentences joined by a
    space): the claims no source backs, and the rest of the answer."""
    unknown = set(invented)
    unverified: list[str] = []
    rest: list[str] = []
    for sentence in sentences(answer):
        (unverified if unknown.intersection(figures(sentence)) else rest).append(sentence)
    return unverified, " ".join(rest)


def sentences(text: str) -> list[str]:
    """The sentences of `text`, blanks around them removed."""
    return [part.strip() for part in _SENTENCE_END.split(text) if part and part.strip()]


def speaks_to(text: str, question: str) -> bool:
    """Whether `text` uses at least one of the question's content words: once the unverified sentences are
    gone, "I'm sorry for any inconvenience." is no answer to "how long till tier 2 calls me back", while
    "No, Care+ can't be added to a router bought 3 months ago." still is one to "can I add Care+ to a router
    I bought 3 months ago"."""
    return bool(_topic_words(text) & _topic_words(question))


def _topic_words(text: str) -> set[str]:
    """Content words with a letter: a bare number ("2" of "[2]" or "tier 2") names no topic."""
    return {word for word in content_words(_CITATION.sub(" ", text)) if _LETTER.search(word)}


def unverified_note(sentences: Sequence[str], invented: Sequence[str]) -> str:
    """One line telling the reader which of the answer's sentences state figures no source holds;
    `without_unverified` finds it again."""
    quoted = " ".join(f"\u201c{sentence}\u201d" for sentence in sentences)
    return f"{UNVERIFIED_LEAD}{', '.join(invented)}: {quoted}"


def contradiction_note(source_number: int, source_sentence: str) -> str:
    """One line telling the reader that source `source_number` says otherwise than a sentence of the answer,
    in that source's words; `without_unverified` finds it again."""
    return f"{UNVERIFIED_LINE_START}source {source_number} says otherwise: \u201c{source_sentence}\u201d"


def flags_unverified(text: str) -> bool:
    """Whether an answer carries an `unverified_note` or `contradiction_note` line (anywhere: the engine's
    quote and past exchange follow them)."""
    return bool(_UNVERIFIED_LINE.search(text))


def without_unverified(text: str) -> str:
    """`text` less the `unverified_note` and `contradiction_note` lines it ends with, if any: the engine's
    words, not the model's."""
    return _UNVERIFIED_AT_END.sub("", text)


def _canonical(number: str) -> str:
    number = _THOUSANDS.sub("", number).replace(",", ".").rstrip(".")
    if "." in number:
        number = number.rstrip("0").rstrip(".")
    return number.lstrip("0") or "0"
