import pytest

from assistant.answer import Source
from assistant.contradiction import contradictions

RETURNS = (
    "## How long you have\n\n- **30 days from delivery** for a full refund.\n"
    "- The return window starts on the delivery date shown in your order tracking, not the order date.\n\n"
    "Opened items returned after 14 days pay a 15% restocking fee. The restocking fee never applies to faulty "
    "items. You can cancel Care+ within 30 days for a full refund, provided you haven't made a claim."
)
FAULTY = "Faulty items have no restocking fee."


def sources(*texts: str) -> list[Source]:
    return [
        Source(number, f"doc{number}", f"doc{number}.md", f"Doc {number}", None, 0.5, text)
        for number, text in enumerate(texts, start=1)
    ]


@pytest.mark.parametrize(
    ("answer", "source_sentence"),
    [
        # The negation dropped, every word and figure still in the sources.
        (
            "The return window is 30 days from the order date.",
            "The return window starts on the delivery date shown in your order tracking, not the order date.",
        ),
        (
            "The restocking fee applies to faulty items [1].",
            "The restocking fee never applies to faulty items.",
        ),
        ("Faulty items have a restocking fee.", FAULTY),  # "no" denies the fee
    ],
)
def test_a_sentence_stating_what_a_source_denies_is_found_with_that_source_sentence(answer, source_sentence):
    found = contradictions(f"Thanks for asking. {answer}", sources(RETURNS, FAULTY))
    assert [(item.sentence, item.source_sentence) for item in found] == [(answer, source_sentence)]
    assert found[0].source_number == (2 if source_sentence == FAULTY else 1)


@pytest.mark.parametrize(
    "answer",
    [
        "You have 30 days from delivery [1].",  # agrees
        # The denied words are there, but not in a row: "delivery date ... order tracking" is no "order date".
        "The return window starts on the delivery date shown in your order tracking.",
        "The restocking fee doesn't apply to faulty items.",  # it negates too
        "You get a full refund unless you've made a claim.",  # it conditions: beyond a word check
        "Can you confirm you've made a claim?",  # a question states nothing
        "You can only change the firmware itself.",
        "Water damage is covered.",  # nothing in these sources denies it
    ],
)
def test_agreeing_hedged_or_unrelated_sentences_are_left_alone(answer):
    assert (
        contradictions(
            answer, sources(RETURNS, FAULTY, "Factory resetting a router doesn't change its firmware.")
        )
        == []
    )


def test_one_word_denied_says_too_little():
    # "can't be online ..." denies one content word before its clause ends: not enough to know what is denied.
    assert (
        contradictions(
            "The mesh point is online now.", sources("Mesh points can't be online when the router isn't.")
        )
        == []
    )
