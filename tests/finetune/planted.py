"""Generated personal data of the regular kinds for the scrubber's property tests, and clean support text.

`PLANTERS` make one realistic item per call (US and international phones, Luhn-valid cards,
mod-97-valid IBANs, public IPv4/IPv6, street addresses, API keys and passwords); `CARRIERS` are the
sentences they are planted in. `CLEAN_SUPPORT_TEXT` holds look-alikes that must survive scrubbing.
This module knows nothing about how scrubbing works.
"""

from __future__ import annotations

import ipaddress
import random
import string
from collections.abc import Callable

CARRIERS = (
    "{}",
    "Sure, it is {}.",
    "You can reach me at {} anytime.",
    "Here you go: {}",
    "ok ({}) thanks",
    "It's {}, I think?",
)
_NAMES = ("anna", "li.wei", "j_smith", "maria-lopez", "o.connor", "sam+wifi", "kj88", "dmitri.p")
_STREETS = ("Main", "Oak", "Maple Grove", "Martin Luther King", "Elm", "5th", "Pine Hill", "Cedar")
_SUFFIXES = ("Street", "St", "Ave", "Avenue", "Road", "Rd", "Blvd", "Lane", "Dr", "Drive", "Way", "Court")


def _digits(rng: random.Random, count: int) -> str:
    return "".join(rng.choice(string.digits) for _ in range(count))


def _plant_email(rng: random.Random) -> str:
    domain = rng.choice(("gmail.com", "example.org", "mail.co.uk", "web.de", "corp-mail.io", "uni.edu"))
    return f"{rng.choice(_NAMES)}{rng.randint(0, 999)}@{domain}"


def _plant_phone(rng: random.Random) -> str:
    area, mid, last = str(rng.randint(201, 989)), _digits(rng, 3), _digits(rng, 4)
    forms = (
        f"({area}) {mid}-{last}",
        f"{area}-{mid}-{last}",
        f"{area}.{mid}.{last}",
        f"+1 {area} {mid} {last}",
        f"1-{area}-{mid}-{last}",
        f"{area}{mid}{last}",
        f"+44 20 {_digits(rng, 4)} {_digits(rng, 4)}",
        f"+49 30 {_digits(rng, 8)}",
        f"+33 1 {_digits(rng, 2)} {_digits(rng, 2)} {_digits(rng, 2)} {_digits(rng, 2)}",
        f"+91 {_digits(rng, 5)} {_digits(rng, 5)}",
        f"+61 2 {_digits(rng, 4)} {_digits(rng, 4)}",
    )
    return rng.choice(forms)


def _plant_card(rng: random.Random) -> str:
    prefix, length = rng.choice((("4", 16), ("5" + str(rng.randint(1, 5)), 16), ("37", 15), ("6011", 16)))
    body = prefix + _digits(rng, length - len(prefix) - 1)
    digits = body + str(_luhn_digit(body))
    separator = rng.choice(("", " ", "-"))
    return separator.join(digits[i : i + 4] for i in range(0, len(digits), 4))


def _luhn_digit(body: str) -> int:
    total = 0
    for position, char in enumerate(reversed(body)):
        digit = int(char)
        if position % 2 == 0:
            digit = digit * 2 - 9 if digit > 4 else digit * 2
        total += digit
    return (10 - total % 10) % 10


def _plant_iban(rng: random.Random) -> str:
    country, bban = rng.choice(
        (
            ("DE", _digits(rng, 18)),
            ("GB", "".join(rng.choices(string.ascii_uppercase, k=4)) + _digits(rng, 14)),
            ("FR", _digits(rng, 23)),
            ("NL", "".join(rng.choices(string.ascii_uppercase, k=4)) + _digits(rng, 10)),
            ("ES", _digits(rng, 20)),
        )
    )
    number = int("".join(str(int(c, 36)) for c in bban + country + "00"))
    code = f"{country}{98 - number % 97:02d}{bban}"
    return code if rng.random() < 0.5 else " ".join(code[i : i + 4] for i in range(0, len(code), 4))


