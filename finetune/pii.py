"""Replace personal data and secrets in text with typed placeholders, and measure how well that works.

Kinds and placeholders: email <EMAIL>, phone <PHONE>, card <CARD>, iban <IBAN>, ip <IP>,
address <ADDRESS>, secret <SECRET>. Choices made to keep support text useful:
- card numbers must pass the Luhn check and IBANs the mod-97 check, so order numbers
  (BW-ORD-12345678), case numbers (BWC-123456) and random digit runs stay;
- private, loopback and link-local IP addresses (192.168.x.x, 10.x.x.x, fe80::) stay: they are the
  same in every home and are product facts (the admin address), not personal data; so do
  dotted numbers right after "version"/"firmware" (firmware 4.2.1.3);
- digits glued to letters or hyphens (BW-H1, BWC-123456) are never a phone number;
- for passwords and keys given as "password: x", "pwd=x", "my password is x2" (x holds a digit or
  symbol) or "api_key=x", only the value is replaced.
This module knows nothing about conversations or files.
"""

from __future__ import annotations

import functools
import ipaddress
import random
import re
from collections import Counter
from collections.abc import Callable

from finetune.pii_planted import CARRIERS, CLEAN_SUPPORT_TEXT, PLANTERS

PLACEHOLDERS = {
    "email": "<EMAIL>",
    "phone": "<PHONE>",
    "card": "<CARD>",
    "iban": "<IBAN>",
    "ip": "<IP>",
    "address": "<ADDRESS>",
    "secret": "<SECRET>",
}

_TOKEN_SECRET = re.compile(
    r"\b(?:sk-(?:proj-)?[A-Za-z0-9_-]{16,}|gh[pousr]_[A-Za-z0-9]{30,}|github_pat_[A-Za-z0-9_]{30,}"
    r"|AKIA[0-9A-Z]{16}|xox[abprs]-[A-Za-z0-9-]{10,})"
)
# "password: x", "pwd=x", "api key: x", "token=x": group 1 is the label kept, group 2 the value replaced.
# "my password is X" only when X looks like a password (has a digit or symbol), not "is on the label".
_LABELLED_PASSWORD = re.compile(
    r"(?i)(\b(?:password|passwd|passcode|pwd|pass)(?:\s*[:=]\s*|\s+is\s+(?=\S*[\d!@#$%^&*_+=~]\S*)(?=\S{6,})))"
    r"(\S+?)(?=[.,;)]*(?:\s|$))"
)
_LABELLED_KEY = re.compile(
    r"(?i)(\b(?:api[ _-]?key|access[ _-]?key|secret[ _-]?key|key|token|secret|bearer)\s*[:=]?\s*)"
    r"((?=[A-Za-z0-9+/_=-]*\d)(?=[A-Za-z0-9+/_=-]*[A-Za-z])[A-Za-z0-9+/_=-]{20,})"
)
_EMAIL = re.compile(r"\b[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}\b")
# Compact (DE89370400440532013000) or in groups of four; the longest prefix passing mod-97 is taken.
_IBAN = re.compile(r"\b[A-Z]{2}\d{2}(?:[A-Z0-9]{11,30}|(?: [A-Z0-9]{4}){2,7}(?: [A-Z0-9]{1,4})?)\b")
_IBAN_HEAD_BEFORE = re.compile(r"\b[A-Z]{2}\d{2} ?$")
_LAST_GROUP = re.compile(r"[ -][A-Z0-9]+$")
# Card layouts only (compact, 4-4-4-4[-1..3], 4-4-4-3, Amex 4-6-5): a loose digit run would swallow a
# phone number in front of a card and hide the card from the search.
_CARD = re.compile(
    r"(?<![\w-])(?:\d{13,19}|\d{4}([ -])\d{4}\1\d{4}\1\d{3,4}(?:\1\d{1,3})?|\d{4}([ -])\d{6}\2\d{5})(?![\w-]|\.\d)"
)
_IPV4 = re.compile(
    r"(?<![\w.])(?:(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\.){3}(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(?!\.?\d)(?!\w)"
)
_IPV6 = re.compile(r"(?<![\w:])(?=[0-9A-Fa-f:]*:[0-9A-Fa-f:]*:)[0-9A-Fa-f:]{3,39}(?![\w:])")
_VERSION_BEFORE = re.compile(r"(?i)(?:version|firmware|fw|build|release|\bv)\s*$")
_PHONE = re.compile(
    r"(?<![\w-])(?:"
    r"\+\d{1,3}(?:[ .-]?\(?\d{1,5}\)?){2,6}"  # international: +44 20 7946 0958
    r"|(?:1[ .-]?)?\(?\d{3}\)?[ .-]?\d{3}[ .-]?\d{4}"  # US: (503) 555-0142, 1-800-555-0142
    r")(?![\w-])"
)
_STREET_SUFFIX = (
    r"Street|St|Avenue|Ave|Road|Rd|Boulevard|Blvd|Lane|Ln|Drive|Dr|Court|Ct|Way|Place|Pl|Terrace|Ter"
    r"|Circle|Cir|Parkway|Pkwy|Highway|Hwy"
)
_ADDRESS = re.compile(
    rf"\b\d{{1,6}}[A-Za-z]?\s+(?:(?:[NSEW]|NE|NW|SE|SW|[A-Z][a-z]+|\d+(?:st|nd|rd|th))\.?\s+){{1,4}}"
    rf"(?:{_STREET_SUFFIX})\b\.?(?:,?\s+(?:Apt|Unit|Suite|#)\.?\s*[A-Za-z0-9-]+)?"
)
_HOME_NETWORKS = tuple(
    ipaddress.ip_network(net)
    for net in ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "127.0.0.0/8", "169.254.0.0/16")
) + tuple(ipaddress.ip_network(net) for net in ("::1/128", "fe80::/10", "fc00::/7"))


