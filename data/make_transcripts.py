"""Write the sample support transcripts of the Brightwave domain (data/DOMAIN.md), deterministically.

Run from the repository root:  python data/make_transcripts.py [--seed 4242] [--out data/transcripts]

Writes `conversations.jsonl` (chat format), `chats/*.txt` (plain text), `pairs.csv` (instruction/response)
and `README.md` with the counts of the noise planted on purpose for the cleaning step. Every conversation is
composed from many hand-written phrasings per step with one seeded RNG, so the same seed gives the same bytes.
The agents follow the fact sheet's support procedures; this script knows nothing about how the data is used.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import os
import random
import re
import string
import tempfile
from collections.abc import Callable
from pathlib import Path

SYSTEM_PROMPT = "You are Brightwave's customer support assistant."
GREETING = "Hi, thanks for contacting Brightwave Support, my name is {agent}. How can I help today?"
GREETING_INTRO = "Hi, thanks for contacting Brightwave Support, my name is {agent}."
ANYTHING_ELSE = "Is there anything else I can help you with today?"
SIGN_OFF = "Thanks for choosing Brightwave — have a bright day!"

GOOD_CONVERSATIONS = 430
PLAIN_TEXT_CHATS = 40
EXACT_DUPLICATES = 8
NEAR_DUPLICATES = 6
MAX_TURNS = 12
MAX_WORDS = 350
# Generated conversations more alike than this (word-trigram Jaccard) are drawn again, so only the
# planted near-duplicates come near the cleaning step's threshold.
MAX_SIMILARITY = 0.5

AGENTS = [
    "Maya",
    "Daniel",
    "Priya",
    "Tom",
    "Aisha",
    "Lucas",
    "Grace",
    "Omar",
    "Hannah",
    "Kenji",
    "Sofia",
    "Marcus",
    "Elena",
    "Jordan",
    "Nadia",
    "Ben",
    "Chloe",
    "Ravi",
    "Ines",
    "Leo",
    "Tasha",
    "Felix",
    "Mei",
    "Sam",
]
CUSTOMERS = [
    "Alex",
    "Brianna",
    "Carlos",
    "Dana",
    "Ethan",
    "Fatima",
    "George",
    "Helen",
    "Ivan",
    "Jasmine",
    "Kevin",
    "Laura",
    "Mohammed",
    "Nina",
    "Oscar",
    "Paula",
    "Quentin",
    "Rosa",
    "Steve",
    "Tanya",
    "Umar",
    "Valerie",
    "Walter",
    "Xin",
    "Yusuf",
    "Zoe",
    "Amir",
    "Beth",
    "Chris",
    "Deepa",
    "Erin",
    "Frank",
    "Gloria",
    "Hiro",
    "Isabel",
    "Jamal",
    "Kate",
    "Liam",
    "Marta",
    "Noah",
    "Olivia",
    "Pedro",
    "Rachel",
    "Sean",
    "Tina",
    "Victor",
    "Wendy",
    "Yara",
    "Zach",
    "Anja",
    "Bruno",
    "Carmen",
    "Dev",
    "Eleni",
    "Gavin",
    "Ingrid",
    "Joel",
    "Keiko",
    "Marcel",
    "Nora",
]
SURNAMES = [
    "smith",
    "garcia",
    "nguyen",
    "okafor",
    "kowalski",
    "patel",
    "rossi",
    "muller",
    "tanaka",
    "obrien",
    "silva",
    "haddad",
    "larsen",
    "chen",
    "dubois",
    "ivanova",
    "mensah",
    "cohen",
    "reyes",
    "walsh",
]
DEVICES = [
    "laptop",
    "work laptop",
    "PS5",
    "Xbox",
    "smart TV",
    "iPad",
    "Android phone",
    "iPhone",
    "Chromebook",
    "desktop PC",
    "Roku stick",
    "Switch",
    "Kindle",
    "MacBook",
    "printer",
    "Ring doorbell",
    "Fire TV",
]
ROOMS = [
    "upstairs office",
    "basement",
    "back bedroom",
    "kitchen",
    "garage workshop",
    "attic",
    "kids' room",
    "living room",
    "home gym",
    "sunroom",
    "guest room",
    "den",
]
SINCE = [
    "since this morning",
    "since about 7 last night",
    "for the last two hours",
    "since lunchtime",
    "since I got home from work",
    "for most of the day",
    "since around 6am",
    "for about an hour now",
]
STREETS = ["Maple Ave", "Oak Street", "Harbor Rd", "Linden Lane", "Cedar Court", "Elm Street", "Riverside Dr"]
CITIES = [
    "Portland, OR 97205",
    "Austin, TX 78704",
    "Columbus, OH 43215",
    "Denver, CO 80203",
    "Raleigh, NC 27601",
]

PRODUCTS = {
    "router": ("Halo Router", "BW-H1", 129, 2, 2000),
    "mesh": ("Halo Mesh Point", "BW-M1", 99, 2, 1500),
    "pro": ("Halo Pro Router", "BW-P7", 299, 3, 3000),
    "promesh": ("Halo Pro Mesh Point", "BW-P7M", 229, 3, 2500),
    "mini": ("Halo Mini Extender", "BW-X1", 49, 1, 0),
}

# Words a casual customer still capitalises at the start of a message.
KEEP_CASE = {"Halo", "Brightwave", "Wi-Fi", "Care+", "Christmas", "Shield"}

HELLOS = [
    "hi",
    "Hello?",
    "hi there",
    "Hey, anyone there?",
    "Good morning",
    "hello, I need some help",
    "Hi.",
    "Good evening",
    "hey",
    "Hi, is this Brightwave support?",
    "hello hello",
]
NO_THANKS = [
    "No, that's all. Thanks!",
    "nope, that's it",
    "That's everything, thank you.",
    "no thanks, all good",
    "No, you've been great.",
    "Nothing else, cheers.",
    "no that's all for now",
    "All set, thank you.",
    "Nope. Appreciate it.",
    "That covers it, thanks a lot.",
    "no, thank you!",
    "I think that's it.",
]
THANKS_BACK = [
    "You're welcome, {name}.",
    "Happy to help, {name}.",
    "My pleasure.",
    "Glad we got that sorted.",
    "Anytime, {name}.",
    "Great, glad I could help.",
    "",
    "I appreciate your patience today, {name}.",
]
# Neutral on purpose: they follow both "it works now!" and "that's a shame".
ACKS = [
    "Understood.",
    "Got it.",
    "Alright.",
    "Okay, noted.",
    "Thanks, {name}.",
    "Thanks for letting me know.",
]


def luhn_check_digit(digits: str) -> str:
    """The digit that makes `digits + it` pass the Luhn check."""
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch)
        if i % 2 == 0:
            d = d * 2 - 9 if d * 2 > 9 else d * 2
        total += d
    return str((10 - total % 10) % 10)


def fake_card(rng: random.Random) -> str:
    """A Luhn-valid test card number: a well-known test number or a generated one, in a random layout."""
    known = [
        "4111111111111111",
        "5555555555554444",
        "4012888888881881",
        "6011111111111117",
        "378282246310005",
    ]
    if rng.random() < 0.5:
        number = rng.choice(known)
    else:
        prefix = rng.choice(["4", "51", "52", "4539"])
        body = prefix + "".join(rng.choice(string.digits) for _ in range(15 - len(prefix)))
        number = body + luhn_check_digit(body)
    if len(number) == 15:
        return f"{number[:4]} {number[4:10]} {number[10:]}"
    sep = rng.choice([" ", "-", ""])
    return sep.join(number[i : i + 4] for i in range(0, 16, 4))


def fake_iban(rng: random.Random) -> str:
    """An IBAN with valid check digits (ISO 13616 mod 97), printed in groups of four."""
    country, bban = rng.choice(
        [
            ("GB", "WEST" + "".join(rng.choice(string.digits) for _ in range(14))),
            ("DE", "".join(rng.choice(string.digits) for _ in range(18))),
            ("NL", "ABNA" + "".join(rng.choice(string.digits) for _ in range(10))),
        ]
    )
    numeric = "".join(str(int(ch, 36)) for ch in bban + country + "00")
    iban = f"{country}{98 - int(numeric) % 97:02d}{bban}"
    return " ".join(iban[i : i + 4] for i in range(0, len(iban), 4))


def fake_phone(rng: random.Random) -> str:
    n = rng.randint(100, 199)
    area = rng.choice(["503", "212", "415", "617", "312", "971"])
    return rng.choice(
        [
            f"({area}) 555-01{n % 100:02d}",
            f"{area}-555-01{n % 100:02d}",
            f"+1 {area} 555 01{n % 100:02d}",
            f"+44 20 7946 0{n:03d}",
            f"+49 30 {rng.randint(1000000, 9999999)}",
            f"+61 2 5550 {rng.randint(1000, 9999)}",
        ]
    )


def fake_address(rng: random.Random) -> str:
    return f"{rng.randint(12, 4890)} {rng.choice(STREETS)}, {rng.choice(CITIES)}"


def fake_ip(rng: random.Random, private: bool) -> str:
    if private:
        return f"192.168.{rng.choice([0, 1, 86])}.{rng.randint(2, 250)}"
    return f"{rng.choice([73, 98, 24, 67, 174])}.{rng.randint(1, 254)}.{rng.randint(1, 254)}.{rng.randint(1, 254)}"


class Chat:
    """One conversation being composed: picks phrasings, fills details, merges consecutive same-role text."""

    def __init__(self, rng: random.Random, quota: dict[str, int]) -> None:
        self.rng = rng
        self.quota = quota
        name = rng.choice(CUSTOMERS)
        surname = rng.choice(SURNAMES)
        self.v: dict[str, object] = {
            "name": name,
            "agent": rng.choice(AGENTS),
            "email": f"{name.lower()}{rng.choice(['.', '_', ''])}{surname}{rng.choice(['', str(rng.randint(1, 99))])}"
            f"@{rng.choice(['example.com', 'example.org'])}",
            "code": f"{rng.randint(0, 999999):06d}",
            "serial4": f"{rng.randint(0, 9999):04d}",
            "case": f"BWC-{rng.randint(0, 999999):06d}",
            "scase": f"BWS-{rng.randint(0, 999999):06d}",
            "order": f"BW-ORD-{rng.randint(0, 99999999):08d}",
            "device": rng.choice(DEVICES),
            "device2": rng.choice(DEVICES),
            "room": rng.choice(ROOMS),
            "since": rng.choice(SINCE),
        }
        self.messages: list[dict[str, str]] = []
        self.hello_first = rng.random() < 0.4
        self.casual = rng.random() < 0.35
        self.greeted = False
        self.pii_kinds: list[str] = []

    def pick(self, options: list[str] | tuple[str, ...]) -> str:
        return self.rng.choice(options)

    def product(self, *keys: str) -> None:
        """Set the conversation's product details from one of `keys`."""
        name, model, price, warranty, coverage = PRODUCTS[self.rng.choice(keys)]
        self.v.update(product=name, model=model, price=price, warranty=warranty, coverage=f"{coverage:,}")
        self.v["volts"] = "12 V / 3 A" if "Pro" in name else "12 V / 2 A"

    def take(self, kind: str, chance: float) -> bool:
        """True (and counted) when a limited kind of planted content is still available and drawn."""
        if self.quota.get(kind, 0) <= 0 or self.rng.random() >= chance:
            return False
        self.quota[kind] -= 1
        self.pii_kinds.append(kind)
        return True

    def _add(self, role: str, text: str) -> None:
        text = text.strip()
        if not text:
            return
        if self.messages and self.messages[-1]["role"] == role:
            previous = self.messages[-1]["content"].rstrip()
            joiner = "\n" if text.startswith(("1)", "-")) or previous.endswith(":") else " "
            self.messages[-1]["content"] = previous + joiner + text
        else:
            self.messages.append({"role": role, "content": text})

    def user(self, *options: str) -> None:
        if not self.messages and self.hello_first:
            self._add("user", self.pick(HELLOS))
            self._add("assistant", GREETING.format(agent=self.v["agent"]))
            self.greeted = True
        text = self.pick(options).format(**self.v)
        first_word = text.split(" ", 1)[0]
        if (
            self.casual
            and first_word[1:].islower()
            and first_word[:1].isupper()
            and first_word not in KEEP_CASE
        ):
            text = text[0].lower() + text[1:]
            text = text[:-1] if text.endswith(".") else text
        self._add("user", text)

    def agent(self, *options: str) -> None:
        text = self.pick(options).format(**self.v)
        if not self.greeted:
            self._add("assistant", GREETING_INTRO.format(agent=self.v["agent"]))
            self.greeted = True
        self._add("assistant", text)

    def last_role(self) -> str:
        return self.messages[-1]["role"] if self.messages else ""


# ---- steps shared by scenarios ---------------------------------------------------------------------------

VERIFY_ASK = [
    "Before I {purpose}, I need to verify the account. Could you send me the account e-mail and either the "
    "6-digit verification code I've just sent to your Brightwave Home app, or the last 4 digits of a device's "
    "serial number?",
    "I can take care of that. First a quick identity check: please share the e-mail on the account plus either "
    "the 6-digit code that just appeared in the Brightwave Home app or the last 4 digits of the serial number "
    "on one of your devices.",
    "Happy to {purpose} once you're verified. I'll need the account e-mail address, and then either the 6-digit "
    "verification code I've sent to the Brightwave Home app or the last 4 digits of your router's serial number.",
    "For security we verify every account change first. Please give me the account e-mail and one of these: the "
    "6-digit code now showing in your Brightwave Home app, or the last 4 digits of a device serial (it's on the "
    "label underneath).",
    "To {purpose} I first have to confirm it's your account: the account e-mail, plus the 6-digit code "
    "from the Brightwave Home app or the last 4 digits of a Brightwave device's serial number, please.",
]
VERIFY_GIVE = [
    "{email}, code is {code}",
    "It's {email}. The code says {code}.",
    "email is {email} and the serial ends in {serial4}",
    "{email} / last four of the serial: {serial4}",
    "Sure - {email}. Serial ends {serial4}.",
    "account is under {email}, app code {code}",
    "{email}\ncode {code}",
    "Okay: {email}, and the app shows {code}",
    "The e-mail is {email}. Serial number ends with {serial4}.",
    "{email}. Got the code: {code}",
]
VERIFY_OK = [
    "Thank you, {name}, you're verified.",
    "Thanks, that matches our records.",
    "Perfect, that checks out.",
    "Thanks — you're verified.",
    "Great, that all matches.",
    "Thank you, the details match the account.",
]
NEVER_PASSWORD = [
    "Please don't share your password with anyone, including us — Brightwave never asks for it, and I'd suggest "
    "changing it after this chat. The 6-digit code from the app works instead.",
    "Just so you know, we never need your password, so please don't send it in chat — and do change it when you "
    "get a moment. The 6-digit code in the Brightwave Home app or the last 4 of a serial is all I need.",
]
NEVER_CARD = [
    "Please never share your full card number in chat — we will never ask for it, and it will be removed from "
    "this transcript. ",
    "One important thing: please don't post full card numbers here. Brightwave never asks for them, and that "
    "message will be removed from the transcript. ",
]


