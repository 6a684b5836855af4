"""Mines the team's own hand-off sentences from transcripts: what an agent says when they pass a case on.

A retrieval-augmented adapter must learn to decline when its sources do not hold the answer. The words it
declines in come from the transcripts, not from us: agent sentences that hand the customer over, escalate,
or promise to check and come back. They are found by generic hand-off verbs of support English (not the
sample domain's wording), and kept only when they carry no case detail (no number, e-mail or ticket id)
and are not facts a document supports, so a decline never states something it cannot know.

Knows nothing about retrieval or models: it reads conversations and the supported-sentence test it is given.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Iterable

from finetune.conversation import Conversation
from finetune.oracle import sentence_spans

# Hand-off language of customer support in English: passing on, escalating, checking and coming back.
HAND_OFF = re.compile(
    r"\b(?:escalat\w*|transfer\w*|hand(?:ing)? (?:you|this|it) (?:over|to)|pass(?:ing)? (?:this|it|you) "
    r"(?:on|to)|connect(?:ing)? you|specialist\w*|colleague\w*|get back to you|follow(?:ing)? up|"
    r"look(?:ing)? into|check with|team)\b",
    re.IGNORECASE,
)
# Case details that must not be repeated to another customer: numbers, ids, addresses.
_CASE_DETAIL = re.compile(r"\d|@|https?://|www\.")
MAX_WORDS = 40  # a decline is a sentence or two, not a procedure


def mine_declines(conversations: Iterable[Conversation], is_supported: Callable[[str], bool]) -> list[str]:
    """Distinct hand-off sentences of agents, most frequent first.

    `is_supported(sentence)` says whether a document backs the sentence; those are facts, not declines.
    """
    found: Counter[str] = Counter()
    for conversation in conversations:
        for message in conversation.messages:
            if message.role != "assistant":
                continue
            text = message.content
            for begin, end in sentence_spans(text):
                sentence = text[begin:end].strip()
                if (
                    HAND_OFF.search(sentence)
                    and not _CASE_DETAIL.search(sentence)
                    and len(sentence.split()) <= MAX_WORDS
                    and sentence.endswith((".", "!"))
                ):
                    found[sentence] += 1
    return [sentence for sentence, _ in found.most_common() if not is_supported(sentence)]
