"""Agent replies lose the name placeholders of greetings, introductions, vocatives and signatures, and
keep the ones that carry meaning; cleaning does it to agent turns only and counts it."""

from __future__ import annotations

import pytest

from finetune.addressed_names import drop_addressed_names
from finetune.cleaning import clean
from finetune.conversation import Conversation, Message


@pytest.mark.parametrize(
    ("reply", "expected"),
    [
        (
            "Hi, thanks for contacting Acme Support, my name is <NAME>. How can I help today?",
            "Hi, thanks for contacting Acme Support. How can I help today?",
        ),
        ("Thanks, <NAME>.", "Thanks."),
        ("You're welcome, <NAME>. Have a good day!", "You're welcome. Have a good day!"),
        ("Happy to help, <NAME>! Anything else?", "Happy to help! Anything else?"),
        ("Hi <NAME>, your order shipped.", "Hi, your order shipped."),
        ("Good morning <NAME>! Let's look.", "Good morning! Let's look."),
        ("<NAME>, your order shipped.", "Your order shipped."),
        ("Done. <NAME>, anything else?", "Done. Anything else?"),
        ("Hi, I'm <NAME> and I'll help you today.", "Hi, I'll help you today."),
        ("Dear <NAME>, thank you for waiting.", "Thank you for waiting."),
        ("Best regards,\n<NAME>", "Best regards,"),
        ("Sorted!\n- <NAME>", "Sorted!"),
    ],
)
def test_names_that_only_address_someone_go(reply, expected):
    assert drop_addressed_names(reply) == (expected, 1)


@pytest.mark.parametrize(
    "reply",
    [
        "Please ask <NAME> in billing about the refund.",
        "The order is in the name of <NAME> and ships today.",
        "No name here, only an <EMAIL>.",
    ],
)
def test_names_that_carry_meaning_stay(reply):
    assert drop_addressed_names(reply) == (reply, 0)


def test_cleaning_drops_them_from_agent_turns_only_and_counts_them():
    conversation = Conversation(
        (
            Message("user", "Hi, my name is Jonathan Whitaker and my router is amber."),
            Message("assistant", "Thanks, Jonathan. My name is Priya. Restart the modem first."),
        ),
        "a:1",
    )
    options = {"max_tokens": 1000, "over_long": "truncate", "near_duplicate_threshold": 0.8}

    [kept], report = clean([conversation], count_tokens=lambda c: 10, scrub_pii=True, **options)

    assert kept.messages[0].content == "Hi, my name is <NAME> and my router is amber."  # the customer's words
    assert kept.messages[1].content == "Thanks. Restart the modem first."
    assert report.addressed_names_dropped == 2 and report.to_dict()["pii"]["addressed_names_dropped"] == 2
    assert "names taken out of greetings  2" in report.to_text().replace("   ", "  ")
    [untouched], _ = clean([conversation], count_tokens=lambda c: 10, scrub_pii=False, **options)
    assert untouched == conversation  # without scrubbing there are no placeholders to take out


def test_fewshot_examples_are_scrubbed_the_same_way():
    from assistant.fewshot_exchanges import exchanges_of

    conversation = Conversation(
        (
            Message("user", "Hi, my name is Jonathan Whitaker and my router is amber."),
            Message("assistant", "Thanks, Jonathan. Restart the modem first."),
        ),
        "a:1",
    )
    [exchange] = exchanges_of([conversation], scrub_pii=True)
    assert exchange.customer == "Hi, my name is <NAME> and my router is amber."
    assert exchange.agent == "Thanks. Restart the modem first."