def verify(c: Chat, purpose: str) -> None:
    """Identity check before an account change: e-mail plus app code or last 4 serial digits, nothing else."""
    c.v["purpose"] = purpose
    c.agent(*VERIFY_ASK)
    if c.take("password", 0.15):
        c.v["password"] = c.pick(
            ["Sunflower!2024x", "hunter2hunter2", "Bw-home-88-kitchen", "Tulips&Rain_1990"]
        )
        c.user("{email}, and my password is {password} if that helps", "{email}\npassword: {password}")
        c.agent(*NEVER_PASSWORD)
        c.user("oh, sorry. Code is {code}", "ah ok. the code is {code}", "Understood. {code}")
    elif c.take("card", 0.12):
        c.v["card"] = fake_card(c.rng)
        c.user("{email}. do you need my card too? it's {card}", "{email} - the card on file is {card}")
        c.agent(
            NEVER_CARD[0] + "The 6-digit code or the last 4 digits of a device serial is all I need.",
            NEVER_CARD[1] + "I only need the app code or the last 4 of a serial number.",
        )
        c.user("Sorry! Serial ends in {serial4}.", "oops. code is {code}", "my bad. Serial ends {serial4}")
    else:
        c.user(*VERIFY_GIVE)
    c.agent(*VERIFY_OK)


def escalate(c: Chat, reason: str) -> None:
    """Open a Tier 2 case; the customer may paste a call-back number, which the agent never repeats."""
    c.v["reason"] = reason
    c.agent(
        "I've opened a Tier 2 case for you, number {case}. Tier 2 will call you back within 4 business hours.",
        "I'm escalating this to our Tier 2 team — your case number is {case}, and they'll call you back within "
        "4 business hours.",
        "This needs our Tier 2 engineers, so I've created case {case} with everything we tried. Expect a call "
        "back within 4 business hours.",
        "Next step is Tier 2: I've logged {reason} under case {case}, and a Tier 2 engineer will call you within "
        "4 business hours.",
    )
    if c.take("phone", 0.45):
        c.v["phone"] = fake_phone(c.rng)
        c.user(
            "Can they call my cell instead? {phone}",
            "please use {phone}, the home line is dead without internet anyway",
            "best number is {phone}",
            "My number is {phone}, I'm free after 3.",
        )
        c.agent(
            "Done — I've added that number to the case notes for Tier 2.",
            "Noted in the case; Tier 2 will use that number.",
            "Got it, the case now has that call-back number.",
        )


SIDE_QUESTIONS = [
    (
        "1-800",
        ["What are your phone hours, by the way?", "oh and can I ring you guys on a Sunday?"],
        "Phone support at 1-800-555-0142 is open Monday to Friday 8:00–20:00 and Saturday 9:00–17:00 Eastern; "
        "it's closed Sundays and public holidays, but chat in the Brightwave Home app is open 24/7.",
    ),
    (
        "Halo Shield",
        ["Unrelated, how much is Halo Shield these days?", "Also what does Halo Shield cost per year now?"],
        "Halo Shield is $4.99 a month or $49 a year, and new devices come with a 30-day free trial.",
    ),
    (
        "10 seconds",
        [
            "Also, if I ever need to reset it, how long do I hold the button?",
            "what's the reset button hold time again?",
        ],
        "On firmware 4.x, hold the recessed reset button for 10 seconds until the light blinks blue.",
    ),
    (
        "10.50.0.1",
        ["And the admin page address is what?", "btw what do I type to get to the router settings page?"],
        "On firmware 4.0 and later the admin page is at 10.50.0.1 (the old 3.x firmware used 192.168.50.1).",
    ),
    (
        "help@",
        ["Is there an email address for you too?", "can I also reach you by e-mail?"],
        "Yes, help@brightwave.example — the team replies within 1 business day.",
    ),
    (
        "02:00",
        [
            "One more: when do the automatic updates run?",
            "Do firmware updates happen in the middle of the day?",
        ],
        "Automatic updates default to 02:00–04:00 local time, so they shouldn't interrupt your day.",
    ),
    (
        "guest",
        ["quick one, how many guests can join the guest wifi?", "Is there a cap on guest network devices?"],
        "On firmware 4.2 the guest network takes up to 32 devices at once.",
    ),
]


def close(c: Chat) -> None:
    """The team's closing: maybe one quick side question, then the fixed question and sign-off."""
    if c.last_role() == "user":
        c.agent(*ACKS)
    # A quick extra question, unless the conversation already covered its topic.
    if len(c.messages) <= 8 and c.rng.random() < 0.3:
        so_far = " ".join(m["content"] for m in c.messages)
        topic, questions, answer = c.rng.choice(SIDE_QUESTIONS)
        if topic not in so_far:
            c.user(*questions)
            c.agent(answer)
    c.agent(ANYTHING_ELSE)
    c.user(*NO_THANKS)
    c.v["thanks"] = c.pick(THANKS_BACK).format(**c.v)
    c.agent("{thanks} " + SIGN_OFF if c.v["thanks"] else SIGN_OFF)


# ---- scenarios: each composes one conversation ---------------------------------------------------------


def no_internet(c: Chat) -> None:
    c.product("router", "router", "pro")
    c.user(
        "My internet is down {since}. Everything says connected but no internet.",
        "Nothing loads on my {device} or anything else. Wi-Fi is there but no internet.",
        "internet's dead {since}, help",
        "Hi, my {product} isn't giving me internet. The {device} shows the Wi-Fi but pages time out.",
        "We have no internet at all {since} and I work from home, so this is urgent.",
        "None of our devices can get online. The network name shows up though.",
    )
    c.agent(
        "Sorry about that, let's get you back online. First, what colour is the status light on the router, and "
        "is it solid or pulsing?",
        "Let's sort it out. Could you look at the status light on your {product} and tell me the colour and "
        "whether it's steady or pulsing?",
        "I'll walk you through it. Step one: what is the status light on the router doing right now?",
    )
    c.user(
        "It's solid amber.",
        "orange-ish, not blinking",
        "Amber. Steady.",
        "it's amber, been like that all day",
    )
    c.agent(
        "Solid amber means the router has no internet connection. Please restart the modem first, then the "
        "router: unplug both for 30 seconds, plug the modem back in, wait until it's fully online, then plug "
        "the router in.",
        "That's the 'no internet' light. Next step is a restart in the right order:\n1) unplug the modem and "
        "the router for 30 seconds\n2) plug the modem in and wait for it to come online\n3) then plug the "
        "router back in.",
        "Amber tells us the router isn't getting internet from the modem. Let's restart both — modem first, "
        "then router — with each unplugged for 30 seconds. Let me know what the light does afterwards.",
    )
    outcome = c.rng.choice(["restart", "cable", "isp", "escalate", "escalate"])
    if outcome == "restart":
        c.user(
            "Ok did that. Light went white and the {device} loads pages again!",
            "done... it's solid white now and we're back online",
            "That worked, white light and everything's loading.",
        )
        c.agent(
            "Great — solid white means online. If it goes amber again, the same modem-then-router restart is the "
            "first thing to try.",
            "Perfect, solid white is exactly what we want to see.",
        )
        close(c)
        return
    c.user(
        "Done, still amber.",
        "restarted both, no change, still amber",
        "Still solid amber after the restart.",
        "I did it twice. Amber.",
    )
    c.agent(
        "Thanks for trying that. Next, please check the cable from the modem: it must be in the WAN port of the "
        "router (the one set apart from the LAN ports), pushed in until it clicks.",
        "Okay. Can you check the cable between modem and router? It needs to sit in the router's WAN port, not "
        "one of the LAN ports, and click into place at both ends.",
    )
    if outcome == "cable":
        c.user(
            "Oh. It was in one of the LAN ports. Moved it and the light is white now.",
            "the cable was half out of the WAN port... pushed it in, working now!",
            "Found it, someone plugged it into the wrong port while cleaning. All good now.",
        )
        c.agent(
            "That explains it — the router was never seeing the modem. You're all set.",
            "Easy fix then. With the cable in the WAN port the router can reach the modem again.",
        )
        close(c)
        return
    if outcome == "isp":
        c.user(
            "Cable looks fine. Actually my provider's app says there's an outage in my area.",
            "It's in the WAN port. My neighbour just texted that her internet is out too.",
        )
        c.agent(
            "That would explain the amber light: the router is fine, it just has no internet to pass on. Once "
            "your provider fixes the outage the light should turn white on its own.",
            "Then it's most likely your provider's outage rather than the router. Leave everything plugged in; "
            "the light will go solid white once the service is back. If it stays amber after they report it "
            "fixed, come back to us.",
        )
        close(c)
        return
    c.user(
        "It's definitely in the WAN port. Still amber.",
        "cable is fine, clicked in. amber.",
        "Checked, it's in WAN. No change. Can you log into my modem and check it?",
    )
    c.agent(
        "Thanks for checking. With two steps done and the light still solid amber, I'm escalating this.",
        "Since the restart and the cable check didn't clear the amber light, this goes to our next level.",
    )
    if "modem" in c.messages[-2]["content"]:
        c.agent(
            "I can't access or diagnose your provider's modem beyond restarting it — your provider can check it "
            "on their side."
        )
    escalate(c, "the solid amber light after a restart and cable check")
    close(c)


def slow_wifi(c: Chat) -> None:
    c.product("router", "router", "pro")
    c.v["speed"] = c.rng.choice(["20", "35", "48", "60", "12"])
    c.v["plan"] = c.rng.choice(["300", "500", "900", "1000"])
    c.user(
        "Wi-Fi is really slow in the {room}. Getting about {speed} Mbps on a {plan} Mbps plan.",
        "why is my wifi so slow? the {device} in the {room} crawls",
        "Streaming keeps buffering on the {device}. Speed tests show {speed} Mbps, I pay for {plan}.",
        "Our {product} seems slow lately, especially far from it.",
    )
    c.agent(
        "Let's narrow it down. If you run a speed test right next to the router, do you get close to your "
        "{plan} Mbps?",
        "Sorry it's crawling. Quick test first: what speed do you see standing next to the router, compared with "
        "the {room}?",
        "I can help. Is it slow everywhere, or mainly in rooms far from the router?",
    )
    c.user(
        "Next to the router it's fine, almost full speed.",
        "near the router it's way better, yeah",
        "Close to it I get around {plan}. It's the far rooms.",
    )
    big = (
        ["3,400", "3,800", "4,200"] if "Pro" in str(c.v["product"]) else ["2,400", "2,800", "3,200", "3,600"]
    )
    c.v["sqft"] = c.rng.choice(big)
    c.v["room2"] = c.rng.choice(ROOMS)
    c.agent(
        "Then it's coverage, not your connection. How big is the home, and where is the router placed?",
        "Good, so the internet side is fine and it's about range. Roughly how many square feet, and is the "
        "router in a central spot?",
    )
    c.user(
        "About {sqft} sq ft, router is in a cupboard at one end of the house.",
        "{sqft} square feet, two floors, router's on the floor behind the TV",
        "Maybe {sqft} sq ft. It's in the {room2}, far corner.",
    )
    c.agent(
        "One {product} covers up to {coverage} sq ft, so at {sqft} the far rooms are at the edge. Two things:\n"
        "1) move the router out of cupboards and up off the floor, as central as you can\n2) if that's not "
        "enough, add a mesh point between the router and the {room}.",
        "A single {product} is rated for up to {coverage} sq ft, and walls and floors eat into that. Try a more "
        "central, raised spot first. If the {room} is still slow, a Halo Mesh Point ($99, or $269 for a 3-pack) "
        "adds up to 1,500 sq ft each.",
        "That size is more than one {product} covers ({coverage} sq ft). A mesh point halfway to the {room} "
        "will help most; also turn on Band Steering (firmware 4.1 added the toggle) so devices pick the best "
        "band.",
    )
    if c.take("ip", 0.3):
        c.v["ip"] = fake_ip(c.rng, private=True)
        c.user(
            "Should I give the {device} a fixed IP? it's {ip} right now",
            "The {device} shows {ip}, is that normal?",
        )
        c.agent(
            "The address itself isn't what slows it down, so no need to change it — placement and coverage are "
            "the things to fix here.",
            "That's fine as it is; the device's address doesn't affect speed. Focus on placement first.",
        )
    else:
        c.user(
            "Ok I'll move it up onto the shelf and see.",
            "Makes sense, I'll order a mesh point then.",
            "Thanks, I'll try moving it tonight.",
        )
    close(c)


