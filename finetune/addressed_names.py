"""Agent replies without the name placeholders of introductions and forms of address.

Scrubbing turns "my name is Dana" and "Thanks, Jonathan." into "my name is <NAME>" and "Thanks, <NAME>.";
a model trained on those replies learns to write `<NAME>` to customers (a third of the sample domain's
agent turns held one). Where the name is only an introduction, a greeting, a vocative or a signature,
the sentence reads as well without it, so the clause or the name goes: "Hi, thanks for contacting us,
my name is <NAME>. How can I help?" -> "Hi, thanks for contacting us. How can I help?". A placeholder in
any other position stays (it carries meaning the reply needs). General English only; knows nothing about
conversations or settings.
"""

from __future__ import annotations

import re

from finetune.pii import PLACEHOLDERS

NAME = re.escape(PLACEHOLDERS["name"])
_END = r"(?=\s*(?:[.,!?;:)]|$))"  # the name ends its clause
_REMOVALS = (
    # "- <NAME>" or a bare "<NAME>" on the last line: a signature.
    re.compile(rf"[ \t]*\n\s*[-–—]?\s*{NAME}\s*$"),
    # ", my name is <NAME>." / "I'm <NAME> and ...": the self-introduction clause.
    re.compile(rf"[,;]?\s*\b(?:my name is|my name's|this is|I am|I'm)\s+{NAME}{_END}", re.IGNORECASE),
    re.compile(rf"\b(?:my name is|my name's|I am|I'm)\s+{NAME}\s*(?:,\s*|and\s+)", re.IGNORECASE),
    # "Thanks, <NAME>." / "Anytime, <NAME>!": a vocative at the end of a clause.
    re.compile(rf"\s*,\s*{NAME}{_END}"),
)
_SENTENCE_START = r"(?:(?<=^)|(?<=[.!?]\s))"
# "My name is <NAME>." as a sentence of its own.
_INTRODUCTION_SENTENCE = re.compile(
    rf"{_SENTENCE_START}(?:my name is|my name's|this is|I am|I'm)\s+{NAME}\s*[.!]\s*", re.IGNORECASE
)
# "<NAME>, your order ..." / "Dear <NAME>, thank you": the name opens a sentence, whose next word then
# takes the capital.
_OPENING = re.compile(rf"{_SENTENCE_START}(?:dear\s+)?{NAME}\s*,\s*(\w)", re.IGNORECASE)
# "Hi <NAME>," / "Thanks <NAME>": the greeting stays, the name goes.
_GREETING = re.compile(
    rf"\b(hi|hello|hey|thanks|thank you|good (?:morning|afternoon|evening))\s+{NAME}", re.IGNORECASE
)


def drop_addressed_names(text: str) -> tuple[str, int]:
    """`text` without name placeholders used only to introduce or address someone, and how many went."""
    before = text.count(PLACEHOLDERS["name"])
    if not before:
        return text, 0
    text = _GREETING.sub(r"\1", text)
    text = _INTRODUCTION_SENTENCE.sub("", text)
    text = _OPENING.sub(lambda match: match.group(1).upper(), text)
    for pattern in _REMOVALS:
        text = pattern.sub("", text)
    text = text.strip()
    return text, before - text.count(PLACEHOLDERS["name"])
