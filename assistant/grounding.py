"""Finds the figures an answer states that neither its sources nor the question contain: invented numbers.

A small model asked something its sources do not answer rarely says so; it states a plausible date, price or
count instead. A number is the one kind of claim that can be checked cheaply and without a model: it is in
the text the model was shown, or the model made it up. The engine uses this to flag such answers as
unverified (and count them as abstentions); the evaluation counts them per mode.

Knows nothing about models, retrieval or settings: it compares strings.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

_CITATION = re.compile(r"\[\d{1,2}\]")
_NUMBER = re.compile(r"\d+(?:[.,]\d+)*")
_THOUSANDS = re.compile(r",(?=\d{3}\b)")
_LIST_MARKER = re.compile(r"^\s*\d{1,2}[.)]\s", re.MULTILINE)  # "1. Unplug it": a step, not a figure
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


def _canonical(number: str) -> str:
    number = _THOUSANDS.sub("", number).replace(",", ".").rstrip(".")
    if "." in number:
        number = number.rstrip("0").rstrip(".")
    return number.lstrip("0") or "0"