def mesh_setup(c: Chat) -> None:
    c.product("mesh", "mesh", "promesh")
    c.user(
        "I just got a {product}, how do I add it to my network?",
        "Trying to set up my new mesh point for the {room}. Where do I start?",
        "hey, bought a {model} to extend the wifi. setup help?",
        "My new mesh point won't join the network.",
    )
    c.agent(
        "Let's get it paired. Plug it in about halfway between the router and the {room}, wait until the light "
        "turns blue (that means ready to pair), then open the Brightwave Home app and add it from Devices.",
        "Sure. Place it roughly halfway between the router and the area you want to cover and plug it in. When "
        "its light goes blue it's ready to pair; then add it in the Brightwave Home app under Devices.",
        "Here's how:\n1) plug it in about halfway between the router and the {room}\n2) wait until the light turns "
        "blue, which means ready to pair\n3) add it from Devices in the Brightwave Home app",
    )
    branch = c.rng.choice(["white", "blue", "max", "ok"])
    if branch == "white":
        c.user(
            "The light is pulsing white, not blue.",
            "it's just blinking white",
            "Pulsing white for a minute now.",
        )
        c.agent(
            "Pulsing white means it's still starting up. Give it a couple of minutes; it should turn blue.",
            "That's the start-up light, so it isn't ready yet. Wait until it's blue, then add it in the app.",
        )
        c.user(
            "Blue now. Added it in the app, light is solid white.", "ok it went blue and paired. white now"
        )
        c.agent(
            "Solid white means it's online and part of your mesh.", "That's it — solid white, it's online."
        )
    elif branch == "max":
        c.v["count"] = "six"
        c.user(
            "The app says I can't add more. I already have {count} mesh points.",
            "It won't let me add it, I have {count} of them already around the house",
        )
        c.agent(
            "That's the limit: a mesh network holds at most 6 mesh points plus the router. If a spot is still "
            "weak, moving an existing point usually helps more than a seventh one would.",
            "A Halo mesh network supports up to 6 mesh points plus the router, so the app stops there. We can "
            "look at placement of the existing ones instead.",
        )
        c.user(
            "Ok, I'll move the garage one closer.", "Didn't know there was a cap. I'll return the extra one."
        )
        c.agent(
            "Good plan. If it was bought direct and is within 30 days of delivery, it can go back for a refund.",
            "Sounds good.",
        )
    else:
        c.user(
            "Done, it's solid white now and the {room} finally has signal.",
            "Worked first time. Light is white.",
            "Paired! Do I need to plug anything into it?",
        )
        c.agent(
            "No cables needed — it connects wirelessly. Solid white means it's online.",
            "Great. Each mesh point adds up to 1,500 sq ft of coverage, so the {room} should be much better.",
        )
    close(c)


def firmware_stuck(c: Chat) -> None:
    c.product("router", "pro", "mesh")
    c.v["hours"] = c.rng.choice(["20 minutes", "half an hour", "40 minutes", "about an hour", "3 hours"])
    c.user(
        "My {product} has been pulsing amber for {hours}. Is it broken?",
        "Update seems stuck, light pulsing orange for {hours}",
        "The app said it's updating firmware but it's been {hours}. Can I unplug it?",
        "Router light is slowly blinking amber {since}.",
    )
    c.agent(
        "Pulsing amber means a firmware update is in progress — please don't unplug it, as that can interrupt "
        "the install.",
        "That pulsing amber light is the firmware update. The most important thing is to leave it plugged in "
        "until it finishes.",
        "No need to worry yet: pulsing amber is the update light. Please don't unplug the {product} while it's "
        "pulsing.",
    )
    branch = c.rng.choice(["wait", "unplugged", "long"])
    if branch == "wait":
        c.user("Ok. How long does it usually take?", "so I just leave it?", "Why did it update now anyway?")
        c.agent(
            "Leave it be; it restarts itself when done and the light goes solid white. Automatic updates are "
            "scheduled for 02:00–04:00 local time by default, so you rarely see one in the daytime.",
            "Yes, just leave it. When it finishes it restarts and the light turns solid white.",
        )
        c.user(
            "It just went white. Phew.", "Ok, white now and internet's back.", "alright, I'll leave it alone"
        )
    elif branch == "unplugged":
        c.user(
            "Too late, I unplugged it already and now the light is red.",
            "I already pulled the plug before I asked... now it's red",
        )
        c.agent(
            "Thanks for telling me. Red means a hardware fault, so please don't try anything else on it; I'll "
            "get this to Tier 2 so the unit is checked or replaced.",
            "Understood. A red light is a hardware fault, so this needs our Tier 2 team rather than more steps "
            "at home.",
        )
        escalate(c, "a red light after an interrupted update")
    else:
        c.user(
            "It's been pulsing since last night though, way over an hour.",
            "It has been like this for hours, not minutes.",
        )
        c.agent(
            "That is longer than an update should take. Please still keep it plugged in while I escalate it.",
            "Then something's not right, and I don't want you to risk the unit by unplugging it. Leave it as it "
            "is; I'm passing it to Tier 2.",
        )
        escalate(c, "an update that has been pulsing amber for hours")
    close(c)


def red_light(c: Chat) -> None:
    c.product("router", "pro", "mesh", "promesh")
    c.user(
        "The light on my {product} is red. What does that mean?",
        "red light on the router, nothing works",
        "My mesh point went red overnight.",
        "Status light is solid red and it won't connect.",
    )
    c.agent(
        "Red means a hardware fault, so this isn't something to fix with resets. I'd like to get it replaced "
        "under warranty. When did you buy it?",
        "I'm sorry — a red light is a hardware fault. The next step is a warranty replacement. How long have you "
        "had the {product}?",
    )
    c.v["age"] = c.rng.choice(["about 8 months", "a year and a half", "5 months", "10 months", "14 months"])
    c.user(
        "{age} ago, from your website.",
        "Bought it {age} ago directly from Brightwave.",
        "{age}, online from you guys",
    )
    c.agent(
        "That's within the {warranty}-year warranty. ",
        "Good, the {product} has a {warranty}-year warranty, so you're covered. ",
    )
    verify(c, "set up the replacement")
    c.agent(
        "I've created the warranty replacement; it ships within 2 business days, and a free prepaid label for "
        "the faulty unit is in your e-mail.",
        "Your RMA is set up: the replacement ships within 2 business days, and since the unit is faulty the "
        "return label is free.",
    )
    if c.take("address", 0.35):
        c.v["address"] = fake_address(c.rng)
        c.user(
            "Please ship it to my work address: {address}",
            "Can it go to {address}? I'm not home during the day.",
        )
        c.agent(
            "Done, I've updated the shipping address on the RMA.",
            "No problem, the replacement will go to that address instead.",
        )
    close(c)


def status_lights(c: Chat) -> None:
    c.product("router", "pro", "mesh")
    colours = c.rng.sample(["blue", "pulsing white", "solid amber", "pulsing amber", "solid white"], 2)
    meaning = {
        "blue": "blue means ready to pair",
        "pulsing white": "pulsing white means it's starting up",
        "solid amber": "solid amber means no internet",
        "pulsing amber": "pulsing amber means a firmware update is in progress, so don't unplug it",
        "solid white": "solid white means online",
    }
    c.v["c1"], c.v["c2"] = colours
    c.v["m1"], c.v["m2"] = meaning[colours[0]], meaning[colours[1]]
    c.user(
        "What do the light colours on the {product} mean? Right now it's {c1}.",
        "quick question - my router light is {c1}, earlier it was {c2}. what's that mean?",
        "Is a {c1} light bad?",
    )
    c.agent(
        "Good question: {m1}, and {m2}. For reference, red is the only one that means a hardware fault.",
        "Here's the quick guide: {m1}; {m2}. Red would mean a hardware fault and a call to us.",
    )
    c.user("Ok so I don't need to do anything.", "And if it goes red?", "thanks, that helps")
    if "red" in c.messages[-1]["content"]:
        c.agent("Then contact us straight away — red is a hardware fault and we'd arrange a replacement.")
    close(c)


def forgot_password(c: Chat) -> None:
    c.user(
        "I forgot my Brightwave account password and can't log into the app.",
        "locked out of the app, forgot the password",
        "How do I reset my account password?",
        "Can't sign in to Brightwave Home. I think I changed the password and forgot it.",
    )
    c.agent(
        'No problem. On the sign-in screen tap "Forgot password" — we\'ll e-mail you a reset link that is valid '
        "for 30 minutes.",
        'You can reset it yourself: use the "Forgot password" link on the sign-in screen, and a reset e-mail '
        "arrives within a few minutes. The link works for 30 minutes.",
    )
    if c.take("password", 0.2):
        c.v["password"] = c.pick(["Brightwave2023!", "kitchen-window-77"])
        c.user("Could you just check it? I think it's {password}", "the old one was password: {password}")
        c.agent(
            "Please don't send passwords in chat — we never need or check them, and since you've shared it, "
            'choose a different one when you reset. The "Forgot password" link is the way in.',
        )
    branch = c.rng.choice(["expired", "spam", "ok"])
    if branch == "expired":
        c.user(
            "I got the e-mail yesterday but the link says expired.",
            "clicked the link after dinner and it says it's expired",
        )
        c.agent(
            "The reset link is only valid for 30 minutes, so request a fresh one and use it right away.",
            "Those links expire after 30 minutes for security. Send a new one from the sign-in screen and open "
            "it within half an hour.",
        )
    elif branch == "spam":
        c.user("The e-mail isn't coming.", "no email yet", "Nothing in my inbox.")
        c.agent(
            "Please check the spam or junk folder, and make sure you requested it for the e-mail the account "
            "uses. If it's not there in 10 minutes, request another.",
        )
    else:
        c.user("Got it, reset done. Any rules for the new one?", "ok that worked. new password requirements?")
        c.agent(
            "It needs at least 12 characters. While you're there, consider turning on two-step verification in "
            "Account > Security.",
        )
    close(c)


def wifi_password(c: Chat) -> None:
    c.product("router", "pro")
    c.user(
        "What's my Wi-Fi password? I need to connect a new {device}.",
        "forgot the wifi password, how do I find it",
        "A guest asked for our Wi-Fi password and I have no idea what it is.",
    )
    c.agent(
        "If you never changed it, the default network name (Brightwave-XXXX) and password are printed on the "
        "label under the {product}.",
        "Check the label underneath the router: it shows the default Wi-Fi name, Brightwave-XXXX, and its "
        "password. If you changed them during setup, the label won't match.",
    )
    branch = c.rng.choice(["label", "changed", "reset"])
    if branch == "label":
        c.user("Found it on the sticker, thanks.", "There it is, under the router. Connected!")
    elif branch == "changed":
        c.user("We changed it when we set it up.", "I renamed the network, so that's not it.")
        c.agent(
            "Then it's in the Brightwave Home app under your network's Wi-Fi settings, where you can view or "
            "change it. For a guest, the guest network is a nice option.",
        )
        c.user("Found it in the app.", "ok, I'll look in the app")
    else:
        c.user(
            "Nobody can sign into the app either. Can I just start over?",
            "can I reset it to the sticker one?",
        )
        c.agent(
            "Yes — a factory reset brings back the label's name and password, but it erases all your settings. "
            "Hold the recessed reset button for 10 seconds until the light blinks blue, then set it up again.",
        )
        c.user("Ok, doing that now.", "Fine, we didn't customise much anyway.")
    close(c)


def change_email(c: Chat) -> None:
    c.v["new_email"] = (
        f"{str(c.v['name']).lower()}.{c.rng.choice(SURNAMES)}@{c.pick(['example.org', 'example.com'])}"
    )
    c.user(
        "I need to change the e-mail on my Brightwave account.",
        "how do I update my account email? changing providers",
        "Can you switch my login e-mail to a new address?",
        "My old e-mail is being shut down by my employer, I need to move the account to my personal one.",
    )
    verify(c, "change the account e-mail")
    c.agent("What's the new address you'd like to use?", "Which new e-mail should the account use?")
    c.user("{new_email}", "Please use {new_email}", "new one is {new_email}")
    c.agent(
        "Done. We've sent a confirmation link to the new address; the change takes effect once you click it, "
        "and your next sign-in uses the new e-mail.",
        "I've requested the change. Open the confirmation e-mail we just sent to the new address and click the "
        "link to finish; until then the old address still works.",
    )
    c.user("Got the e-mail and confirmed.", "ok, clicked it", "Will do, thanks.")
    close(c)


def cancel_shield(c: Chat) -> None:
    plan = c.rng.choice(["monthly", "annual_early", "annual_late"])
    c.v["days"] = (
        c.rng.choice(["12", "20", "25"]) if plan == "annual_early" else c.rng.choice(["45", "90", "200"])
    )
    c.user(
        "I want to cancel Halo Shield.",
        "please cancel my halo shield subscription",
        "How do I stop paying for Halo Shield? We don't use the parental controls anymore.",
        "Cancel Shield please, and I'd like a refund if possible.",
    )
    verify(c, "make changes to the subscription")
    if plan == "monthly":
        c.agent("I see a monthly plan at $4.99.", "You're on the monthly plan.")
        c.agent(
            "I've cancelled it; it won't renew, and protection stays on until the end of the month you've paid "
            "for. In future you can do this yourself in the app under Account > Subscriptions.",
            "Cancellation done — no further charges. For reference, Account > Subscriptions in the app lets you "
            "cancel anytime.",
        )
        c.user("Great, that's all I needed.", "ok thanks", "Perfect.")
    else:
        c.agent(
            "I can see an annual plan at $49 that renewed {days} days ago.",
            "You're on the annual plan ($49/year); the current year started {days} days ago.",
        )
        c.user("Do I get money back for the rest of the year?", "is there a refund for the unused months?")
        if plan == "annual_early":
            c.agent(
                "Yes — because you're within the first 30 days of the paid year, the unused part is refunded to "
                "your original payment method. I've cancelled it and started the refund.",
                "You are within the first 30 days of this paid year, so you qualify for a refund of the unused "
                "part. It's cancelled and the refund is on its way to the original payment method.",
            )
        else:
            c.agent(
                "I'm sorry, refunds of the unused part of an annual plan are only possible within the first 30 "
                "days of the paid year. I've cancelled the renewal, so Shield stays active until the year ends "
                "and you won't be charged again.",
                "The unused part is only refundable in the first 30 days of a paid year, and we're past that. "
                "What I can do is cancel the renewal now: you keep Shield until the paid year ends, then it stops.",
            )
            c.user(
                "That's a bit annoying but ok.",
                "Fine, cancel the renewal then.",
                "hm ok. thanks for being clear",
            )
    if c.take("iban", 0.4):
        c.v["iban"] = fake_iban(c.rng)
        c.user(
            "Can the refund go to my bank account instead? {iban}",
            "Put any money back into this account please: {iban}",
        )
        c.agent(
            "Refunds always go back to the original payment method, so I don't need bank details — please don't "
            "share them in chat; that message will be removed from the transcript.",
        )
    close(c)


