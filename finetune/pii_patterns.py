"""The patterns and checks that recognise each kind of personal data except names (see `pii_names`).

Patterns whose value follows a label ("password is x", "PIN: 4821", "verification code 483920") have
two groups: 1 the label (kept), 2 the value (replaced). Checks (Luhn, mod-97, public IP, digit counts)
keep look-alikes such as order numbers and private router addresses. This module only describes
text; `pii` decides the order and does the replacing.
"""

from __future__ import annotations

import ipaddress
import re

JWT = re.compile(r"\beyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]{4,}")
TOKEN_SECRET = re.compile(
    r"\b(?:sk-(?:proj-|ant-)?[A-Za-z0-9_-]{16,}|(?:sk|pk|rk)_(?:live|test)_[A-Za-z0-9]{10,}"
    r"|gh[pousr]_[A-Za-z0-9]{30,}|github_pat_[A-Za-z0-9_]{30,}|glpat-[A-Za-z0-9_-]{20,}"
    r"|AKIA[0-9A-Z]{16}|AIza[0-9A-Za-z_-]{35}|xox[abprs]-[A-Za-z0-9-]{10,})"
)
# A value after "password is/was/to" counts only when it looks like a password: a digit or symbol, an
# inner capital (CorrectHorseBatteryStaple) or quotes; "the password is printed on the label" stays.
_PASSWORD_LIKE = r"(?=['\"“]|\S*[\d!@#$%^&*_+=~]|\S*[a-z][A-Z])"
LABELLED_PASSWORD = re.compile(
    r"((?i:\b(?:wi-?fi\s+|network\s+|admin\s+|router\s+)?(?:password|passwd|passphrase|passcode|pwd|pass|wifi\s+key)"
    r"(?:\s+(?:for|on|of)\s+(?:the\s+|my\s+)?[\w-]+)?)"
    r"(?:\s*[:=]\s*|\s+(?i:is|was|to|now\s+is)\s+" + _PASSWORD_LIKE + r"(?=['\"“]?\S{4,}))['\"“]?)"
    r"([^\s'\"”]+?)(?=['\"”]?[.,;)]*(?:\s|$))"
)
PIN = re.compile(r"((?i:\b(?:pin(?:\s+(?:code|number))?)(?:\s+(?:is|was)|\s*[:=#])?\s*))(\d{4,8})(?![\w-])")
# "admin/admin123", "root / toor42": a lower-case user name and a password with digits and letters.
CREDENTIAL_PAIR = re.compile(
    r"(?<![\w/.:@-])[a-z][a-z0-9_-]{2,30}\s?/\s?(?=[^\s/]*\d)(?=[^\s/]*[A-Za-z])[^\s/,;]{4,}?(?=[.,;)!?]*(?:\s|$))"
)
LABELLED_KEY = re.compile(
    r"(?i)(\b(?:api[ _-]?key|access[ _-]?key|secret[ _-]?key|key|token|secret|bearer)\s*[:=]?\s*)"
    r"((?=[A-Za-z0-9+/_=-]*\d)(?=[A-Za-z0-9+/_=-]*[A-Za-z])[A-Za-z0-9+/_=-]{20,})"
)
CARD_SECURITY_CODE = re.compile(
    r"((?i:\b(?:cvv2?|cvc2?|cid|csc|(?:card\s+)?security\s+code)(?:\s+(?:is|was|number|code))?\s*[:=#-]?\s*))"
    r"(\d{3,4})(?![\w-])"
)
_CODE_CUE = (
    r"(?:verification|one[- ]?time|confirmation|log-?in|sign[- ]?in|auth(?:entication|orization)?|2fa"
    r"|two[- ]factor|mfa|otp|sms|reset|access|activation|pairing|passcode|code)"
)
ONE_TIME_CODE = re.compile(
    rf"((?i:\b{_CODE_CUE}(?:\s+(?:code|pin|number))?"
    r"(?:\s+(?:that\s+)?(?:i|you|we)\s+(?:just\s+)?(?:got|received|sent|have)(?:\s+me)?)?"
    r"(?:\s+(?:is|was)|\s*[:=#])?\s*))"
    r"(\d{3}[ -]\d{3}|\d{4,8})(?![\w-]|\.\d)"
)
EMAIL = re.compile(r"\b[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}\b")
# Compact (DE89370400440532013000) or in groups of four, either case; the longest prefix passing mod-97 is taken.
IBAN = re.compile(r"(?i)\b[A-Z]{2}\d{2}(?:[A-Z0-9]{11,30}|(?: [A-Z0-9]{4}){2,7}(?: [A-Z0-9]{1,4})?)\b")
IBAN_HEAD_BEFORE = re.compile(r"(?i)\b[A-Z]{2}\d{2} ?$")
# Groups of four after a country code: what follows ("DE89 3704 0044 0532 ...") is an IBAN that failed
# mod-97, not a call to 0044.
_IBAN_GROUPS_BEFORE = re.compile(r"(?i)\b[A-Z]{2}\d{2}(?: [A-Z0-9]{4})+ $")
LAST_GROUP = re.compile(r"[ -][A-Za-z0-9]+$")
FIRST_GROUP = re.compile(r"^[A-Za-z0-9]+[ -]")
# Card layouts only (compact, 4-4-4-4[-1..3], 4-4-4-3, Amex 4-6-5): a loose digit run would swallow a
# phone number in front of a card and hide the card from the search.
CARD = re.compile(
    r"(?<![\w-])(?:\d{13,19}|\d{4}([ -])\d{4}\1\d{4}\1\d{3,4}(?:\1\d{1,3})?|\d{4}([ -])\d{6}\2\d{5})(?![\w-]|\.\d)"
)
SSN = re.compile(r"(?<![\w-])(?!000|666|9\d\d)\d{3}-(?!00)\d{2}-(?!0000)\d{4}(?![\w-])")
LABELLED_SSN = re.compile(
    r"((?i:\b(?:ssn|social\s+security(?:\s+(?:number|no\.?))?|ss#)(?:\s+(?:is|was))?\s*[:#]?\s*))"
    r"(\d{3}[ -]?\d{2}[ -]?\d{4})(?![\w-])"
)
MAC = re.compile(
    r"(?<![\w:.-])(?:[0-9A-Fa-f]{2}([:-])[0-9A-Fa-f]{2}(?:\1[0-9A-Fa-f]{2}){4}"
    r"|[0-9A-Fa-f]{4}\.[0-9A-Fa-f]{4}\.[0-9A-Fa-f]{4})(?![\w:-]|\.\w)"
)
IPV4 = re.compile(
    r"(?<![\w.])(?:(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\.){3}(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(?!\.?\d)(?!\w)"
)
IPV6 = re.compile(r"(?<![\w:])(?=[0-9A-Fa-f:]*:[0-9A-Fa-f:]*:)[0-9A-Fa-f:]{3,39}(?![\w:])")
_VERSION_BEFORE = re.compile(r"(?i)(?:version|firmware|fw|build|release|\bv)\s*$")
_EXTENSION = r"(?:\s*,?\s*(?:ext\.?|extension|x)\s*\d{1,6})?"
PHONE = re.compile(
    r"(?<![\w-])(?:"
    r"(?:\+|00)\d{1,3}(?:[ .-]?\(?\d{1,5}\)?){2,6}"  # international: +44 20 7946 0958, 0044 20 ...
    r"|(?:1[ .-]?)?\(?\d{3}\)?[ .-]?\d{3}[ .-]?\d{4}"  # US: (503) 555-0142, 1-800-555-0142
    r"|\(?0\d{2,4}\)?[ -]?\d{3,4}[ -]?\d{3,4}"  # national with a trunk 0: 020 7946 0958, 07700 900123
    rf"){_EXTENSION}(?![\w-])"
)
_STREET_SUFFIX = (
    r"Street|St|Avenue|Ave|Road|Rd|Boulevard|Blvd|Lane|Ln|Drive|Dr|Court|Ct|Way|Place|Pl|Terrace|Ter"
    r"|Circle|Cir|Parkway|Pkwy|Highway|Hwy|Close|Crescent|Gardens|Grove|Square|Sq|Mews|Row"
)
# Number first (US, UK, Australia): "42 Maple Grove Ave, Apt 3B", "221B Baker Street".
ADDRESS = re.compile(
    rf"\b\d{{1,6}}[A-Za-z]?\s+(?:(?:[NSEW]|NE|NW|SE|SW|[A-Z][a-z]+|\d+(?:st|nd|rd|th))\.?\s+){{1,4}}"
    rf"(?:{_STREET_SUFFIX})\b\.?(?:,?\s+(?:Apt|Unit|Suite|Flat|#)\.?\s*[A-Za-z0-9-]+)?"
)
_PARTICLES = r"(?:(?:de|du|des|la|le|les|del|della|di|do|da|dos|das|van|von|der)\s+|l'|d')*"
_NAME_WORDS = r"[A-ZÀ-Ý][\wÀ-ÿ'-]*(?:\s+[A-ZÀ-Ý][\wÀ-ÿ'-]*){0,3}"
_CITY_TAIL = r"(?:,?\s+\d{4,5}\s+[A-ZÀ-Ý][a-zà-ÿ]+)?"
# Street name first, number after (Germany, Netherlands, Nordics, Spain, Italy, Portugal), or a French
# "12 rue de Rivoli"; with an optional "10115 Berlin" after it.
EUROPEAN_ADDRESS = re.compile(
    r"\b(?:[A-ZÄÖÜ][\wäöüß-]*(?:straße|strasse|str\.|weg|gasse|platz|allee|damm|ufer|straat|laan|gracht|plein"
    r"|kade|vej|gade|gatan|vägen|veien)|[A-ZÄÖÜ][\wäöüß-]+\s+(?:Straße|Strasse|Weg|Platz|Allee))\s+\d{1,4}\s?[a-zA-Z]?\b"
    rf"{_CITY_TAIL}"
    r"|\b\d{1,4}[a-z]?,?\s+(?i:rue|avenue|boulevard|bd|chemin|allée|impasse|quai|place)\s+"
    rf"{_PARTICLES}{_NAME_WORDS}{_CITY_TAIL}"
    r"|\b(?:Calle|Avenida|Carrer|Paseo|Plaza|Via|Viale|Piazza|Corso|Rua|Travessa|Largo)\s+"
    rf"{_PARTICLES}{_NAME_WORDS},?\s+(?:n[º°o.]\s*)?\d{{1,4}}[a-z]?\b{_CITY_TAIL}"
)
_US_STATES = (
    "AL|AK|AZ|AR|CA|CO|CT|DE|FL|GA|HI|ID|IL|IN|IA|KS|KY|LA|ME|MD|MA|MI|MN|MS|MO|MT|NE|NV|NH|NJ|NM|NY|NC|ND|OH"
    "|OK|OR|PA|RI|SC|SD|TN|TX|UT|VT|VA|WA|WV|WI|WY|DC"
)
# Postcodes that identify a street on their own: UK (SW1A 1AA), Canada (K1A 0B1), US city + state + ZIP.
POSTCODE = re.compile(
    r"\b(?:[A-Z]{1,2}\d[A-Z\d]?\s?\d[A-Z]{2}|[A-Z]\d[A-Z]\s?\d[A-Z]\d)\b"
    rf"|\b[A-Z][a-z]+(?:\s[A-Z][a-z]+)?,\s(?:{_US_STATES})\s\d{{5}}(?:-\d{{4}})?\b"
)
_HOME_NETWORKS = tuple(
    ipaddress.ip_network(net)
    for net in ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "127.0.0.0/8", "169.254.0.0/16")
) + tuple(ipaddress.ip_network(net) for net in ("::1/128", "fe80::/10", "fc00::/7"))


