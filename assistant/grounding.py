"""Finds the figures an answer states that neither its sources nor the question contain: invented numbers
(and invented e-mail and web addresses, checked the same way).

A small model asked something its sources do not answer rarely says so; it states a plausible date, price or
count instead. A number is the one kind of claim that can be checked cheaply and without a model: it is in
the text the model was shown, or the model made it up. So is its unit: "runs 2 hours on battery" is made up
where the sources hold "2" only as "2 business days". The engine uses this to flag the sentences that state
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


# Units a figure is stated in: time, data, rate, frequency, length, weight, power, share. A number its sources
# hold only in another unit ("runs 2 hours" where they say "2 business days") is a claim they do not back.
# Single letters ("6 A", "7 m") are left out: in lower-case prose they are words ("Wi-Fi 6 a ...").
_UNIT_GROUPS = (
    "second minute hour day week month year",  # time
    "kb mb gb tb kbps mbps gbps gbe",  # data and rate
    "hz khz mhz ghz",  # frequency
    "mm cm km inch ft foot feet mile metre meter",  # length
    "kg lb watt volt mah",  # weight and power
    "percent %",  # share
)
_UNITS = frozenset(unit for group in _UNIT_GROUPS for unit in group.split())
_STATED_IN = re.compile(r"(\d+(?:[.,]\d+)*)\s?(?:-\s?)?(%|[^\W\d_]+)")  # "2 hours", "3-hour", "2.4GHz"
# What may stand between a source's number and its unit: a range's other end ("1-2 business days", "3 to 5
# days"), then up to two more words ("30 calendar days", "128 connected devices").
_RANGE_END = re.compile(r"\s?(?:[-\u2013]|to|or|and)\s?\d+(?:[.,]\d+)*")
_UNIT_WORDS = re.compile(r"%|[^\W\d_]+")
_UNIT_REACH = 3  # words after a source's number that may name its unit
# An e-mail or web address: a contact a customer would use, so one the sources do not give is made up like a
# figure ("see official.com"). A bare name.tld counts only with a common top-level domain ("Node.js" is no
# address); a scheme or "www." makes anything one.
_ADDRESS = re.compile(
    r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+"
    r"|(?:https?://|www\.)[^\s<>\"\u201d)\]]+"
    r"|\b(?:[a-z0-9-]+\.)+(?:com|org|net|io|co|uk|de|fr|eu|us|info|biz|app|dev|example)\b(?:/[^\s<>\"\u201d)\]]*)?",
    re.IGNORECASE,
)


def figures(text: str) -> list[str]:
    """The numbers of `text` in a canonical form ("1,000" and "1000" agree; "$14.95" gives "14.95"),
    citation markers like `[2]`, list numbering and the speaker's certainty ("99% sure") left out, in
    order of appearance, each once."""
    found = (_canonical(match) for match in _NUMBER.findall(_checkable(text)))
    return list(dict.fromkeys(found))


def _checkable(text: str) -> str:
    """`text` less citation markers, list numbering and the speaker's certainty."""
    return _CERTAINTY.sub(" ", _LIST_MARKER.sub("", _CITATION.sub(" ", text)))


def _unit(word: str) -> str | None:
    """`word` as a key of `_UNITS` ("Hours" -> "hour", "inches" -> "inch"), else None."""
    word = word.lower()
    for key in (word, word[:-1] if word.endswith("s") else "", word[:-2] if word.endswith("es") else ""):
        if key in _UNITS:
            return key
    return None


def _held_quantities(text: str) -> set[str]:
    """The keys of the quantities a source or question holds: each number with every unit among the
    `_UNIT_REACH` words after it (past a range's other end) before the next number."""
    text = _checkable(text)
    held: set[str] = set()
    for match in _NUMBER.finditer(text):
        after = text[match.end() :]
        if (range_end := _RANGE_END.match(after)) is not None:
            after = after[range_end.end() :]
        before_next = re.split(r"\d", after, maxsplit=1)[0]
        for word in _UNIT_WORDS.findall(before_next)[:_UNIT_REACH]:
            if (unit := _unit(word)) is not None:
                held.add(f"{_canonical(match.group())} {unit}")
    return held


def quantities(text: str) -> dict[str, str]:
    """The figures of `text` stated in a unit: each one's key ("3 hour") mapped to its words as first written
    ("3-hour"), the text cleaned as `figures` cleans it."""
    found: dict[str, str] = {}
    for match in _STATED_IN.finditer(_checkable(text)):
        if (unit := _unit(match.group(2))) is not None:
            found.setdefault(f"{_canonical(match.group(1))} {unit}", match.group(0))
    return found


def invented_figures(answer: str, shown: Iterable[str], question: str = "") -> list[str]:
    """The figures of `answer` found in none of the `shown` texts (the sources) and not in the question, then
    those they hold only in another unit, as the answer writes them ("2 hours" where they say "2 days")."""
    known = set(figures(question))
    known_quantities = _held_quantities(question)
    for text in shown:
        known.update(figures(text))
        known_quantities |= _held_quantities(text)
    invented = [figure for figure in figures(answer) if figure not in known]
    for key, written in quantities(answer).items():
        if key not in known_quantities and key.split(" ")[0] in known:
            invented.append(written)
    given = " ".join([question, *shown]).lower()
    invented += [address for address in addresses(answer) if address.lower() not in given]
    return invented


def addresses(text: str) -> list[str]:
    """The e-mail and web addresses of `text` as written, a sentence's full stop left out, each once."""
    return list(dict.fromkeys(match.rstrip(".,;:!?") for match in _ADDRESS.findall(text)))


def split_unverified(answer: str, invented: Sequence[str]) -> tuple[list[str], str]:
    """(the sentences of `answer` stating one of the `invented` figures, the other sentences joined by a
    space): the claims no source backs, and the rest of the answer."""
    written = set(invented)
    unknown = written | {key for key, as_written in quantities(answer).items() if as_written in written}
    unverified: list[str] = []
    rest: list[str] = []
    for sentence in sentences(answer):
        stated = [*figures(sentence), *quantities(sentence), *addresses(sentence)]
        (unverified if unknown.intersection(stated) else rest).append(sentence)
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