def return_in_window(c: Chat) -> None:
    c.product("router", "mesh", "pro", "mini")
    c.v["days"] = c.rng.choice(["6", "9", "12", "18", "22", "27"])
    opened = int(str(c.v["days"])) > 14 and c.rng.random() < 0.7
    c.user(
        "I'd like to return the {product} I bought from you. It arrived {days} days ago.",
        "Can I return my {model}? delivered {days} days ago, it's just not what we need.",
        "Hi, want to send back a {product}. Got it {days} days ago from your store.",
    )
    c.agent(
        "Of course. Direct purchases can be returned within 30 days of delivery for a full refund. Do you have the "
        "order number? It starts with BW-ORD-.",
        "You're within the 30-day return window. Could you give me the order number (BW-ORD- followed by 8 "
        "digits)?",
    )
    c.user("{order}", "It's {order}", "order {order}")
    verify(c, "start the return")
    if opened:
        c.agent(
            "Since it was opened and it's been more than 14 days, a 15% restocking fee applies unless the unit "
            "is faulty. Is anything wrong with it?",
            "One thing to know: opened items returned after 14 days carry a 15% restocking fee, unless they're "
            "faulty. Is it working fine?",
        )
        c.user(
            "It works, it's just too slow for our house.", "No, nothing wrong with it.", "It works fine, yes."
        )
        c.agent(
            "Then the 15% fee and the $8.95 return shipping are deducted from the refund.",
            "Okay, then the refund is the price minus the 15% restocking fee and $8.95 return shipping.",
        )
    else:
        c.agent(
            "The return is set up. For a non-faulty item the $8.95 return shipping is deducted from the refund.",
            "Done — the return label is in your e-mail; $8.95 return shipping comes off the refund as the item "
            "isn't faulty.",
        )
    c.agent(
        "The refund goes to your original payment method within 5–7 business days after we receive it.",
        "Once it arrives back with us, the refund reaches your original payment method in 5–7 business days.",
    )
    if c.take("iban", 0.3):
        c.v["iban"] = fake_iban(c.rng)
        c.user("Could you send it to {iban} instead? Closed that card.", "my IBAN is {iban}, use that please")
        c.agent(
            "Please don't share bank details here; that will be removed from the transcript. Refunds can only go "
            "to the original payment method — if that card is closed, your bank normally forwards it.",
        )
    close(c)


def return_out_of_window(c: Chat) -> None:
    c.product("router", "mesh", "pro")
    c.v["days"] = c.rng.choice(["33", "35", "36", "41", "50", "64"])
    faulty = c.rng.random() < 0.4
    c.user(
        "I want to return my {product}. We got it {days} days ago.",
        "can I still return a {model} after {days} days? changed my mind",
        "Bought a {product} direct, delivered {days} days ago. It keeps dropping, I want my money back.",
    )
    c.agent(
        "I understand. Our return window for direct purchases is 30 days from delivery, so at {days} days it's "
        "outside the standard window.",
        "Thanks for the details. Full-refund returns are accepted within 30 days of delivery, and {days} days "
        "is past that.",
    )
    if faulty or "dropping" in c.messages[0]["content"] or "dropping" in c.messages[-2]["content"]:
        c.agent(
            "If the unit is faulty, though, it's covered by the {warranty}-year warranty and we can replace it.",
            "Since it sounds like a defect, the {warranty}-year warranty applies and a replacement is an option.",
        )
        c.user(
            "A replacement is fine I guess.", "I'd still rather have a refund.", "ok let's do the warranty"
        )
    else:
        c.user("Can't you make an exception? It's only a few days.", "Is there really nothing you can do?")
    if int(str(c.v["days"])) <= 37:
        c.agent(
            "I can't promise an exception, but team leads can review requests up to 7 days past the window, so "
            "I've escalated it as case {case}; you'll hear back within 4 business hours.",
            "What I can do is escalate it: a team lead can review returns just past the window. There's no "
            "guarantee, but I've logged it as {case} and you'll get an answer within 4 business hours.",
        )
    else:
        c.agent(
            "I'm sorry, at {days} days it's too far past the window for an exception. If it develops a fault, "
            "the warranty still covers it, and if you sell it, remove it from your account and factory reset it.",
            "Unfortunately that's beyond what can be reviewed as an exception. The warranty is there if "
            "anything goes wrong with it.",
        )
    close(c)


def holiday_return(c: Chat) -> None:
    c.product("router", "mesh", "pro", "mini")
    in_window = c.rng.random() < 0.7
    c.v["delivered"] = (
        c.rng.choice(["December 3", "November 28", "December 19", "December 11"])
        if in_window
        else (c.rng.choice(["November 9", "November 12"]))
    )
    c.v["today"] = c.rng.choice(["January 14", "January 22", "January 9"])
    c.user(
        "We got a {product} as a Christmas present (delivered {delivered}). Can we still return it? Today is "
        "{today}.",
        "holiday gift question: {model} bought from your site, arrived {delivered}. too late to return?",
        "Is there an extended return period for holiday orders? Ours came on {delivered}.",
    )
    if in_window:
        c.agent(
            "Good news: items delivered between 15 November and 31 December can be returned until 31 January, "
            "so you're still in time.",
            "Yes — holiday purchases delivered 15 Nov to 31 Dec can come back until 31 January.",
        )
        c.user("Great, let's do it.", "Perfect, how do I start?", "Oh nice. Please set it up.")
        verify(c, "open the return")
        c.agent(
            "The return is open and the label is in your e-mail. If it's opened and not faulty, the 15% "
            "restocking fee and $8.95 shipping come off the refund.",
            "All set, return label sent. The refund goes to the original payment method 5–7 business days after "
            "it arrives.",
        )
    else:
        c.agent(
            "I'm sorry — the holiday extension covers deliveries from 15 November to 31 December, and "
            "{delivered} is before that, so the normal 30-day window applied and has passed.",
            "The extended holiday returns only apply to orders delivered 15 Nov – 31 Dec. Yours arrived "
            "{delivered}, so the standard 30 days applied.",
        )
        c.user("Ugh, missed it by a few days.", "Ok, understood.", "So no options?")
        c.agent(
            "If anything goes wrong with it, the warranty still covers defects.",
            "It's still under warranty if it develops a fault.",
        )
    close(c)


def advance_replacement(c: Chat) -> None:
    c.product("router", "pro")
    c.user(
        "My {product} is faulty and I work from home. Can you send the new one before I ship the old one?",
        "Heard you can get a replacement shipped first? Mine keeps rebooting every few minutes.",
        "Need a replacement {model} fast, the LAN ports died. I can't be offline for a week.",
    )
    c.agent(
        "Yes, that's an advance replacement: we ship first. It needs a temporary card hold for the device price "
        "(${price} for the {product}), released when your faulty unit arrives within 21 days.",
        "We can do an advance replacement. We place a hold of ${price} on a card, ship the new unit, and release "
        "the hold once the faulty one reaches us within 21 days.",
    )
    c.user("Okay, do it.", "Fine with the hold.", "What if I send it back late?")
    if "late" in c.messages[-1]["content"]:
        c.agent(
            "The hold is released when the faulty unit arrives within 21 days; after that it may be charged, so "
            "ship it back as soon as the new one is running.",
        )
        c.user("Got it, I'll send it straight away.", "Makes sense. Go ahead.")
    verify(c, "set up the advance replacement")
    if c.take("card", 0.5):
        c.v["card"] = fake_card(c.rng)
        c.user("Card for the hold is {card}, exp 09/28", "Use this card: {card}")
        c.agent(
            NEVER_CARD[0]
            + "You'll enter the card on the secure payment page in the link I've just e-mailed.",
            NEVER_CARD[1] + "The hold is set through the secure payment link in your e-mail.",
        )
    else:
        c.agent(
            "I've e-mailed you a secure payment link for the hold; once it's done, the replacement ships within "
            "2 business days.",
            "A secure link for the card hold is in your inbox. After that the unit ships within 2 business days.",
        )
    if c.take("address", 0.4):
        c.v["address"] = fake_address(c.rng)
        c.user("Ship to {address} please.", "the address is {address}")
        c.agent("Thanks, noted for the shipment.", "Got it, the shipment will go there.")
    close(c)


def careplus(c: Chat) -> None:
    c.product("router", "pro")
    c.v["care"] = "$119" if "Pro" in str(c.v["product"]) else "$79"
    c.v["days"] = c.rng.choice(["10", "25", "44", "58", "70", "95"])
    c.user(
        "Can I still add Halo Care+ to my {product}? Bought it {days} days ago.",
        "what does care+ cover and can I buy it now? router is {days} days old",
        "Thinking about Care+ for the {model} we got {days} days ago.",
    )
    if int(str(c.v["days"])) <= 60:
        c.agent(
            "Yes — Care+ can be bought within 60 days of the device purchase, so you're in time. For the {product} "
            "it's {care} one-off: it adds 2 years to the warranty and covers one accidental-damage replacement "
            "with a $29 service fee.",
            "You can: the cut-off is 60 days from purchase. It costs {care} for the {product}, extends the "
            "warranty by 2 years and includes one accidental-damage replacement ($29 service fee).",
        )
        c.user("Sounds worth it. How do I buy it?", "ok let's add it", "Does it cover drops?")
        if "drops" in c.messages[-1]["content"]:
            c.agent("A drop is accidental damage, so yes — one replacement, with the $29 service fee.")
        if c.take("card", 0.4):
            c.v["card"] = fake_card(c.rng)
            c.user("Can I just pay now? card {card}", "here's my card: {card}")
            c.agent(
                NEVER_CARD[1] + "You can add Care+ in the app under Account > Subscriptions and pay there."
            )
        else:
            c.agent(
                "You can add it in the Brightwave Home app; just do it before day 60.",
                "It's in the app; it must be purchased within those 60 days.",
            )
    else:
        c.agent(
            "I'm sorry, Care+ has to be bought within 60 days of the device purchase, and {days} days is past "
            "that. Your {product} still has its standard {warranty}-year warranty for manufacturing defects.",
            "Unfortunately the window for Care+ is 60 days from purchase, so it can't be added now. The standard "
            "{warranty}-year warranty still covers defects.",
        )
        c.user("Oh well. Good to know for next time.", "That's a shame.", "ok")
    close(c)


def guest_network(c: Chat) -> None:
    c.v["guests"] = c.rng.choice(["20", "25", "30", "18"])
    old = c.rng.random() < 0.5
    c.v["fw"] = c.rng.choice(["4.0", "4.1"]) if old else "4.2"
    c.user(
        "We're having a party with about {guests} people. How many devices can the guest network take?",
        "guest wifi keeps refusing new phones, we've got {guests} people over",
        "How do I set up a guest network, and is there a limit?",
    )
    c.agent(
        "The guest network limit depends on firmware: on 4.2 it's 32 devices. Which firmware version does the app "
        "show under your router?",
        "Can you check your firmware version in the Brightwave Home app? Firmware 4.2 allows up to 32 devices on "
        "the guest network.",
    )
    c.user("It says {fw}.", "{fw}", "version {fw} apparently")
    if old:
        c.agent(
            "That explains it: {fw} caps the guest network at 16. Update to 4.2 in the app and the limit goes "
            "up to 32 devices.",
            "On {fw} the guest network stops at 16 devices. Updating to firmware 4.2 raises it to 32, which "
            "covers your {guests} guests.",
        )
        c.user("Updating now.", "ok running the update", "Will do it before they arrive.")
    else:
        c.agent(
            "Then you're set for up to 32 devices. Turn it on in the app's network settings and share the guest "
            "name and password; guests stay off your main devices.",
            "Good, 4.2 allows 32 guest devices. If phones are still refused, check how many are already "
            "connected in the app.",
        )
    close(c)


def parental_controls(c: Chat) -> None:
    c.v["kid"] = c.rng.choice(["son", "daughter", "kids", "teenager", "twins"])
    c.user(
        "How do I set up parental controls? My {kid} stay up all night on the {device}.",
        "does the router do parental controls? need a bedtime for my {kid}",
        "The bedtime schedule I set isn't working on the mesh point in the {room}.",
    )
    if "schedule" in c.messages[-1]["content"]:
        c.agent(
            "Schedules sync across mesh points within 60 seconds on firmware 4.2. Which firmware are you on?",
            "On firmware 4.2 a schedule reaches every mesh point within 60 seconds. Could you check the firmware "
            "version in the app?",
        )
        c.user("4.1 it seems.", "it says 4.1", "Hmm, 4.1.")
        c.agent(
            "Please update to 4.2 — that's the version that syncs schedules across mesh points. After the update "
            "give it a minute and the {room} point will follow the schedule.",
        )
        c.user("Updated, and the {device} just got cut off at bedtime. Works.", "Ok, updating tonight.")
    else:
        c.agent(
            "Parental controls are part of Halo Shield, which is $4.99/month or $49/year; new devices get a 30-day "
            "free trial. You can set schedules and filters per device in the app.",
            "Those come with Halo Shield (security plus parental controls): $4.99 a month or $49 a year, and "
            "there's a 30-day free trial on new devices. Then set a schedule for the {device} in the app.",
        )
        c.user("Can I try it first?", "Is there a trial?", "ok I'll start the trial")
        if "?" in c.messages[-1]["content"]:
            c.agent("Yes, new devices get 30 days free; cancel anytime under Account > Subscriptions.")
    close(c)


