"""How the team answered a similar question before: the past exchange shown under a transcript-taught answer.

A support team's transcripts hold what its documents often do not: how a case is escalated and when the next
tier calls back, what identity check an account change needs, what to do with a smoking power adapter.
Fine-tuning a 135M model on them teaches it the team's tone far better than their facts, so a mode whose
knowledge comes from the transcripts (the tuned and fewshot modes) also shows, under its answer, the past
exchange most similar to the question (its customer turn or the whole exchange; of the `CANDIDATES` nearest, the first whose
reply holds no scrubbed detail), when that similarity reaches a threshold (`assistant.precedent_min_similarity`,
or the one `tunedesk calibrate` picked): the customer's words, so the reader sees which question it was, and
the agent's reply, both as the transcripts hold them after personal data was scrubbed. It is labelled as a
past answer to another customer, never as the answer to this one.

Pure text functions: the exchange comes from the caller (the example store of the fewshot modes).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence

from assistant.answer import Example
from assistant.evidence import without_quote
from assistant.grounding import without_unverified
from assistant.prompts import neutralise
from finetune.pii import PLACEHOLDERS

LEAD = "Our team answered a similar question before"
# Past exchanges weighed for one answer: the nearest whose reply shows no scrubbed detail is the one shown.
CANDIDATES = 3
Pick = Callable[[str, int], Sequence[Example]]  # (query, k) -> the k most similar exchanges, best first
# A long customer turn is cut to this many words: it only has to say which question the reply answered.
CUSTOMER_WORDS = 25
_PRECEDENT_AT_END = re.compile(
    r"\n\n" + re.escape(LEAD) + r" \(\u201c[^\n]*\u201d\): \u201c[^\n]*\u201d\s*\Z"
)


def nearest_shown(question: str, pick: Pick) -> Example | None:
    """The past exchange an answer to `question` would show, before the similarity threshold: of the
    `CANDIDATES` nearest, the first `showable` one. The engine and the calibration both ask this."""
    return showable(pick(question, CANDIDATES))


def showable(candidates: Sequence[Example]) -> Example | None:
    """The first of `candidates` (best first) whose reply holds no placeholder of scrubbed personal data: a
    reply reading "call <PHONE>" tells the reader nothing and looks broken."""
    for example in candidates:
        if not any(placeholder in example.agent for placeholder in PLACEHOLDERS.values()):
            return example
    return None


def precedent_line(example: Example, special_tokens: Sequence[str] = ()) -> str:
    """One line: `Our team answered a similar question before ("customer"): "agent reply"`, without chat
    control tokens (the common templates' or `special_tokens`) or fence lookalikes: an answer never shows one."""
    words = neutralise(example.customer, special_tokens).split()
    customer = " ".join(words[:CUSTOMER_WORDS]) + (" \u2026" if len(words) > CUSTOMER_WORDS else "")
    agent = " ".join(neutralise(example.agent, special_tokens).split())
    return f"{LEAD} (\u201c{customer}\u201d): \u201c{agent}\u201d"


def without_precedent(text: str) -> str:
    """`text` less the past exchange it ends with, if any."""
    return _PRECEDENT_AT_END.sub("", text)


def own_words(text: str) -> str:
    """An answer without what the engine appended under it (the past exchange, then the quote of its top
    source, then the line flagging unverified sentences): the words the model generated, or the engine's
    abstention."""
    return without_unverified(without_quote(without_precedent(text)))