def scrub(text: str, *, keep: frozenset[str] = frozenset()) -> tuple[str, Counter[str]]:
    """`text` with personal data replaced, and how many of each kind were found.

    `keep` lists exact strings never replaced (the company's own support e-mail or phone number).
    Secrets go first so a key's digits are not read as a phone number; cards and IBANs before phones.
    """
    found: Counter[str] = Counter()
    for kind, replace in _STEPS:
        text = replace(text, kind, found, keep)
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
    def replace(text: str, kind: str, found: Counter[str], keep: frozenset[str]) -> str:
        def one(match: re.Match[str]) -> str:
            if match.group(2) in keep or match.group(2).startswith("<"):
                return match.group(0)
            found[kind] += 1
            return match.group(1) + PLACEHOLDERS[kind]

        return pattern.sub(one, text)

    return replace


def _substitute_checked(
    pattern: re.Pattern[str], passes: Callable[[str], bool], refuse_after: re.Pattern[str] | None = None
):
    """Replace the longest prefix of a match, cut at a space or hyphen, that passes its checksum.

    A following number read as one more digit group must not hide a valid card or IBAN.
    """

    def replace(text: str, kind: str, found: Counter[str], keep: frozenset[str]) -> str:
        def one(match: re.Match[str]) -> str:
            whole = candidate = match.group(0)
            if refuse_after is not None and refuse_after.search(
                text[max(0, match.start() - 8) : match.start()]
            ):
                return whole
            while candidate not in keep:
                if passes(candidate):
                    found[kind] += 1
                    return PLACEHOLDERS[kind] + whole[len(candidate) :]
                shorter = _LAST_GROUP.sub("", candidate)
                if shorter == candidate:
                    break
                candidate = shorter
            return whole

        return pattern.sub(one, text)

    return replace


def _passes_luhn(candidate: str) -> bool:
    digits = [int(c) for c in candidate if c.isdigit()]
    if not 13 <= len(digits) <= 19:
        return False
    total = 0
    for position, digit in enumerate(reversed(digits)):
        if position % 2 == 1:
            digit = digit * 2 - 9 if digit > 4 else digit * 2
        total += digit
    return total % 10 == 0


def _passes_mod97(candidate: str) -> bool:
    code = candidate.replace(" ", "")
    if not 15 <= len(code) <= 34:
        return False
    rearranged = code[4:] + code[:4]
    return int("".join(str(int(c, 36)) for c in rearranged)) % 97 == 1


def _is_personal_ip(match: re.Match[str]) -> bool:
    try:
        address = ipaddress.ip_address(match.group(0))
    except ValueError:
        return False
    if any(address in network for network in _HOME_NETWORKS) or address.is_unspecified:
        return False
    return not _VERSION_BEFORE.search(match.string[max(0, match.start() - 12) : match.start()])


def _is_phone(match: re.Match[str]) -> bool:
    digits = sum(c.isdigit() for c in match.group(0))
    return (8 if match.group(0).startswith("+") else 10) <= digits <= 15


_STEPS = (
    ("secret", _substitute(_TOKEN_SECRET)),
    ("secret", _substitute_value(_LABELLED_PASSWORD)),
    ("secret", _substitute_value(_LABELLED_KEY)),
    ("email", _substitute(_EMAIL)),
    ("iban", _substitute_checked(_IBAN, _passes_mod97)),
    # Digits right after "DE89 " are the tail of an IBAN that failed mod-97, not a card.
    ("card", _substitute_checked(_CARD, _passes_luhn, refuse_after=_IBAN_HEAD_BEFORE)),
    ("ip", _substitute(_IPV4, _is_personal_ip)),
    ("ip", _substitute(_IPV6, _is_personal_ip)),
    ("phone", _substitute(_PHONE, _is_phone)),
    ("address", _substitute(_ADDRESS)),
)


@functools.cache
def measure_recall(seed: int = 0, per_kind: int = 200) -> dict[str, float]:
    """Share of generated, planted items of each kind that `scrub` replaces with the right placeholder.

    An item counts as found when its placeholder appears and the item (for "password: x", x) is gone.
    """
    rng = random.Random(seed)
    recall = {}
    for kind, make in PLANTERS.items():
        hits = 0
        for _ in range(per_kind):
            item = make(rng)
            sentence = rng.choice(CARRIERS).format(item)
            scrubbed, _ = scrub(sentence)
            secret_part = item.split("=")[-1].split(": ")[-1]
            hits += PLACEHOLDERS[kind] in scrubbed and secret_part not in scrubbed
        recall[kind] = hits / per_kind
    return recall


def false_positives() -> list[tuple[str, str]]:
    """Clean support sentences that `scrub` changes, as (before, after); empty when none are touched."""
    changed = []
    for sentence in CLEAN_SUPPORT_TEXT:
        scrubbed, _ = scrub(sentence)
        if scrubbed != sentence:
            changed.append((sentence, scrubbed))
    return changed