def port_forwarding(c: Chat) -> None:
    c.v["thing"] = c.rng.choice(["Plex server", "game server", "security camera NVR", "home lab", "NAS"])
    c.v["port"] = c.rng.choice(["32400", "25565", "8080", "443", "3074"])
    c.user(
        "How do I set up port forwarding for my {thing}? Need port {port} open.",
        "NAT type strict on the {device}, how do I forward ports?",
        "I need to forward port {port} to my {thing}. Where is that in the settings?",
    )
    c.agent(
        "Port forwarding is in the router's admin page. On firmware 4.0 and later open 10.50.0.1 in a browser "
        "while connected to your Wi-Fi and sign in; older 3.x firmware used 192.168.50.1.",
        "You'll find it on the admin page: browse to 10.50.0.1 from a device on your network (that's the address "
        "since firmware 4.0) and look for the port forwarding section.",
        "Steps:\n1) connect to your Halo Wi-Fi\n2) open 10.50.0.1 in a browser (the admin address since firmware "
        "4.0)\n3) sign in and open the port forwarding section",
    )
    if c.take("ip", 0.45):
        c.v["ip"] = fake_ip(c.rng, private=c.rng.random() < 0.6)
        c.user(
            "The {thing} is on {ip}, what do I put?",
            "Ok, my public IP is {ip} if that matters",
            "found it. internal address of the box is {ip}",
        )
        c.agent(
            "Enter the {thing}'s local address as the destination and port {port}, then save. It's worth giving "
            "that device a reserved address so the rule keeps working after a restart.",
            "Use the device's local address and the port you need, then save and restart the {thing}.",
        )
    else:
        c.user(
            "192.168.50.1 doesn't load for me.",
            "Could you just remote into my PC and do it?",
            "Found it, rule added. Works now.",
        )
        last = c.messages[-1]["content"]
        if "remote" in last:
            c.agent(
                "I'm not able to remote-access your computer, but I'll walk you through it step by step instead.",
            )
        elif "192.168.50.1" in last:
            c.agent(
                "That's the old address from firmware 3.x. Since firmware 4.0 it's 10.50.0.1 — try that one.",
            )
    close(c)


def moving_house(c: Chat) -> None:
    c.product("router", "pro")
    c.user(
        "We're moving house next week. What do I need to do with the {product}?",
        "moving to a new place, can I take the router with me?",
        "Just moved and plugged the router in at the new flat, but the light is amber.",
    )
    if "amber" in c.messages[-1]["content"]:
        c.agent(
            "Amber means no internet yet. Is the new modem set up and active with your provider, and is its cable "
            "in the router's WAN port?",
        )
        c.user(
            "The provider activates the line tomorrow.",
            "Oh, the modem isn't even activated yet.",
            "Cable's in WAN, modem lights look fine. Restarted both.",
        )
        if "Restarted" in c.messages[-1]["content"]:
            escalate(c, "no internet after a move, restart and cable checked")
        else:
            c.agent("Then it's just waiting on the provider; once the line is live the light turns white.")
    else:
        c.agent(
            "Yes, take it with you. At the new place connect the new modem to the router's WAN port, restart the "
            "modem then the router, and your Wi-Fi name and password stay the same.",
            "It moves with you. Just plug the provider's modem into the WAN port at the new home; your settings "
            "and Wi-Fi details come along.",
        )
        if c.take("address", 0.5):
            c.v["address"] = fake_address(c.rng)
            c.user("Should I update my address with you? New one is {address}", "new address: {address}")
            verify(c, "update the address")
            c.agent(
                "Done, the account now has the new address.",
                "Updated — shipments will go to the new address.",
            )
        else:
            c.user(
                "The new place is bigger, about 3,000 sq ft.",
                "Will it reach the whole new house?",
                "Great, that's easy.",
            )
            if "3,000" in c.messages[-1]["content"] or "reach" in c.messages[-1]["content"]:
                c.agent(
                    "The {product} covers up to {coverage} sq ft; if some rooms are weak, a mesh point adds more.",
                )
    close(c)


def selling_device(c: Chat) -> None:
    c.product("router", "pro", "mesh")
    c.user(
        "I'm selling my {product}. What should I do before handing it over?",
        "gave my old router to my brother, how do I take it off my account?",
        "Sold the {model} on a marketplace, buyer says it's still linked to me.",
    )
    verify(c, "remove the device from your account")
    c.agent(
        "Two steps: in the app go to Devices > Remove to take it off your account, then factory reset it by "
        "holding the recessed reset button for 10 seconds until the light blinks blue. The new owner can then set "
        "it up on their own account.",
        "First remove it under Devices > Remove in the Brightwave Home app. Then factory reset: hold the reset "
        "button 10 seconds until it blinks blue. After that it's ready for the new owner.",
        "You're verified; here's what to do:\n1) in the Brightwave Home app, Devices > Remove takes it off your "
        "account\n2) factory reset it: hold the recessed reset button 10 seconds until the light blinks blue",
    )
    c.user("I don't have it anymore, can you remove it?", "Done both, thanks!", "The manual says 15 seconds?")
    last = c.messages[-1]["content"]
    if "15" in last:
        c.agent(
            "That was for the old 3.x firmware. On firmware 4.x it's 10 seconds until the light blinks blue."
        )
    elif "remove it" in last:
        c.agent(
            "Yes, now that you're verified I've removed it from your account. The buyer should factory reset it "
            "(10 seconds on the reset button) before setting it up.",
        )
    close(c)


def two_step(c: Chat) -> None:
    lost = c.rng.random() < 0.4
    if lost:
        c.user(
            "I lost my phone and I had two-step verification on. Now I can't log in.",
            "new phone, authenticator app gone, locked out of brightwave account",
        )
        c.agent(
            "That's stressful, let's get you back in. Since the app isn't available, I'll check your identity "
            "with the account e-mail and the last 4 digits of a device serial number.",
        )
        c.user(
            "{email}, router serial ends {serial4}",
            "e-mail {email}, serial ends in {serial4}",
            "{email} - serial {serial4}",
        )
        c.agent("Thank you, that matches.")
        escalate(c, "a two-step verification reset")
    else:
        c.user(
            "How do I turn on two-step verification?",
            "is there 2FA for the brightwave account?",
            "I want to make my account more secure.",
        )
        c.agent(
            "Go to Account > Security in the app and turn on two-step verification; you can use an authenticator "
            "app or SMS.",
            "You can enable two-step verification under Account > Security, with either an authenticator app or "
            "SMS codes. A password of at least 12 characters helps too.",
        )
        c.user("Authenticator or SMS, which is better?", "Done, turned it on with SMS.", "Thanks, set it up.")
        if "which" in c.messages[-1]["content"]:
            c.agent("Both work; an authenticator app keeps working when you've no signal, which many prefer.")
    close(c)


def device_limit(c: Chat) -> None:
    c.v["n"] = c.rng.choice(["64", "about 65", "70-ish", "64 exactly"])
    c.user(
        "New devices can't join the Wi-Fi. We have a lot of smart home stuff, {n} devices.",
        "The app says device limit reached?? we have {n} gadgets",
        "Is there a max number of devices? my new {device} won't connect",
    )
    c.agent(
        "Firmware 4.1 raised the limit to 128 devices per router (mesh points take up to 64 each). Which firmware "
        "are you on?",
        "Each router supports 128 devices from firmware 4.1 on; before that it was 64. What version does the app "
        "show?",
    )
    c.user("4.0", "It's on 4.0.", "version 4.0 I think")
    c.agent(
        "That's it — 4.0 stops at 64. Update to the latest firmware in the app and the router takes up to 128.",
        "On 4.0 the limit is 64, which you've hit. After updating, the {device} should connect.",
    )
    c.user("Updated and the {device} is on now.", "ok, updating now", "Did the update, all connected.")
    close(c)


def six_ghz(c: Chat) -> None:
    pro = c.rng.random() < 0.7
    c.product("pro" if pro else "router")
    issues = [
        "I can't see the 6 GHz network on my {product}.",
        "Where's the 6GHz band? my new {device} supports it",
    ]
    if pro:
        issues.append("My {device} keeps dropping off 6 GHz.")
    c.user(*issues)
    if not pro:
        c.agent(
            "The Halo Router (BW-H1) is dual-band Wi-Fi 6, so it has no 6 GHz band. 6 GHz is on the Halo Pro "
            "Router (BW-P7), which is tri-band Wi-Fi 7.",
        )
        c.user("Oh. What does the Pro cost?", "Ah, my mistake.", "so I'd need the pro?")
        if "?" in c.messages[-1]["content"]:
            c.agent("The Halo Pro Router is $299 and covers up to 3,000 sq ft on its own.")
    elif "dropping" in c.messages[-1]["content"]:
        c.agent(
            "Firmware 4.1 fixed a 6 GHz drop on the Pro. Which firmware does your router show?",
        )
        c.user("4.0", "Still on 4.0.", "4.0.")
        c.agent(
            "Please update — 4.1 and later include that fix.", "Updating to 4.1 or newer fixes that drop."
        )
    else:
        c.agent(
            "The Pro does broadcast 6 GHz, but only devices that support Wi-Fi 6E or Wi-Fi 7 can see it. Can you "
            "confirm the {device} supports 6E or 7?",
        )
        c.user(
            "It's Wi-Fi 6 only, not 6E.",
            "ah it says wifi 6, not 6E",
            "Turns out it's 6E, but it doesn't show.",
        )
        if "not" in c.messages[-1]["content"]:
            c.agent("Then it can't use 6 GHz; it'll connect on 5 GHz, which is still fast.")
        else:
            c.agent(
                "Make sure the router is on firmware 4.1 or newer; if it still doesn't show, we'll escalate."
            )
    close(c)


def safety(c: Chat) -> None:
    c.product("router", "pro", "mesh", "mini")
    c.v["symptom"] = c.rng.choice(
        [
            "smells like burning",
            "is really hot to the touch",
            "the power adapter looks swollen",
            "there was a bit of smoke",
            "makes a crackling noise and smells hot",
        ]
    )
    c.user(
        "My {product} {symptom}. Is that normal?",
        "um, the router {symptom}",
        "Quick question, the {model} {symptom} — should I worry?",
    )
    c.agent(
        "Please unplug it from the wall right now and don't use it. We won't troubleshoot this; I'm opening a "
        "Priority Safety case for you.",
        "For your safety, unplug the {product} immediately and leave it unplugged. This is a safety issue, so no "
        "troubleshooting — I'm opening a Priority Safety case now.",
    )
    c.user("Unplugged.", "ok it's unplugged", "Done. Can I plug it back in once it cools down?")
    if "cools" in c.messages[-1]["content"]:
        c.agent("Please keep it unplugged, even once it's cool. A replacement is coming.")
    c.agent(
        "Your Priority Safety case number is {scase}. A replacement ships next day.",
        "I've opened Priority Safety case {scase}, and your replacement ships next day.",
    )
    if c.take("address", 0.4):
        c.v["address"] = fake_address(c.rng)
        c.user("Send it to {address}", "We're staying at my mum's, {address}")
        c.agent("Noted for the shipment.", "Thanks, the replacement will go there.")
    else:
        c.user("Thank you, that was scary.", "ok. do I send the old one back?", "Thanks for acting fast.")
        c.agent(
            "You did the right thing by unplugging it. Instructions for the old unit come with the case e-mail.",
        )
    close(c)


def double_charge(c: Chat) -> None:
    c.v["item"] = c.rng.choice(["Halo Shield", "my order", "the Shield renewal", "Care+"])
    c.user(
        "I was charged twice for {item} this month.",
        "double charge on my card from Brightwave??",
        "Looks like you billed me two times for {item}.",
    )
    c.agent(
        "I'm sorry about that; let me check the billing.",
        "Let's look into it.",
    )
    verify(c, "look at the billing")
    if c.take("card", 0.5):
        c.v["card"] = fake_card(c.rng)
        c.user("It's on card {card}, both charges same day.", "Here's the card so you can see: {card}")
        c.agent(NEVER_CARD[0] + "I don't need it — the account shows the charges.")
    c.agent(
        "I can see two identical charges. I've opened a billing case, {case}; the team reviews it and contacts you "
        "within 4 business hours, and a duplicate charge goes back to the original payment method.",
        "Yes, there's a duplicate. I've escalated it as case {case} so the billing team can reverse it; they'll "
        "be in touch within 4 business hours.",
    )
    close(c)


def angry_outage(c: Chat) -> None:
    c.v["hours"] = c.rng.choice(["two days", "30 hours", "since Tuesday", "three days", "about 12 hours"])
    long_outage = "12" not in str(c.v["hours"])
    c.user(
        "This is ridiculous. No internet for {hours} since YOUR update. I pay for this!",
        "your firmware update broke my wifi {hours} ago and nobody has fixed it. unacceptable",
        "I'm furious. {hours} without internet after the latest update, my kids can't do homework.",
        "Third time I'm contacting you. {hours} offline because of your update. Fix it.",
    )
    c.agent(
        "I understand how frustrating it is to be without internet for {hours}, and I'm sorry. ",
        "Being offline for {hours} is a real problem, especially with work and school, and I apologise. ",
        "I hear you — that's a long time to be without internet, and I'm sorry. ",
    )
    c.agent(
        "Here's what happens now.",
        "Let me get this moving right away.",
        "The fastest fix is our Tier 2 team.",
    )
    escalate(c, "an outage after the firmware update")
    if long_outage:
        c.agent(
            "Because this outage comes from a firmware issue and has lasted over 24 hours, I can also add one free "
            "month of Halo Shield as goodwill. ",
            "As this is a firmware problem lasting more than 24 hours, I can offer a free month of Halo Shield as a "
            "goodwill gesture. ",
        )
        repeat = c.rng.random() < 0.25
        c.user("Fine. Add it.", "ok, I'll take the free month", "That's something, I guess. Yes please.")
        verify(c, "apply the credit")
        if repeat:
            c.agent(
                "I see a goodwill month was already applied to this account within the last 12 months, and it can "
                "only be given once in 12 months, so I can't add another. The Tier 2 call is the priority.",
            )
        else:
            c.agent("The free month is on your account.", "Done, one free month of Halo Shield is applied.")
    else:
        c.user("And what do I get for the trouble?", "So what, just wait?", "Ok, just make sure they call.")
        c.agent(
            "Tier 2 will call you within 4 business hours; that's the quickest way to get you back online.",
            "Please keep your phone nearby — the Tier 2 call comes within 4 business hours.",
        )
    close(c)


