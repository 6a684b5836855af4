"""Personal data scrubbing: every kind, the checks that keep look-alikes, recall and false positives."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from finetune.pii import false_positives, measure_recall, scrub


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


def test_keep_list_spares_the_company_contacts() -> None:
    keep = frozenset({"help@brightwave.example", "1-800-555-0142"})
    text = "Write to help@brightwave.example or call 1-800-555-0142, not me at bob@home.net."
    scrubbed, found = scrub(text, keep=keep)
    assert scrubbed == "Write to help@brightwave.example or call 1-800-555-0142, not me at <EMAIL>."
    assert dict(found) == {"email": 1}


def test_recall_on_planted_items_is_at_least_99_percent() -> None:
    recall = measure_recall(seed=7, per_kind=300)
    assert set(recall) == {"email", "phone", "card", "iban", "ip", "address", "secret"}
    for kind in ("email", "phone", "card", "iban", "ip", "secret"):
        assert recall[kind] >= 0.99, (kind, recall[kind])


def test_clean_support_text_is_left_alone() -> None:
    assert false_positives() == []


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
)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.sampled_from(PIECES), max_size=12).map(" ".join))
def test_scrubbing_is_idempotent_on_mixed_text(text: str) -> None:
    once, _ = scrub(text)
    assert scrub(once) == (once, {})