def passes_luhn(candidate: str) -> bool:
    digits = [int(c) for c in candidate if c.isdigit()]
    if not 13 <= len(digits) <= 19:
        return False
    total = 0
    for position, digit in enumerate(reversed(digits)):
        if position % 2 == 1:
            digit = digit * 2 - 9 if digit > 4 else digit * 2
        total += digit
    return total % 10 == 0


def passes_mod97(candidate: str) -> bool:
    code = candidate.replace(" ", "").upper()
    if not 15 <= len(code) <= 34:
        return False
    rearranged = code[4:] + code[:4]
    return int("".join(str(int(c, 36)) for c in rearranged)) % 97 == 1


def is_personal_ip(match: re.Match[str]) -> bool:
    """A public address (not a home network, loopback or link-local one) not written after "firmware"."""
    try:
        address = ipaddress.ip_address(match.group(0))
    except ValueError:
        return False
    if any(address in network for network in _HOME_NETWORKS) or address.is_unspecified:
        return False
    return not _VERSION_BEFORE.search(match.string[max(0, match.start() - 12) : match.start()])


def is_phone(match: re.Match[str]) -> bool:
    """Enough digits for a phone number (extension aside), and not the tail of an IBAN."""
    if _IBAN_GROUPS_BEFORE.search(match.string[max(0, match.start() - 40) : match.start()]):
        return False
    number = re.split(r"(?i)\s*,?\s*(?:ext\.?|extension|x)\s*\d", match.group(0))[0]
    digits = sum(c.isdigit() for c in number)
    least = 8 if number.startswith("+") else 10
    return least <= digits <= 15