def retailer_return(c: Chat) -> None:
    c.product("router", "mesh", "pro", "mini")
    c.v["shop"] = c.rng.choice(
        ["an electronics store", "a big-box store", "an online marketplace", "a local shop"]
    )
    c.user(
        "I bought a {product} at {shop} last week and want to return it. Can I send it to you?",
        "got my {model} from {shop}, can brightwave refund me?",
        "Return question: the {product} came from {shop}, not your site.",
    )
    c.agent(
        "Items bought from a retailer go back to that retailer, so their return policy applies. If it's faulty "
        "later on, the Brightwave warranty still covers it with your proof of purchase.",
        "Since it was bought from {shop}, the return goes through them, not us. For warranty claims we just need "
        "the receipt as proof of purchase.",
    )
    c.user("Ok, I'll take it back to them.", "But it's faulty, the 5 GHz band never shows.", "Got it.")
    if "faulty" in c.messages[-1]["content"]:
        c.agent(
            "Then you can choose: return it to the retailer, or use the {warranty}-year Brightwave warranty with "
            "the receipt as proof of purchase.",
        )
    close(c)


def factory_reset(c: Chat) -> None:
    c.product("router", "pro", "mesh", "promesh")
    c.user(
        "How do I factory reset the {product}?",
        "need to reset my router to factory settings",
        "I held reset for 5 seconds and nothing happened.",
        "Online it says hold reset 15 seconds, is that right?",
    )
    first = c.messages[-1]["content"]
    if "15" in first:
        c.agent(
            "That was for firmware 3.x. On firmware 4.x, hold the recessed reset button for 10 seconds until the "
            "light blinks blue.",
        )
    else:
        c.agent(
            "Hold the recessed reset button (a paperclip helps) for 10 seconds until the light blinks blue. That "
            "erases your settings, so you'll set it up again in the app.",
            "Press and hold the small reset button for 10 seconds, until the light blinks blue. Everything goes "
            "back to the label defaults.",
            "Here's the procedure:\n1) find the recessed reset button (a paperclip helps)\n2) hold it for 10 "
            "seconds until the light blinks blue\n3) set it up again in the Brightwave Home app",
        )
    c.user("It's blinking blue now.", "ok done, it's blue", "Does this delete my Wi-Fi name?")
    if "delete" in c.messages[-1]["content"]:
        c.agent("Yes, it goes back to the Brightwave-XXXX name and password on the label under the device.")
    else:
        c.agent("Blue means it's ready; open the Brightwave Home app to set it up again.")
    close(c)


def admin_page(c: Chat) -> None:
    c.user(
        "192.168.50.1 won't load. How do I get into the router settings?",
        "Can't reach the admin page at 192.168.50.1 anymore.",
        "What's the admin page address for the Halo router?",
        "the router page stopped working after the update",
    )
    c.agent(
        "Since firmware 4.0 the admin page is at 10.50.0.1; 192.168.50.1 was the address on firmware 3.x.",
        "The address changed in firmware 4.0: use 10.50.0.1 now (the old 192.168.50.1 was for 3.x).",
    )
    c.user("That worked.", "still nothing on 10.50.0.1", "Got in, thanks.")
    if "nothing" in c.messages[-1]["content"]:
        c.agent(
            "Make sure the device is connected to the Halo Wi-Fi (not mobile data or a VPN), then try again. You "
            "can also change most settings in the Brightwave Home app.",
        )
        c.user("VPN was on. Works now.", "ah, I was on mobile data.")
    close(c)


def coverage_buying(c: Chat) -> None:
    c.v["sqft"] = c.rng.choice(["1,400", "2,600", "3,800", "4,500", "1,800"])
    c.user(
        "Which Brightwave setup do I need for a {sqft} sq ft house?",
        "what should I buy for about {sqft} square feet, two floors?",
        "Is one router enough for {sqft} sq ft?",
    )
    size = int(str(c.v["sqft"]).replace(",", ""))
    if size <= 2000:
        c.agent(
            "One Halo Router ($129) covers up to 2,000 sq ft, so it should be enough for {sqft} sq ft.",
            "A single Halo Router is rated for 2,000 sq ft — that covers {sqft}.",
        )
    elif size <= 3500:
        c.agent(
            "A Halo Router covers 2,000 sq ft and each Halo Mesh Point adds up to 1,500, so a router plus one mesh "
            "point fits {sqft} sq ft. The Halo Pro Router alone covers 3,000 sq ft.",
        )
    else:
        c.agent(
            "For {sqft} sq ft I'd go with mesh: a Halo Router (2,000 sq ft) plus two Mesh Points (1,500 each), or "
            "the Halo Pro Router (3,000) with a Pro Mesh Point (2,500 sq ft) for Wi-Fi 7.",
        )
    c.user("What about the Mini extender?", "Does the Pro make sense for gaming?", "Great, thanks.")
    last = c.messages[-1]["content"]
    if "Mini" in last:
        c.agent(
            "The Halo Mini Extender ($49) is a Wi-Fi 5 plug-in for a single weak spot; it has no Ethernet ports and "
            "a 1-year warranty, so mesh points are better for a whole floor.",
        )
    elif "gaming" in last:
        c.agent(
            "It has a 10 GbE WAN port, four 2.5 GbE LAN ports and 6 GHz for compatible devices, and a 3-year "
            "warranty — good for wired gaming gear.",
        )
    close(c)


def family_sharing(c: Chat) -> None:
    c.user(
        "Can my partner manage the Wi-Fi too?",
        "How do I add family members to the account?",
        "My daughter wants to pause devices from her phone. Possible?",
    )
    c.agent(
        "Yes — with Family Sharing the account owner can add up to 5 household members in the app, choosing "
        "what each may manage; members can't change billing.",
        "You can add up to 5 household members through Family Sharing. You choose what each one may manage; "
        "billing stays with the owner.",
    )
    if c.take("email", 0.6):
        c.v["other"] = (
            f"{c.pick(CUSTOMERS).lower()}.{c.pick(SURNAMES)}@{c.pick(['example.com', 'example.org'])}"
        )
        c.user("Can you add {other}?", "Please invite {other}", "her email is {other}")
        verify(c, "add a member")
        c.agent("The invitation is on its way.", "Invitation sent — it shows up in their inbox shortly.")
    else:
        c.user(
            "We already have 5 people on it. Can I add a sixth?",
            "Great, I'll invite him.",
            "Can members pay?",
        )
        last = c.messages[-1]["content"]
        if "sixth" in last:
            c.agent(
                "I'm sorry, Family Sharing stops at 5 household members; you could remove one to add another."
            )
        elif "pay" in last:
            c.agent("No, members can't change billing; only the account owner can.")
    close(c)


def shield_price(c: Chat) -> None:
    c.user(
        "Why did Halo Shield charge me $49? Your price list says $39 a year.",
        "halo shield renewed at 49 dollars, I thought it was 39",
        "How much is Halo Shield per year? I've seen $39 and $49.",
    )
    c.agent(
        "The annual price changed on 1 April 2026: it was $39/year until 31 March 2026 and is $49/year now. The "
        "$39 list is the older one. Monthly stayed at $4.99.",
        "It's $49 a year today. $39 was the annual price until 31 March 2026; from 1 April 2026 it's $49, and the "
        "monthly option is still $4.99.",
    )
    c.user("Can I switch to monthly then?", "Annoying, but ok.", "Can I cancel and get the money back?")
    last = c.messages[-1]["content"]
    if "cancel" in last or "monthly" in last:
        verify(c, "change the plan")
        c.agent(
            "If you're within the first 30 days of the paid year, the unused part of the annual plan is refunded "
            "when you cancel; after that it runs to the end of the year. Within those 30 days you could move to "
            "monthly at $4.99.",
        )
    close(c)


def out_of_scope(c: Chat) -> None:
    kind = c.rng.choice(["legal", "remote", "modem"])
    if kind == "legal":
        c.user(
            "My neighbour is using my Wi-Fi without permission. Can I sue him?",
            "my internet provider contract says X, is that legal? can they charge me?",
        )
        c.agent(
            "I can't give legal advice, I'm afraid. What I can help with is the network: change the Wi-Fi password "
            "in the app and check the connected devices list.",
            "That's a legal question I can't advise on. On our side I can help you secure the network so only your "
            "devices connect.",
        )
        c.user("Ok, how do I see who's connected?", "Fine, let's change the password.")
        c.agent("In the Brightwave Home app, open your network and you'll see every connected device.")
    elif kind == "remote":
        c.user(
            "Can you just remote into my laptop and fix the Wi-Fi settings?",
            "install TeamViewer and take over pls",
        )
        c.agent(
            "I can't remote-access your computer, but I'll guide you step by step. What does the laptop show?",
        )
        c.user("It says connected, no internet.", "it keeps asking for a password")
        c.agent(
            "Let's check the router first: what colour is its status light?",
            "Use the Wi-Fi password from the label under the router, or the one you set in the app.",
        )
    else:
        c.user(
            "Can you check my cable modem's settings? I think it's misconfigured.",
            "The modem from my ISP has a blinking light. What does that mean?",
        )
        c.agent(
            "I can't diagnose your provider's modem beyond restarting it — unplug it for 30 seconds and plug it "
            "back in. If it's still not right, your provider can check it on their side.",
        )
        c.user("Restarted, looks ok now.", "Ok, I'll call them.")
    close(c)


def mini_extender(c: Chat) -> None:
    c.product("mini")
    c.user(
        "How do I set up the Halo Mini Extender?",
        "Can I plug my TV into the Mini extender by cable?",
        "Mini extender for the {room}: how far from the router should it be?",
    )
    last = c.messages[-1]["content"]
    if "cable" in last:
        c.agent(
            "The Halo Mini Extender (BW-X1) has no Ethernet ports, so wired devices won't work with it. A Halo "
            "Mesh Point has two 1 GbE ports if you need a wired TV connection.",
        )
    else:
        c.agent(
            "Plug it into an outlet about halfway between the router and the {room}. When its light turns blue, "
            "add it in the Brightwave Home app.",
        )
    c.user("Ok, got it.", "How long is the warranty on it?", "Is it Wi-Fi 6?")
    last = c.messages[-1]["content"]
    if "warranty" in last:
        c.agent("The Mini Extender has a 1-year warranty.")
    elif "Wi-Fi 6" in last:
        c.agent("No, it's Wi-Fi 5 (AC1200). For Wi-Fi 6 mesh coverage, the Halo Mesh Point is the option.")
    close(c)


def contact_options(c: Chat) -> None:
    c.user(
        "Can I call someone on Sunday?",
        "what are the phone support hours",
        "Is live chat available at night?",
        "Do you have an email address for support?",
    )
    c.agent(
        "Phone support (1-800-555-0142) runs Monday–Friday 8:00–20:00 and Saturday 9:00–17:00 Eastern Time, "
        "closed Sundays and public holidays. Live chat in the Brightwave Home app is open 24/7, and e-mail at "
        "help@brightwave.example gets a reply within 1 business day.",
    )
    c.user("Great, chat works for me.", "So no phone on Sundays. Ok.", "Thanks, good to know.")
    close(c)


def water_damage(c: Chat) -> None:
    c.product("router", "pro")
    has_care = c.rng.random() < 0.5
    c.user(
        "I spilled water on my {product} and now it won't turn on. Covered?",
        "the dog knocked a vase onto the router, it's dead. warranty?",
        "Dropped my {model} in the sink by accident. What are my options?",
    )
    c.agent(
        "I'm sorry to hear that. The standard warranty covers manufacturing defects but not water or physical "
        "damage. Do you have Halo Care+ on it?",
        "Unfortunately water damage isn't covered by the regular warranty. Did you add Halo Care+ when you bought "
        "it?",
    )
    if has_care:
        c.user("Yes, we bought Care+.", "I think so, yes.")
    else:
        c.user("No.", "Nope, never bought it.")
    if has_care:
        verify(c, "check the Care+ claim")
        c.agent(
            "Care+ includes one accidental-damage replacement, with a $29 service fee. I've started the claim; the "
            "e-mail has the next steps.",
        )
    else:
        c.agent(
            "Then I'm afraid it's not covered. For the future, Care+ must be bought within 60 days of purchasing a "
            "device.",
        )
    close(c)


def warranty_exclusion(c: Chat) -> None:
    c.product("router", "pro")
    kind = c.rng.choice(["surge", "firmware"])
    if kind == "surge":
        c.user(
            "After a thunderstorm my {product} is dead. Warranty?",
            "lightning hit near the house and the router won't power on",
        )
        c.agent("Sorry to hear that. Was it plugged into a surge protector?")
        c.user("No, straight into the wall.", "No surge protector, no.")
        c.agent(
            "Then I'm afraid the warranty doesn't cover it: lightning or power-surge damage without a surge "
            "protector is excluded.",
        )
    else:
        c.user(
            "I flashed OpenWrt on my {product} and now it's acting up. Can I get it replaced?",
            "installed third party firmware, now bricked. RMA?",
        )
        c.agent(
            "I'm sorry, but devices running third-party firmware aren't covered by the warranty, so I can't set up "
            "a warranty replacement.",
        )
        c.user("Even if I flash it back?", "Harsh.", "So what can I do?")
        c.agent(
            "I understand that's disappointing. The exclusion applies because the device ran third-party "
            "firmware, so I'm not able to offer a warranty replacement for it.",
            "I know it's not the answer you hoped for. Once third-party firmware has been installed, the warranty "
            "no longer covers the device.",
        )
    close(c)


def power_adapter(c: Chat) -> None:
    c.product("router", "pro", "mesh")
    c.user(
        "I lost the power adapter for my {product}. Which one do I need?",
        "what power supply does the {model} use?",
        "Can I use my old router's adapter on the {product}?",
    )
    c.agent(
        "The {product} needs a {volts} barrel adapter. Please use one with exactly that rating.",
        "It takes {volts} through a barrel connector. Halo models use 12 V / 2 A, Pro models 12 V / 3 A.",
    )
    c.user(
        "Mine is a bit bulged, is that ok?",
        "Ok, I'll order the right one.",
        "Good, the spare one matches.",
    )
    if "bulged" in c.messages[-1]["content"]:
        c.agent(
            "Please unplug it right away and don't use it — a swollen adapter is a safety issue. I've opened "
            "Priority Safety case {scase}; a replacement ships next day.",
        )
    close(c)