def _plant_ip(rng: random.Random) -> str:
    while True:
        if rng.random() < 0.2:
            groups = [f"{rng.randint(0x2001, 0x2A0F):x}"] + [f"{rng.randint(0, 0xFFFF):x}" for _ in range(7)]
            text = ":".join(groups) if rng.random() < 0.5 else ":".join(groups[:3]) + "::" + groups[7]
        else:
            text = ".".join(str(rng.randint(0, 255)) for _ in range(3))
            text = f"{rng.randint(1, 223)}.{text.split('.', 1)[1]}.{rng.randint(1, 254)}"
        if ipaddress.ip_address(text).is_global:
            return text


def _plant_address(rng: random.Random) -> str:
    unit = rng.choice(("", "", f", Apt {rng.randint(1, 40)}{rng.choice('ABC')}"))
    return f"{rng.randint(1, 9999)} {rng.choice(_STREETS)} {rng.choice(_SUFFIXES)}{unit}"


def _plant_secret(rng: random.Random) -> str:
    alnum = string.ascii_letters + string.digits
    value = "".join(rng.choices(alnum, k=12)) + rng.choice(string.digits)
    forms = (
        "sk-" + "".join(rng.choices(alnum, k=40)),
        "ghp_" + "".join(rng.choices(alnum, k=36)),
        "AKIA" + "".join(rng.choices(string.ascii_uppercase + string.digits, k=16)),
        f"password: {value}",
        f"pwd={value}",
        "api_key=" + "".join(rng.choices("0123456789abcdef", k=40)),
        "token: " + "".join(rng.choices(alnum + "+/", k=32)) + "9a",
    )
    return rng.choice(forms)


PLANTERS: dict[str, Callable[[random.Random], str]] = {
    "email": _plant_email,
    "phone": _plant_phone,
    "card": _plant_card,
    "iban": _plant_iban,
    "ip": _plant_ip,
    "address": _plant_address,
    "secret": _plant_secret,
}


# Sentences a support transcript legitimately contains, none of which holds personal data.
CLEAN_SUPPORT_TEXT = (
    "The Halo Router BW-H1 costs $129 and the Pro BW-P7 is $299.",
    "Your order BW-ORD-12345678 shipped on 2026-03-02.",
    "I opened case BWC-123456; Tier 2 calls back within 4 business hours.",
    "Please open a Priority Safety case, number BWS-654321.",
    "Update to firmware 4.1 to raise the limit to 128 devices.",
    "You are on firmware 4.2.1.3, which is the newest build.",
    "Open 10.50.0.1 in your browser; on firmware 3.x it was 192.168.50.1.",
    "Hold the reset button for 10 seconds until the light blinks blue.",
    "Halo Shield is $4.99/month or $49/year with a 30-day free trial.",
    "Halo Care+ costs $79 for Halo and $119 for Pro; the service fee is $29.",
    "Unplug the modem for 30 seconds, then the router.",
    "The 3-pack of BW-M1 mesh points is 269 dollars.",
    "Each mesh point adds up to 1,500 sq ft; a network holds at most 6 mesh points.",
    "Returns are free within 30 days; after 14 days there is a 15% restocking fee.",
    "Refunds arrive within 5-7 business days.",
    "Enter the 6-digit verification code from the Brightwave Home app.",
    "What are the last 4 digits of the device's serial number?",
    "Your password must be at least 12 characters.",
    "Use a 12 V / 2 A adapter; operating temperature is 0-40 C.",
    "Advance replacement needs a card hold released within 21 days.",
    "The guest network allows up to 32 devices since firmware 4.2 (2026-07).",
    "Support hours are 8:00-20:00 Eastern Time, Monday to Friday.",
    "Set the DNS to 10.50.0.1 and the DHCP range from 10.50.0.100 to 10.50.0.200.",
    "The WAN port is 2.5 GbE and the USB port is 3.0.",
    "Go to Account > Security and turn on two-step verification.",
    "The token expired; tap Forgot password to get a new reset e-mail valid for 30 minutes.",
    "Model BW-P7M supports Wi-Fi 7 (BE9300) on 6 GHz.",
    "I waited 3 days on the road for the package.",
)
