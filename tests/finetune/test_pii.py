"""Personal data scrubbing: every kind, the checks that keep look-alikes, recall and false positives."""

from __future__ import annotations

import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from finetune.pii import PLACEHOLDERS, scrub
from tests.finetune.planted import CARRIERS, CLEAN_SUPPORT_TEXT, PLANTERS


@pytest.mark.parametrize(
    ("text", "expected", "kind"),
    [
        ("mail me at jane.doe+wifi@mail.co.uk please", "mail me at <EMAIL> please", "email"),
        ("call (503) 555-0142 today", "call <PHONE> today", "phone"),
        ("call 1-800-555-0142.", "call <PHONE>.", "phone"),
        ("ring +44 20 7946 0958 or +49 30 12345678", "ring <PHONE> or <PHONE>", "phone"),
        ("card 4111 1111 1111 1111 exp 12/28", "card <CARD> exp 12/28", "card"),
        ("card 378282246310005", "card <CARD>", "card"),
        ("amex 3782 822463 10005.", "amex <CARD>.", "card"),
        ("IBAN DE89 3704 0044 0532 0130 00 thanks", "IBAN <IBAN> thanks", "iban"),
        ("pay to GB82WEST12345698765432.", "pay to <IBAN>.", "iban"),
        ("my IP is 8.8.8.8.", "my IP is <IP>.", "ip"),
        ("v6 2001:4860:4860::8888 here", "v6 <IP> here", "ip"),
        ("ship to 42 Maple Grove Ave, Apt 3B now", "ship to <ADDRESS> now", "address"),
        ("key sk-abcdefghijklmnop1234567890", "key <SECRET>", "secret"),
        ("ghp_abcdefghijklmnopqrstuvwxyz0123456789 leaked", "<SECRET> leaked", "secret"),
        ("AKIAIOSFODNN7EXAMPLE", "<SECRET>", "secret"),
        ("password: Hunter2!! ok", "password: <SECRET> ok", "secret"),
        ("pwd=s3cr3t", "pwd=<SECRET>", "secret"),
        ("token: 9f86d081884c7d659a2feaa0c55ad015a3bf4f1b", "token: <SECRET>", "secret"),
    ],
)
def test_each_kind_is_replaced(text: str, expected: str, kind: str) -> None:
    scrubbed, found = scrub(text)
    assert scrubbed == expected
    assert set(found) == {kind}


@pytest.mark.parametrize(
    "text",
    [
        "card 4111 1111 1111 1112 fails Luhn",  # 16 digits, not a card
        "IBAN DE89 3704 0044 0532 0130 01 fails mod-97 (tail passes Luhn)",
        "order BW-ORD-12345678 and case BWC-123456",
        "model BW-H1 costs $129; the 3-pack is 269",
        "firmware 4.1, then version 4.2.1.3",
        "open 10.50.0.1 (was 192.168.50.1 on 3.x)",
        "Your password must be at least 12 characters.",
        "I waited 3 days on the road.",
    ],
)
def test_look_alikes_are_kept(text: str) -> None:
    assert scrub(text) == (text, {})


def test_phone_right_before_a_card_hides_neither() -> None:
    assert scrub("503-555-0142 4111 1111 1111 1111") == ("<PHONE> <CARD>", {"phone": 1, "card": 1})
    assert scrub("020 7946 0958 4111 1111 1111 1111") == ("<PHONE> <CARD>", {"phone": 1, "card": 1})


def test_keep_list_spares_the_company_contacts() -> None:
    keep = frozenset({"help@brightwave.example", "1-800-555-0142"})
    text = "Write to help@brightwave.example or call 1-800-555-0142, not me at bob@home.net."
    scrubbed, found = scrub(text, keep=keep)
    assert scrubbed == "Write to help@brightwave.example or call 1-800-555-0142, not me at <EMAIL>."
    assert dict(found) == {"email": 1}


def test_generated_items_of_every_regular_kind_are_found() -> None:
    rng = random.Random(7)
    for kind, make in PLANTERS.items():
        hits = 0
        for _ in range(300):
            item = make(rng)
            scrubbed, _ = scrub(rng.choice(CARRIERS).format(item))
            secret_part = item.split("=")[-1].split(": ")[-1]
            hits += PLACEHOLDERS[kind] in scrubbed and secret_part not in scrubbed
        assert hits / 300 >= (0.99 if kind != "address" else 0.9), (kind, hits)


@pytest.mark.parametrize("sentence", CLEAN_SUPPORT_TEXT)
def test_clean_support_text_is_left_alone(sentence: str) -> None:
    assert scrub(sentence) == (sentence, {})


def test_password_is_form_needs_a_password_like_value() -> None:
    assert scrub("and my password is hunter2hunter2, if that helps")[0] == (
        "and my password is <SECRET>, if that helps"
    )
    assert scrub("the default password is printed on the label")[1] == {}


