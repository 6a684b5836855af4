"""Replace personal data and secrets in text with typed placeholders.

Kinds and placeholders: name <NAME>, email <EMAIL>, phone <PHONE>, address <ADDRESS>, card <CARD>,
iban <IBAN>, ssn <SSN>, ip <IP>, mac <MAC>, code <CODE> (one-time and card security codes) and
secret <SECRET> (passwords, PINs, log-ins, API keys, tokens). The policy, chosen to keep support text
useful, is what is *not* personal data:
- order, case, ticket and serial numbers, prices, dates, versions and model numbers: card numbers must
  pass the Luhn check and IBANs the mod-97 check, and digits glued to letters or hyphens (BW-H1,
  BWC-123456) are never a phone number;
- private, loopback and link-local IP addresses (192.168.x.x, 10.x.x.x, fe80::): the same in every
  home, product facts rather than personal data; so are dotted numbers after "version"/"firmware";
- a code, PIN or password is replaced only after a label that says what it is ("verification code is
  483920", "PIN 4821", "wifi password is CorrectHorseBatteryStaple"); the label stays;
- the company's own names and contacts, listed in `keep`: exact strings never replaced, and words
  never read as part of a person's name.
`pii_recall` measures how well this works on a labelled set. This module knows nothing about
conversations or files.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable

from finetune import pii_patterns as p
from finetune.pii_names import find_names

PLACEHOLDERS = {
    "name": "<NAME>",
    "email": "<EMAIL>",
    "phone": "<PHONE>",
    "address": "<ADDRESS>",
    "card": "<CARD>",
    "iban": "<IBAN>",
    "ssn": "<SSN>",
    "ip": "<IP>",
    "mac": "<MAC>",
    "code": "<CODE>",
    "secret": "<SECRET>",
}
_PLACEHOLDER = re.compile("|".join(re.escape(value) for value in PLACEHOLDERS.values()))


def scrub(
    text: str,
    *,
    keep: frozenset[str] = frozenset(),
    ner_model: str | None = None,
    names: list[str] | None = None,
) -> tuple[str, Counter[str]]:
    """`text` with personal data replaced, and how many of each kind were found.

    `keep` lists exact strings never replaced and names never scrubbed (the company's own e-mail,
    phone number, brand, products and team names). `ner_model` is an installed spaCy pipeline that
    finds people's names beyond the introduction, greeting and sign-off rules. `names`, when given, gets
    each name replaced, as written.
    Secrets and labelled codes go first so their digits are not read as a phone number; cards and
    IBANs before phones; names last, so a replaced e-mail is never read as a name.
    """
    found: Counter[str] = Counter()
    for kind, replace in _STEPS:
        text = replace(text, kind, found, keep)
    keep_words = frozenset(word.lower() for entry in keep for word in re.findall(r"\w+", entry))
    spans = find_names(text, keep_words=keep_words, ner_model=ner_model)
    for start, end in reversed(spans):
        if _PLACEHOLDER.search(text[start:end]) is None and text[start:end] not in keep:
            found["name"] += 1
            if names is not None:
                names.append(text[start:end])
            text = text[:start] + PLACEHOLDERS["name"] + text[end:]
    return text, found


def _substitute(pattern: re.Pattern[str], accept: Callable[[re.Match[str]], bool] | None = None):
    def replace(text: str, kind: str, found: Counter[str], keep: frozenset[str]) -> str:
        def one(match: re.Match[str]) -> str:
            if match.group(0) in keep or (accept is not None and not accept(match)):
                return match.group(0)
            found[kind] += 1
            return PLACEHOLDERS[kind]

        return pattern.sub(one, text)

    return replace


def _substitute_value(pattern: re.Pattern[str]):
    """Replace group 2 (the value) and keep group 1 (its label) and whatever follows the value."""

    def replace(text: str, kind: str, found: Counter[str], keep: frozenset[str]) -> str:
        def one(match: re.Match[str]) -> str:
            value = match.group(2)
            if value in keep or value.startswith("<"):  # "<" starts a placeholder of an earlier step
                return match.group(0)
            found[kind] += 1
            whole, offset = match.group(0), match.start(0)
            return whole[: match.start(2) - offset] + PLACEHOLDERS[kind] + whole[match.end(2) - offset :]

        return pattern.sub(one, text)

    return replace


def _substitute_checked(
    pattern: re.Pattern[str], passes: Callable[[str], bool], refuse_after: re.Pattern[str] | None = None
):
    """Replace the longest prefix of a match, cut at a space or hyphen, that passes its checksum.

    A number read as one more digit group, after or before, must not hide a valid card or IBAN: when no
    prefix passes, the search goes on after the match's first group ("0958 4111 1111 1111 1111").
    """

    def replace(text: str, kind: str, found: Counter[str], keep: frozenset[str]) -> str:
        pieces, position = [], 0
        while (match := pattern.search(text, position)) is not None:
            whole = match.group(0)
            refused = whole in keep or (
                refuse_after is not None
                and refuse_after.search(text[max(0, match.start() - 8) : match.start()]) is not None
            )
            valid = None if refused else _longest_passing(whole, passes, keep)
            if valid is not None:
                found[kind] += 1
                pieces.append(text[position : match.start()] + PLACEHOLDERS[kind])
                position = match.start() + len(valid)
                continue
            head = None if refused else p.FIRST_GROUP.match(whole)
            resume = match.start() + (head.end() if head else len(whole))
            pieces.append(text[position:resume])
            position = resume
        return "".join(pieces) + text[position:]

    return replace


def _longest_passing(whole: str, passes: Callable[[str], bool], keep: frozenset[str]) -> str | None:
    candidate = whole
    while candidate not in keep:
        if passes(candidate):
            return candidate
        shorter = p.LAST_GROUP.sub("", candidate)
        if shorter == candidate:
            return None
        candidate = shorter
    return None


_STEPS = (
    ("secret", _substitute(p.JWT)),
    ("secret", _substitute(p.TOKEN_SECRET)),
    ("secret", _substitute_value(p.LABELLED_PASSWORD)),
    ("secret", _substitute_value(p.PIN)),
    ("secret", _substitute(p.CREDENTIAL_PAIR)),
    ("secret", _substitute_value(p.LABELLED_KEY)),
    ("email", _substitute(p.EMAIL)),
    ("ssn", _substitute_value(p.LABELLED_SSN)),
    ("code", _substitute_value(p.CARD_SECURITY_CODE)),
    ("code", _substitute_value(p.ONE_TIME_CODE)),
    ("iban", _substitute_checked(p.IBAN, p.passes_mod97)),
    # Digits right after "DE89 " are the tail of an IBAN that failed mod-97, not a card.
    ("card", _substitute_checked(p.CARD, p.passes_luhn, refuse_after=p.IBAN_HEAD_BEFORE)),
    ("ssn", _substitute(p.SSN)),
    ("mac", _substitute(p.MAC)),
    ("ip", _substitute(p.IPV4, p.is_personal_ip)),
    ("ip", _substitute(p.IPV6, p.is_personal_ip)),
    ("phone", _substitute(p.PHONE, p.is_phone)),
    ("address", _substitute(p.ADDRESS)),
    ("address", _substitute(p.EUROPEAN_ADDRESS)),
    ("address", _substitute(p.POSTCODE)),
)