SCENARIOS: list[Callable[[Chat], None]] = [
    no_internet,
    slow_wifi,
    mesh_setup,
    firmware_stuck,
    red_light,
    status_lights,
    forgot_password,
    wifi_password,
    change_email,
    cancel_shield,
    return_in_window,
    return_out_of_window,
    holiday_return,
    advance_replacement,
    careplus,
    guest_network,
    parental_controls,
    port_forwarding,
    moving_house,
    selling_device,
    two_step,
    device_limit,
    six_ghz,
    safety,
    double_charge,
    angry_outage,
    retailer_return,
    factory_reset,
    admin_page,
    coverage_buying,
    family_sharing,
    shield_price,
    out_of_scope,
    mini_extender,
    contact_options,
    water_damage,
    warranty_exclusion,
    power_adapter,
]


# ---- single-turn instruction/response pairs ------------------------------------------------------------

PAIR_TOPICS: list[tuple[list[str], list[str]]] = [
    (
        ["How do I factory reset my Halo router?", "reset halo router to defaults"],
        [
            "Hold the recessed reset button for 10 seconds until the light blinks blue (firmware 4.x). Your settings "
            "are erased, so you'll set it up again in the Brightwave Home app.",
            "Use a paperclip on the reset button and hold it 10 seconds; when the light blinks blue the reset is "
            "done. Firmware 3.x needed 15 seconds, but 4.x only needs 10.",
        ],
    ),
    (
        ["What address do I use to reach the router admin page?", "router login page address?"],
        [
            "On firmware 4.0 and later, open 10.50.0.1 in a browser while on your Halo Wi-Fi.",
            "It's 10.50.0.1 since firmware 4.0. If you're still on 3.x firmware it was 192.168.50.1 — updating is "
            "recommended.",
        ],
    ),
    (
        ["My router light is solid amber, what now?", "solid orange light on the halo"],
        [
            "Solid amber means no internet. Restart the modem first and then the router, unplugging each for 30 "
            "seconds, and check that the modem cable sits in the WAN port.",
            "That light says the router can't reach the internet. Do a modem-then-router restart (30 seconds "
            "unplugged); if it stays amber, check the WAN cable, then contact us so we can escalate.",
        ],
    ),
    (
        ["The light is pulsing amber. Should I unplug it?", "why is my router blinking amber slowly"],
        [
            "Please don't unplug it — pulsing amber means a firmware update is in progress. It restarts on its own "
            "when finished.",
            "A pulsing amber light is a firmware update. Leave it powered until the light turns solid white.",
        ],
    ),
    (
        ["What does a red light on a Brightwave device mean?", "halo mesh point showing red"],
        [
            "Red means a hardware fault. Please contact support so we can arrange a warranty replacement.",
            "A red status light is a hardware fault; resets won't fix it. Get in touch with us and we'll set up a "
            "replacement if it's under warranty.",
        ],
    ),
    (
        ["What does the blue light mean?", "my new mesh point is blue"],
        [
            "Blue means the device is ready to pair — add it in the Brightwave Home app.",
            "That's the pairing light: the unit is waiting to be added from the Devices section of the app.",
        ],
    ),
    (
        ["How many devices can connect to one Halo router?", "max devices per router?"],
        [
            "Up to 128 devices per router on firmware 4.1 or later, and 64 per mesh point.",
            "Firmware 4.1 raised the limit from 64 to 128 devices per router; each mesh point handles 64.",
        ],
    ),
    (
        ["How many devices can use the guest network?", "guest wifi device cap"],
        [
            "On firmware 4.2 the guest network takes up to 32 devices. Older versions allowed fewer (16 on 4.0).",
            "Up to 32 devices with firmware 4.2 — update if your router is still on an older version.",
        ],
    ),
    (
        ["How much does Halo Shield cost?", "price of halo shield per year"],
        [
            "Halo Shield is $4.99 a month or $49 a year, with a 30-day free trial on new devices.",
            "It's $49/year or $4.99/month. The $39 annual price ended on 31 March 2026.",
        ],
    ),
    (
        ["Can I get a refund if I cancel my annual Halo Shield?", "refund for unused halo shield year"],
        [
            "Yes, if you cancel within the first 30 days of the paid year, the unused part is refunded. After that "
            "the plan runs until the end of the year without renewing.",
            "Refunds of the unused part are only possible in the first 30 days of the paid year. You can cancel "
            "anytime in the app under Account > Subscriptions.",
        ],
    ),
    (
        ["What is Halo Care+?", "care+ coverage details"],
        [
            "Halo Care+ extends the warranty by 2 years and covers one accidental-damage replacement with a $29 "
            "service fee. It's $79 for Halo devices and $119 for Pro.",
            "It's extended protection: +2 years of warranty plus one accidental-damage replacement ($29 fee). It "
            "has to be bought within 60 days of the device purchase.",
        ],
    ),
    (
        ["Can I buy Care+ three months after buying my router?", "too late for care+ after 90 days?"],
        [
            "I'm sorry, Care+ must be bought within 60 days of the device purchase, so three months is too late.",
            "Care+ has a 60-day purchase window from the device purchase date; after that it can't be added.",
        ],
    ),
    (
        ["What is the return policy?", "how long do I have to return a brightwave product"],
        [
            "Direct purchases can be returned within 30 days of delivery for a full refund. Opened items returned "
            "after 14 days carry a 15% restocking fee unless faulty.",
            "You have 30 days from delivery when you bought direct from Brightwave. Retailer purchases go back to "
            "the retailer.",
        ],
    ),
    (
        ["I got my router as a holiday gift. Can I return it in January?", "christmas return deadline"],
        [
            "If it was delivered between 15 November and 31 December, it can be returned until 31 January.",
            "Holiday orders delivered 15 Nov – 31 Dec have until 31 January to be returned.",
        ],
    ),
    (
        ["When will I get my refund?", "refund timing after return"],
        [
            "Refunds go to the original payment method within 5–7 business days after we receive the return.",
            "Once the item reaches us, allow 5–7 business days for the refund to appear on your original payment "
            "method.",
        ],
    ),
    (
        ["Who pays return shipping?", "return label cost"],
        [
            "Faulty items get a free prepaid label. Otherwise $8.95 is deducted from the refund.",
            "If the device is faulty the label is free; for change-of-mind returns we deduct $8.95 shipping.",
        ],
    ),
    (
        ["I bought my router at a store. Can I return it to you?", "return retailer-bought halo"],
        [
            "Items bought from retailers go back to the retailer. The Brightwave warranty still applies with proof "
            "of purchase.",
            "Please return it to the store you bought it from. For warranty claims, keep the receipt as proof of "
            "purchase.",
        ],
    ),
    (
        ["How does an advance replacement work?", "can you ship the replacement first"],
        [
            "We ship the new unit first and place a card hold for the device price, released when your faulty unit "
            "arrives within 21 days.",
            "With advance replacement you get the new device before sending the old one. The hold equals the "
            "device price and is released once the faulty unit is back within 21 days.",
        ],
    ),
    (
        ["How long is the warranty on the Halo Pro Router?", "pro router warranty length"],
        [
            "The Halo Pro Router (BW-P7) has a 3-year warranty.",
            "Three years for the Pro Router and Pro Mesh Point; Care+ can extend that by 2 years.",
        ],
    ),
    (
        ["What does the warranty not cover?", "warranty exclusions"],
        [
            "Water damage, physical damage, lightning or power surges without a surge protector, and devices "
            "running third-party firmware are excluded.",
            "It covers manufacturing defects only — not water or physical damage, surge damage without a surge "
            "protector, or third-party firmware.",
        ],
    ),
    (
        ["How fast do warranty replacements ship?", "RMA shipping time"],
        [
            "Warranty replacements ship within 2 business days once the RMA is set up.",
            "Once your RMA is approved, the replacement leaves within 2 business days.",
        ],
    ),
    (
        ["How much area does one Halo router cover?", "halo router range sq ft"],
        [
            "One Halo Router covers up to 2,000 sq ft; each Halo Mesh Point adds up to 1,500 sq ft.",
            "About 2,000 square feet for the Halo Router, 3,000 for the Halo Pro Router.",
        ],
    ),
    (
        ["How many mesh points can I add?", "mesh point limit"],
        [
            "A mesh network holds at most 6 mesh points plus the router.",
            "Up to 6 mesh points can join one router.",
        ],
    ),
    (
        ["Does the Halo Router support 6 GHz?", "6ghz on halo router?"],
        [
            "No, the Halo Router (BW-H1) is dual-band Wi-Fi 6. 6 GHz is on the Halo Pro Router (BW-P7), tri-band "
            "Wi-Fi 7.",
            "Only the Pro line has 6 GHz; the standard Halo Router uses 2.4 and 5 GHz.",
        ],
    ),
    (
        ["My Pro router keeps dropping 6 GHz.", "6 GHz disconnects on BW-P7"],
        [
            "Firmware 4.1 fixed a 6 GHz drop on the Pro. Update to 4.1 or later in the app.",
            "Please update the Pro to firmware 4.1 or newer — that release fixes the 6 GHz drop.",
        ],
    ),
    (
        ["How do I add someone to my account?", "family sharing limit"],
        [
            "The account owner can add up to 5 household members with Family Sharing. Members can't change billing.",
            "Use Family Sharing in the app: up to 5 household members; you choose what each may manage, and billing stays with you.",
        ],
    ),
    (
        ["How do I turn on two-step verification?", "enable 2fa brightwave"],
        [
            "Go to Account > Security and turn on two-step verification with an authenticator app or SMS.",
            "In the app, Account > Security lets you enable two-step verification; pick an authenticator app or "
            "SMS codes.",
        ],
    ),
    (
        ["I forgot my account password.", "reset brightwave account password"],
        [
            'Tap "Forgot password" on the sign-in screen; the reset e-mail is valid for 30 minutes.',
            'Use the "Forgot password" link. Open the e-mail within 30 minutes, and choose a new password of at '
            "least 12 characters.",
        ],
    ),
    (
        ["Where is my Wi-Fi password?", "default wifi password location"],
        [
            "The default network name (Brightwave-XXXX) and password are on the label under the device.",
            "Look at the label underneath the router. If you changed them, check the Brightwave Home app.",
        ],
    ),
    (
        ["How do I give my router to someone else?", "transfer halo to new owner"],
        [
            "Remove it from your account under Devices > Remove, then factory reset it (10 seconds until blue).",
            "First Devices > Remove in the app, then a factory reset. The new owner sets it up on their account.",
        ],
    ),
    (
        ["What power adapter does the Halo Pro use?", "pro router power supply rating"],
        [
            "The Pro uses a 12 V / 3 A barrel adapter; the standard Halo uses 12 V / 2 A.",
            "12 V / 3 A for Pro models. Please don't use a lower-rated adapter.",
        ],
    ),
    (
        ["My router smells like burning.", "power adapter swollen"],
        [
            "Unplug it immediately and don't use it. Contact us right away so we open a Priority Safety case and "
            "ship a replacement next day.",
            "Please unplug it now — that's a safety issue. We'll open a Priority Safety case and send a replacement "
            "the next day.",
        ],
    ),
    (
        ["When do automatic updates run?", "firmware auto update time"],
        [
            "By default between 02:00 and 04:00 local time.",
            "Automatic updates are scheduled for 02:00–04:00 local time unless you change it.",
        ],
    ),
    (
        ["Do parental control schedules work on all mesh points?", "parental schedule mesh sync"],
        [
            "Yes, on firmware 4.2 schedules sync across mesh points within 60 seconds.",
            "With firmware 4.2 a schedule reaches every mesh point within a minute.",
        ],
    ),
    (
        ["What are your support hours?", "phone support opening times"],
        [
            "Phone: 1-800-555-0142, Mon–Fri 8:00–20:00 and Sat 9:00–17:00 Eastern, closed Sundays and public "
            "holidays. Chat in the app is 24/7.",
            "Live chat in the Brightwave Home app is available 24/7; phone lines are open weekdays 8–20 and "
            "Saturdays 9–17 ET.",
        ],
    ),
    (
        ["Will Brightwave ever ask for my password?", "is it safe to give my card number in chat"],
        [
            "No. Brightwave never asks for your password or full card number by chat, e-mail or phone.",
            "Never — and please don't share them. We verify you with your account e-mail plus an app code or "
            "the last 4 digits of a device serial.",
        ],
    ),
    (
        ["Can I return it 35 days after delivery?", "a week late for the return"],
        [
            "The standard window is 30 days. If the device is faulty, the warranty covers it; a team lead can "
            "review exceptions shortly past the window, but it isn't guaranteed.",
            "That's past the 30-day window. Contact support: we can escalate an exception request, and a defect "
            "is always covered by warranty.",
        ],
    ),
    (
        ["What's the difference between the Mini Extender and a Mesh Point?", "mini extender vs mesh point"],
        [
            "The Mini Extender ($49) is Wi-Fi 5 with no Ethernet ports and a 1-year warranty; the Mesh Point ($99) "
            "is Wi-Fi 6 with two 1 GbE ports and a 2-year warranty.",
            "Mesh Points are Wi-Fi 6 and add 1,500 sq ft each; the Mini is a simpler Wi-Fi 5 plug-in for one weak "
            "spot.",
        ],
    ),
    (
        ["What ports does the Halo Router have?", "halo router ethernet ports"],
        [
            "One 2.5 GbE WAN port, three 1 GbE LAN ports and one USB 3.0 port.",
            "It has a 2.5 GbE WAN, 3 gigabit LAN ports and a USB 3.0 port.",
        ],
    ),
    (
        ["Is there live chat at night?", "can I chat with support on a sunday"],
        [
            "Yes, live chat in the Brightwave Home app is open 24/7, including Sundays and holidays.",
            "Chat in the app never closes. Phone support is closed on Sundays and public holidays.",
        ],
    ),
    (
        ["I don't have the order number for my return.", "where do I find my BW-ORD number"],
        [
            "Direct orders are looked up by order number, which starts with BW-ORD- followed by 8 digits; it's in "
            "your order confirmation e-mail.",
            "Check the confirmation e-mail: the order number looks like BW-ORD- and 8 digits. Retailer purchases "
            "need the receipt instead.",
        ],
    ),
    (
        ["Can my family member cancel our Halo Shield?", "can household members change billing"],
        [
            "No, household members added through Family Sharing can't change billing; only the account owner can.",
            "Billing changes, including cancelling Halo Shield, are for the account owner only.",
        ],
    ),
    (
        ["What temperature range can the router handle?", "is it ok to put the router in the garage"],
        [
            "Brightwave devices are made for 0–40 °C. Avoid spots that get colder or hotter than that.",
            "The operating range is 0 to 40 °C, so an unheated garage in winter or a hot attic isn't a good place.",
        ],
    ),
    (
        ["Is WPA3 turned on?", "does my new setup use wpa3"],
        [
            "Since firmware 4.2, WPA3 is on by default for new setups.",
            "New setups on firmware 4.2 get WPA3 by default; on 3.8 it was optional.",
        ],
    ),
    (
        ["How much is a 3-pack of mesh points?", "mesh point price"],
        [
            "A single Halo Mesh Point is $99, and a 3-pack is $269.",
            "$269 for three Halo Mesh Points, or $99 each.",
        ],
    ),
]