PIECES = (
    "call",
    "me",
    "at",
    "503-555-0142",
    "+44 20 7946 0958",
    "jo@ex.com",
    "4111 1111 1111 1111",
    "BW-ORD-12345678",
    "DE89 3704 0044 0532 0130 00",
    "8.8.8.8",
    "10.50.0.1",
    "12 Oak Street",
    "password: x9y8z7",
    "firmware 4.2.1.3",
    "sk-abcdefghijklmnop1234",
    "$129",
    "BWC-123456",
    ",",
    ".",
    "(",
    ")",
    "2026",
    "1",
    "token",
    "=",
    "Thanks,",
    "Jonathan",
    "my name is",
    "PIN is",
    "4821",
    "verification code is",
    "483920",
    "00:1A:2B:3C:4D:5E",
    "219-09-9999",
    "020 7946 0958",
    "admin/admin123",
    "Hauptstraße 12",
    "NW1 6XE",
)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.sampled_from(PIECES), max_size=12).map(" ".join))
def test_scrubbing_is_idempotent_on_mixed_text(text: str) -> None:
    once, _ = scrub(text)
    assert scrub(once) == (once, {})


@pytest.mark.parametrize(
    ("text", "expected", "kind"),
    [
        ("My name is Jonathan Whitaker", "My name is <NAME>", "name"),
        (
            "hi my name is maria gonzalez and my bill doubled",
            "hi my name is <NAME> and my bill doubled",
            "name",
        ),
        ("This is Marco from the billing team.", "This is <NAME> from the billing team.", "name"),
        ("Hi Jonathan, your order shipped.", "Hi <NAME>, your order shipped.", "name"),
        ("That fixed it. Thanks, Jonathan", "That fixed it. Thanks, <NAME>", "name"),
        ("Happy to help, Rosa. Anything else?", "Happy to help, <NAME>. Anything else?", "name"),
        ("Dear Mr. Thompson, approved.", "Dear Mr. <NAME>, approved.", "name"),
        ("verification code is 483920", "verification code is <CODE>", "code"),
        ("OTP was 112233", "OTP was <CODE>", "code"),
        ("the CVV is 737.", "the CVV is <CODE>.", "code"),
        ("ring 020 7946 0958 ext. 214 today", "ring <PHONE> today", "phone"),
        ("mobile 07700 900461", "mobile <PHONE>", "phone"),
        ("call 1-646-555-0175 x32.", "call <PHONE>.", "phone"),
        ("Deliver to Hauptstraße 12, 10115 Berlin.", "Deliver to <ADDRESS>.", "address"),
        ("my flat: 12 rue de Rivoli, 75001 Paris", "my flat: <ADDRESS>", "address"),
        ("Send it to Calle Mayor 5.", "Send it to <ADDRESS>.", "address"),
        ("postcode NW1 6XE", "postcode <ADDRESS>", "address"),
        ("wifi password is CorrectHorseBatteryStaple", "wifi password is <SECRET>", "secret"),
        ("PIN is 4821", "PIN is <SECRET>", "secret"),
        ("log in with admin/admin123 please", "log in with <SECRET> please", "secret"),
        ("key sk_live_4eC39HqLyjWDarjtT1zdp7dc ok", "key <SECRET> ok", "secret"),
        ("my password was 'sunflower' then", "my password was '<SECRET>' then", "secret"),
        ("SSN 219-09-9999 on file", "SSN <SSN> on file", "ssn"),
        ("my ssn is 345678912", "my ssn is <SSN>", "ssn"),
        ("MAC 00:1A:2B:3C:4D:5E.", "MAC <MAC>.", "mac"),
        ("cisco 0050.56c0.0001 here", "cisco <MAC> here", "mac"),
        ("iban de89370400440532013000 thanks", "iban <IBAN> thanks", "iban"),
    ],
)
def test_kinds_that_used_to_reach_training_are_replaced(text: str, expected: str, kind: str) -> None:
    scrubbed, found = scrub(text)
    assert scrubbed == expected
    assert set(found) == {kind}


def test_a_jwt_is_replaced_whole() -> None:
    jwt = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0In0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U"
    assert scrub(f"token: {jwt} expired") == ("token: <SECRET> expired", {"secret": 1})
    assert scrub(f"Authorization: Bearer {jwt}")[0] == "Authorization: Bearer <SECRET>"


@pytest.mark.parametrize(
    "text",
    [
        "the default password is printed on the label",
        "Tap Forgot password to get a reset link.",
        "Enter the 6-digit verification code from the app.",
        "my name is on the account",
        "Hi there, thanks for waiting.",
        "Sure, Monday works.",
        "Error code 651 means the modem lost sync.",
        "Use a 12 V / 2 A adapter and TCP/IP settings.",
        "Set DNS to 10.0.0.53, gateway 192.168.1.1.",
        # A brand before a team word is an organisation introducing itself, not a person: no keep list needed.
        "Hi, this is RideLoop Support, Mara here.",
        "This is Kettlewise Customer Care!",
        # Words after "call me" that say when, not who.
        "please call me back tomorrow",
        "call me later please",
    ],
)
def test_new_rules_leave_support_text_alone(text: str) -> None:
    assert scrub(text) == (text, {})


def test_keep_list_spares_the_company_names_in_greetings_and_introductions() -> None:
    text = "Thanks for calling, this is Northwind Support. Hello Northwind, thanks, Ana"
    scrubbed, found = scrub(text, keep=frozenset({"Northwind Support"}))
    assert scrubbed == "Thanks for calling, this is Northwind Support. Hello Northwind, thanks, <NAME>"
    assert found == {"name": 1}
    assert scrub("Hello Northwind, my backup failed.")[0] == "Hello <NAME>, my backup failed."
    # A person's name is still one before a lower-case team word, or with "call me".
    assert scrub("this is Jo, from the support team")[0] == "this is <NAME>, from the support team"
    assert scrub("call me Jo please")[0] == "call me <NAME> please"
