"""Find people's names in text: cue rules (introductions, greetings, sign-offs) and an optional spaCy model.

The cue rules need no model and work in any English-speaking domain: "my name is Jonathan Whitaker",
"this is Marco from ...", "Hi Jonathan,", "Thanks, Jonathan" at the end of a message. A spaCy pipeline
(`ner_model`, e.g. `en_core_web_sm`) adds the PERSON entities it finds anywhere. Either way a name whose
words include a keep-listed word (the company's brand, products, team names) is never reported.
This module only finds spans; replacing them is `pii`'s job.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterator

# Words that end a name after a strong cue ("my name is on the bill") and are never a name after a
# greeting ("Hi there,"). General English only: nothing here comes from any one domain.
_NOT_NAMES = frozenset(
    """a an the and or but if so to of in on at by for from with without about as is are was were be been
    am i me my mine you your yours we our us they them their he him his she her it its this that these
    those there here not no yes ok okay please thanks thank again all everyone everybody team support
    customer customers service sir madam mr mrs ms dr guys folks friend friends just also still very
    really too now then today tomorrow good great morning afternoon evening day night sure sorry hello
    hi hey dear regards best cheers sincerely kind many much lot help what when where why how who which
    whom having trying calling writing unable able glad happy new same one two monday tuesday wednesday
    thursday friday saturday sunday january february march april may june july august september october
    november december back later soon asap tonight anytime instead right directly first maybe once ever never
    """.split()  # noqa: SIM905
)
# Words that make the capitalised words before them an organisation: "this is Acme Support", "the Acme Team".
_ORGANISATION = frozenset(
    "support team service services customer care help helpdesk desk inc ltd llc gmbh company".split()  # noqa: SIM905
)
# A name word: a letter first, then letters, apostrophes or hyphens (O'Connor, Anne-Marie).
_WORD = r"[^\W\d_][^\W\d_'’-]*(?:['’-][^\W\d_]+)*"
_CAPITAL = r"[^\W\d_a-z][^\W\d_'’-]*(?:['’-][^\W\d_]+)*"
# "Mr. Thompson": the title is kept and the name after it replaced.
_TITLE = r"(?:(?:Mr|Mrs|Ms|Miss|Mx|Dr|Prof)\.?\s+)?"
# Strong cues: what follows is a name even in lower case ("my name is jonathan whitaker").
_INTRODUCTION = re.compile(
    rf"(?i:\b(?:my\s+name\s+is|my\s+name's|name\s*:|call\s+me|account\s+holder\s+is|in\s+the\s+name\s+of|spelled)\s+)"
    rf"{_TITLE}"
    rf"({_WORD}(?:\s+{_WORD}){{0,2}})"
)
# Weak cues: only a capitalised word, and only in a context that makes it a person ("This is Marco from").
_THIS_IS = re.compile(
    rf"(?i:\b(?:this\s+is|i\s+am|i'm|it's)\s+)({_CAPITAL}(?:\s+{_CAPITAL}){{0,2}})"
    rf"(?=\s+(?i:from|at|with|here|speaking|calling)\b|\s*[,.!]?\s*$|\s*[,!])"
)
_GREETING = re.compile(
    rf"(?:^|(?<=[.!?\n]\s)|(?<=\n))(?i:hi|hello|hey|dear|good\s+(?:morning|afternoon|evening)|thanks|thank\s+you)"
    rf"\s+{_TITLE}({_CAPITAL}(?:\s+{_CAPITAL}){{0,2}})(?=\s*[,!.:\n]|\s*$)"
)
_SIGN_OFF = re.compile(
    rf"(?i:\b(?:thanks|thank\s+you|regards|best|cheers|sincerely|many\s+thanks|best\s+wishes)[,!.]?\s*(?:\n\s*)?"
    rf"(?:[-–—]\s*)?)({_CAPITAL}(?:\s+{_CAPITAL}){{0,2}})\s*[.!]?\s*$"
)
# A courtesy word, a comma, then the person addressed: "Happy to help, Rosa." "Thank you, Tina, you're set."
_VOCATIVE = re.compile(
    r"(?i:\b(?:thanks|thank\s+you|you'?re\s+welcome|welcome|anytime|happy\s+to\s+help|glad\s+to\s+help|sorry"
    r"|hi|hello|hey|bye|goodbye|no\s+problem|of\s+course|sure|great|perfect|certainly|absolutely)),\s+"
    rf"{_TITLE}({_CAPITAL})(?=\s*[,.!?])"
)
_DASH_SIGNATURE = re.compile(rf"(?:^|\n)\s*[-–—]\s*({_CAPITAL}(?:\s+{_CAPITAL}){{0,2}})\s*$")
_NUMBER_NEXT = re.compile(r"\s*\d")
_CUES = (_INTRODUCTION, _THIS_IS, _GREETING, _SIGN_OFF, _VOCATIVE, _DASH_SIGNATURE)


def find_names(
    text: str, *, keep_words: frozenset[str], ner_model: str | None = None
) -> list[tuple[int, int]]:
    """Character spans of people's names in `text`, sorted and not overlapping.

    `keep_words` are lower-cased words that are never part of a name (the company's own names).
    `ner_model` names an installed spaCy pipeline whose PERSON entities are added to the cue rules'.
    """
    spans = [span for span in _cue_spans(text) if _is_name(text[span[0] : span[1]], keep_words)]
    if ner_model:
        spans += [
            (start, end)
            for start, end in _entity_spans(text, ner_model)
            if _is_name(text[start:end], keep_words) and not _has_digit_or_symbol(text[start:end])
        ]
    return _merged(spans)


def _cue_spans(text: str) -> Iterator[tuple[int, int]]:
    for pattern in _CUES:
        for match in pattern.finditer(text):
            words = list(re.finditer(_WORD, match.group(1)))
            # The name ends at the first word that is ordinary English ("my name is jo and I ...") or
            # that a number follows ("firmware 4.2", "model X 5"): a name is not a label of a number.
            start = match.start(1)
            taken = []
            organisation = False
            for word in words:
                if word.group(0).lower() in _NOT_NAMES or _NUMBER_NEXT.match(text, start + word.end()):
                    organisation = word.group(0)[0].isupper() and word.group(0).lower() in _ORGANISATION
                    break
                taken.append(word)
            if taken and not organisation:
                yield start + taken[0].start(), start + taken[-1].end()


def _is_name(candidate: str, keep_words: frozenset[str]) -> bool:
    # Split at hyphens and apostrophes too: "Acme-XXXX" holds the keep-listed "acme".
    words = [word.lower() for word in re.findall(r"[^\W\d_]+", candidate)]
    return bool(words) and not any(word in keep_words or word in _NOT_NAMES for word in words)


def _has_digit_or_symbol(candidate: str) -> bool:
    # "Nimbus Router NR-7" tagged PERSON is a product: real names carry no digits or symbols.
    return any(char.isdigit() or char in "/@#&+=_<>" for char in candidate)


def _entity_spans(text: str, ner_model: str) -> list[tuple[int, int]]:
    document = load_recogniser(ner_model)(text)
    return [(entity.start_char, entity.end_char) for entity in document.ents if entity.label_ == "PERSON"]


@functools.cache
def load_recogniser(ner_model: str):
    """The spaCy pipeline `ner_model` with only what entity recognition needs (loaded once per process).

    Raises ValueError naming the model and how to install it when it cannot be loaded.
    """
    try:
        import spacy
    except ImportError as error:
        raise ValueError(
            f"data.pii_ner_model={ner_model}: spaCy is not installed; pip install spacy"
        ) from error
    try:
        return spacy.load(ner_model, exclude=["parser", "lemmatizer", "senter"])
    except OSError as error:
        raise ValueError(
            f"data.pii_ner_model={ner_model}: no such spaCy pipeline is installed; pip install it or unset the setting"
        ) from error


def _merged(spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    merged: list[tuple[int, int]] = []
    for start, end in sorted(spans):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        else:
            merged.append((start, end))
    return merged