def make_pairs(rng: random.Random) -> list[tuple[str, str]]:
    """One pair per (question, answer) variant, questions rotated so no two pairs share both halves."""
    pairs = []
    for questions, answers in PAIR_TOPICS:
        offset = rng.randrange(len(questions))
        for i, answer in enumerate(answers):
            pairs.append((questions[(i + offset) % len(questions)], answer))
    rng.shuffle(pairs)
    return pairs


# ---- composing, checking and planting noise ------------------------------------------------------------


def shingles(messages: list[dict[str, str]], k: int = 3) -> set[tuple[str, ...]]:
    words = re.findall(r"\w+", " ".join(m["content"] for m in messages if m["role"] != "system").lower())
    return {tuple(words[i : i + k]) for i in range(max(len(words) - k + 1, 1))}


def jaccard(a: set, b: set) -> float:
    return len(a & b) / len(a | b) if a or b else 1.0


def well_formed(messages: list[dict[str, str]]) -> bool:
    roles = [m["role"] for m in messages]
    alternating = all(r == ("user" if i % 2 == 0 else "assistant") for i, r in enumerate(roles))
    words = sum(len(m["content"].split()) for m in messages)
    return alternating and 3 <= len(roles) <= MAX_TURNS and roles[-1] == "assistant" and words <= MAX_WORDS


def compose_many(rng: random.Random, count: int, quota: dict[str, int]) -> list[list[dict[str, str]]]:
    """`count` distinct conversations, scenarios taken in turn; drafts too close to an earlier one are redrawn."""
    chosen: list[list[dict[str, str]]] = []
    seen: list[set] = []
    order = list(SCENARIOS)
    rng.shuffle(order)
    slot = 0
    while len(chosen) < count:
        scenario = order[slot % len(order)]
        slot += 1
        for _ in range(12):
            saved = dict(quota)
            chat = Chat(rng, quota)
            scenario(chat)
            grams = shingles(chat.messages)
            if well_formed(chat.messages) and all(jaccard(grams, other) < MAX_SIMILARITY for other in seen):
                chosen.append(chat.messages)
                seen.append(grams)
                break
            quota.clear()
            quota.update(saved)
        if slot > count * 4:
            raise RuntimeError(
                f"only {len(chosen)} distinct conversations after {slot} drafts; add phrasings"
            )
    return chosen


def with_system(messages: list[dict[str, str]]) -> list[dict[str, str]]:
    return [{"role": "system", "content": SYSTEM_PROMPT}, *messages]


# Word-level edits, so a near-duplicate differs from its original even after punctuation is normalised.
TRIVIAL_EDITS: list[tuple[str, str]] = [
    ("thanks", "thank you"),
    ("Thanks", "Thank you"),
    ("ok", "okay"),
    ("Ok", "Okay"),
    ("It's", "It is"),
    ("it's", "it is"),
    ("I'm", "I am"),
    ("don't", "do not"),
    ("can't", "cannot"),
]


def trivially_edited(messages: list[dict[str, str]], rng: random.Random) -> list[dict[str, str]]:
    """The same conversation with one small edit in one customer turn: what a re-export often produces."""
    copy = [dict(m) for m in messages]
    users = [m for m in copy if m["role"] == "user"]
    target = rng.choice(users)
    for old, new in rng.sample(TRIVIAL_EDITS, len(TRIVIAL_EDITS)):
        if old in target["content"]:
            target["content"] = target["content"].replace(old, new, 1)
            return copy
    target["content"] += " thanks"
    return copy


def plant_noise(
    good: list[list[dict[str, str]]], spare: list[list[dict[str, str]]], rng: random.Random
) -> list[str]:
    """JSONL lines: the good conversations plus duplicates, near-duplicates and broken records at random places."""
    lines = [json.dumps({"messages": with_system(m)}, ensure_ascii=False) for m in good]
    # Near-duplicates come from longer conversations, where one edited word keeps them near the original.
    long_enough = [i for i, m in enumerate(good) if sum(len(t["content"].split()) for t in m) >= 120]
    picks = rng.sample(long_enough, EXACT_DUPLICATES + NEAR_DUPLICATES)
    extra = [lines[i] for i in picks[:EXACT_DUPLICATES]]
    extra += [
        json.dumps({"messages": with_system(trivially_edited(good[i], rng))}, ensure_ascii=False)
        for i in picks[EXACT_DUPLICATES:]
    ]
    empty = [
        {"messages": []},
        {"messages": [{"role": "system", "content": SYSTEM_PROMPT}]},
        {"messages": with_system([{"role": "user", "content": " "}, {"role": "assistant", "content": ""}])},
    ]
    extra += [json.dumps(e) for e in empty]
    one_sided, broken, bad_role = spare[:3], spare[3:5], spare[5:7]
    extra += [
        json.dumps({"messages": with_system([m for m in conv if m["role"] == "user"])}, ensure_ascii=False)
        for conv in one_sided
    ]
    truncated = json.dumps({"messages": with_system(broken[0])}, ensure_ascii=False)
    extra.append(truncated[: len(truncated) // 2])
    unquoted = json.dumps({"messages": with_system(broken[1])}, ensure_ascii=False)
    extra.append(unquoted.replace('"role": "user"', "'role': 'user'", 1))
    for conv, role in zip(bad_role, ["bot", "agent"], strict=True):
        relabelled = [dict(m, role=role) if m["role"] == "assistant" else m for m in conv]
        extra.append(json.dumps({"messages": with_system(relabelled)}, ensure_ascii=False))
    for line in extra:
        lines.insert(rng.randrange(len(lines) + 1), line)
    return lines


SPEAKER_LABELS = [("Customer", "Agent")] * 4 + [("User", "Support"), ("Client", "Rep")]


def plain_text(messages: list[dict[str, str]], labels: tuple[str, str]) -> str:
    """`Label: text` per turn; a turn's further lines are indented by two spaces; no blank lines inside."""
    out = []
    for m in messages:
        label = labels[0] if m["role"] == "user" else labels[1]
        first, *rest = m["content"].split("\n")
        out.append(f"{label}: {first}")
        out.extend(f"  {line}" for line in rest)
    return "\n".join(out) + "\n"


def pairs_csv(pairs: list[tuple[str, str]]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["instruction", "response"])
    writer.writerows(pairs)
    return buffer.getvalue()


# ---- what was planted, for the README ------------------------------------------------------------------

PII_PATTERNS = {
    "e-mail addresses": re.compile(r"[\w.+-]+@example\.(?:com|org)"),
    "phone numbers": re.compile(r"\(\d{3}\) 555-\d{4}|\b\d{3}-555-\d{4}\b|\+\d{1,2}(?: \d{1,7}){2,3}"),
    "IBANs": re.compile(r"\b[A-Z]{2}\d{2}(?: [A-Z0-9]{4}){3,7}(?: [A-Z0-9]{1,4})?\b"),
    "card numbers": re.compile(r"\b\d{4}[ -]?\d{4,6}[ -]?\d{4,5}(?:[ -]?\d{4})?\b"),
    "IP addresses": re.compile(r"\b(?!10\.50\.0\.1\b|192\.168\.50\.1\b)(?:\d{1,3}\.){3}\d{1,3}\b"),
    "street addresses": re.compile(r"\b\d+ [A-Z][a-z]+ (?:Ave|Street|Rd|Lane|Court|Dr)\b"),
    "password pastes": re.compile(r"password(?: is|:) \S+"),
}


def pii_counts(conversations: list[list[dict[str, str]]]) -> dict[str, int]:
    """How many conversations carry each kind of personal data in their customer turns."""
    counts = dict.fromkeys(PII_PATTERNS, 0)
    for conv in conversations:
        text = "\n".join(m["content"] for m in conv if m["role"] == "user")
        text = PII_PATTERNS["IBANs"].sub("", text) if PII_PATTERNS["IBANs"].search(text) else text
        for kind, pattern in PII_PATTERNS.items():
            if kind == "IBANs":
                joined = "\n".join(m["content"] for m in conv if m["role"] == "user")
                counts[kind] += bool(pattern.search(joined))
            else:
                counts[kind] += bool(pattern.search(text))
    return counts


README = """# Sample support transcripts (Brightwave)

Written by `data/make_transcripts.py` (seed {seed}); edit the script, not these files. The agents follow the
support procedures of `data/DOMAIN.md`: greeting, identity check before account changes, troubleshooting
order, Tier 2 (`BWC-` + 6 digits) and safety (`BWS-` + 6 digits) cases, angry customers, goodwill and refunds.

## Formats
- `conversations.jsonl`: one JSON object per line, `{{"messages": [{{"role": ..., "content": ...}}, ...]}}`
  (chat fine-tuning format). Each starts with the same system prompt, then user and assistant turns
  alternate, starting with the user and ending with the assistant; 4 to 12 turns after the system prompt.
- `chats/*.txt`: one conversation per file, one turn per line as `Speaker: text`. The customer is
  `Customer:`, `User:` or `Client:`; the agent is `Agent:`, `Support:` or `Rep:` (one pair per file). A turn
  that spans several lines continues on the next lines, indented by two spaces. There are no blank lines:
  the loader reads a blank line (or a `---` / `===` line) as the end of a conversation, so one file of your
  own may hold several, and a turn must not be split from the next by one.
- `pairs.csv`: header `instruction,response`, one question and the agent's answer per row (RFC 4180
  quoting).

## Counts
- `conversations.jsonl`: {lines} lines: {good} distinct well-formed conversations over {scenarios} scenario
  types, plus the planted noise below.
- `chats/`: {chats} conversations ({label_counts}).
- `pairs.csv`: {pairs} pairs.

## Noise planted on purpose in `conversations.jsonl` (the cleaning step must catch it)
- {exact} exact duplicates of other lines.
- {near} near-duplicates: a copy of another conversation with one trivial edit in one customer turn.
- 3 empty conversations: no messages; only the system prompt; only blank turns.
- 3 one-sided conversations: customer turns only.
- 2 malformed lines: one cut off half-way, one with single-quoted keys.
- 2 lines with a bad role: the agent's turns are labelled `bot` in one and `agent` in the other.

## Personal data pasted by customers (conversations, JSONL and plain text together)
All fake: e-mail domains `example.com`/`example.org`, `555` phone numbers, Luhn-valid test card numbers,
IBANs with valid check digits. Agents never repeat them; for a card number they tell the customer never to
share it and that it will be removed from the transcript.
{pii_lines}
"""


def write_atomic(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    with os.fdopen(fd, "w", encoding="utf-8", newline="") as handle:
        handle.write(text)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, path)


def build(out: Path, seed: int) -> None:
    """Write every transcript file under `out`; the same seed always gives the same bytes."""
    rng = random.Random(seed)
    quota = {"card": 8, "iban": 4, "phone": 9, "address": 7, "ip": 6, "email": 6, "password": 2}
    conversations = compose_many(rng, GOOD_CONVERSATIONS + PLAIN_TEXT_CHATS + 7, quota)
    good = conversations[:GOOD_CONVERSATIONS]
    chats = conversations[GOOD_CONVERSATIONS : GOOD_CONVERSATIONS + PLAIN_TEXT_CHATS]
    spare = conversations[GOOD_CONVERSATIONS + PLAIN_TEXT_CHATS :]
    lines = plant_noise(good, spare, rng)
    write_atomic(out / "conversations.jsonl", "\n".join(lines) + "\n")

    chat_dir = out / "chats"
    for stale in chat_dir.glob("*.txt"):
        stale.unlink()
    labels_used: dict[str, int] = {}
    for i, conv in enumerate(chats, start=1):
        labels = rng.choice(SPEAKER_LABELS)
        labels_used[f"{labels[0]}/{labels[1]}"] = labels_used.get(f"{labels[0]}/{labels[1]}", 0) + 1
        write_atomic(chat_dir / f"chat_{i:03d}.txt", plain_text(conv, labels))

    pairs = make_pairs(rng)
    write_atomic(out / "pairs.csv", pairs_csv(pairs))

    counts = pii_counts(good + chats)
    readme = README.format(
        seed=seed,
        lines=len(lines),
        good=len(good),
        scenarios=len(SCENARIOS),
        chats=len(chats),
        label_counts=", ".join(f"{n} {k}" for k, n in sorted(labels_used.items())),
        pairs=len(pairs),
        exact=EXACT_DUPLICATES,
        near=NEAR_DUPLICATES,
        pii_lines="\n".join(f"- {kind}: {n} conversations" for kind, n in counts.items()),
    )
    write_atomic(out / "README.md", readme)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=4242, help="seed of every random choice")
    parser.add_argument(
        "--out", type=Path, default=Path(__file__).parent / "transcripts", help="output folder"
    )
    args = parser.parse_args()
    build(args.out, args.seed)


if __name__ == "__main__":
    main()
