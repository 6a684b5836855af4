"""Cleaning: every drop and rewrite is done as documented and counted in the report."""

from __future__ import annotations

import json
import random

import pytest

from finetune.cleaning import clean
from finetune.conversation import Conversation, Message
from finetune.dedupe import jaccard, near_duplicates, shingles
from finetune.formats import Problem


def _conv(origin: str, *turns: tuple[str, str]) -> Conversation:
    return Conversation(tuple(Message(role, content) for role, content in turns), origin)


def _words(conversation: Conversation) -> int:
    return sum(len(m.content.split()) for m in conversation.messages)


def _clean(conversations, **options):
    settings = {
        "count_tokens": _words,
        "max_tokens": 1000,
        "over_long": "truncate",
        "near_duplicate_threshold": 0.8,
        "scrub_pii": True,
    }
    return clean(conversations, **(settings | options))


LONG_ANSWER = (
    "Unplug the modem and the router for thirty seconds, plug the modem back in first, wait until "
    "its lights settle, then power the router and watch the status light turn solid white."
)


def test_empty_and_one_sided_conversations_are_dropped_with_origins() -> None:
    kept, report = _clean(
        [
            _conv("a:1", ("user", "  "), ("assistant", "")),
            _conv("a:2", ("user", "anyone there?")),
            _conv("a:3", ("system", "Be brief."), ("assistant", "Hello!")),
            _conv("a:5", ("system", "Be brief."), ("user", " ")),
            _conv("a:4", ("user", "Reset?"), ("assistant", "Hold 10 seconds.")),
        ]
    )
    assert [c.origin for c in kept] == ["a:4"]
    assert report.dropped == {"empty": ["a:1", "a:5"], "one_sided": ["a:2", "a:3"]}
    assert report.empty_turns_removed == 3
    assert (report.conversations_in, report.conversations_kept) == (5, 1)


def test_consecutive_same_role_turns_are_merged_and_counted() -> None:
    kept, report = _clean(
        [_conv("a:1", ("user", "Hi"), ("user", "my light is amber"), ("assistant", "Restart the modem."))]
    )
    assert kept[0].messages == (
        Message("user", "Hi\nmy light is amber"),
        Message("assistant", "Restart the modem."),
    )
    assert report.turns_merged == 1


def test_exact_and_near_duplicates_keep_the_first() -> None:
    base = ("assistant", LONG_ANSWER)
    kept, report = _clean(
        [
            _conv("a:1", ("user", "My internet is down, what do I do?"), base),
            _conv("a:2", ("user", "My internet is down,   what do I do?"), base),  # same after whitespace
            _conv("a:3", ("user", "My internet is down, what should I do?"), base),  # near duplicate
            _conv("a:4", ("user", "How much is Halo Shield?"), ("assistant", "$4.99 a month or $49 a year.")),
        ]
    )
    assert [c.origin for c in kept] == ["a:1", "a:4"]
    assert report.dropped == {"duplicate": ["a:2 (same as a:1)"], "near_duplicate": ["a:3 (like a:1)"]}


def test_copies_differing_only_in_personal_data_are_duplicates() -> None:
    kept, report = _clean(
        [
            _conv(
                "a:1", ("user", "I am ann@x.com, card 4111 1111 1111 1111"), ("assistant", "Never share it.")
            ),
            _conv(
                "a:2", ("user", "I am bob@y.org, card 5555 5555 5555 4444"), ("assistant", "Never share it.")
            ),
        ]
    )
    assert kept[0].messages[0].content == "I am <EMAIL>, card <CARD>"
    assert report.dropped == {"duplicate": ["a:2 (same as a:1)"]}
    assert report.pii_found == {"email": 2, "card": 2}
    assert report.pii_quality is not None and report.pii_quality.recall["email"] == 1.0


def test_scrubbing_covers_every_role_and_can_be_turned_off() -> None:
    conversation = _conv(
        "a:1",
        ("system", "Agent line 503-555-0142"),
        ("user", "me: a@b.co"),
        ("assistant", "IP 8.8.8.8 noted"),
    )
    kept, _ = _clean([conversation])
    assert [m.content for m in kept[0].messages] == ["Agent line <PHONE>", "me: <EMAIL>", "IP <IP> noted"]
    kept, report = _clean([conversation], scrub_pii=False)
    assert kept == [conversation]
    assert not report.pii_found and report.pii_quality is None


def _long() -> Conversation:
    return _conv(
        "a:9",
        ("user", "one two"),
        ("assistant", "three four five"),  # 5 words so far
        ("user", "six seven"),
        ("assistant", "eight nine ten eleven"),  # 11 words
        ("user", "twelve"),
    )


def test_a_name_replaced_in_many_conversations_is_named_as_perhaps_the_companys_own() -> None:
    """Customers differ from one conversation to the next; a brand the rules read as a person does not."""
    signed = [
        _conv(
            f"c{i}",
            ("user", f"dock {i} won't release my bike"),
            ("assistant", f"Try dock {i + 1}.\n\nRegards, Zumbly"),
        )
        for i in range(5)
    ]
    customer = _conv(
        "c9", ("user", "my name is Jonathan Whitaker"), ("assistant", "Thanks, I see your account.")
    )
    kept, report = _clean([*signed, customer])
    assert report.frequent_names() == [("Zumbly", 5)]  # Jonathan Whitaker: one conversation, not named
    assert report.to_dict()["pii"]["frequent_names"] == {"Zumbly": 5}
    assert "Zumbly (5)  (your brand, a product or a team? add it to data.pii_keep)" in report.to_text()
    assert not _clean(signed[:4])[1].frequent_names()
    # In 5 of 21 conversations (under a quarter): a common customer name, not named.
    others = [_conv(f"o{i}", ("user", f"bike {i}?"), ("assistant", f"Dock {i}, sure.")) for i in range(16)]
    assert not _clean([*signed, *others])[1].frequent_names()
    # Kept once it is listed: nothing to report.
    assert not _clean(signed, pii_keep=frozenset({"Zumbly"}))[1].frequent_names()


def test_over_long_truncates_to_whole_turns_ending_on_an_assistant_turn() -> None:
    kept, report = _clean([_long()], max_tokens=8)
    assert [m.content for m in kept[0].messages] == ["one two", "three four five"]
    assert report.truncated == ["a:9 (12 -> 2 turns)"]
    assert report.tokens_kept == 5 and report.longest_tokens == 5


def test_over_long_drop_and_nothing_fits() -> None:
    kept, report = _clean([_long()], max_tokens=8, over_long="drop")
    assert kept == [] and report.dropped == {"too_long": ["a:9 (12 tokens > 8)"]}
    kept, report = _clean([_long()], max_tokens=3)
    assert kept == [] and report.dropped == {"too_long_no_assistant_turn_fits": ["a:9 (12 tokens > 3)"]}
    assert not report.usable


def test_unknown_over_long_policy_is_refused() -> None:
    with pytest.raises(ValueError, match="over_long"):
        _clean([], over_long="shorten")


def test_report_dict_and_text_show_every_reason() -> None:
    problems = [
        Problem("f.jsonl:2", "not valid JSON; fix or remove the line"),
        Problem("f.txt:1", "x", "ignored_text"),
    ]
    _, report = _clean([_conv("a:1", ("user", "hi"))], problems=problems)
    payload = report.to_dict()
    json.dumps(payload)  # JSON-serialisable as written by `data check --json` and the adapter folder
    assert payload["dropped"] == {"one_sided": {"count": 1, "examples": ["a:1"]}}
    assert payload["problems"]["by_kind"] == {"ignored_text": 1, "malformed": 1}
    assert payload["usable"] is False and payload["input_failed"] is True
    text = report.to_text()
    assert "dropped: one_sided" in text and "f.jsonl:2: not valid JSON" in text
    assert "scrubber recall" in text and "not on your data" in text
    labelled = payload["pii"]["values"]["email"][1]
    assert f"email {labelled}/{labelled}" in text and "0 of 64 clean sentences changed" in text


def test_near_duplicate_search_finds_what_all_pairs_jaccard_finds() -> None:
    rng = random.Random(5)
    vocabulary = [f"w{i}" for i in range(500)]
    texts = [" ".join(rng.choices(vocabulary, k=60)) for _ in range(300)]
    for index in range(0, 300, 10):  # 30 near-copies with one word changed
        words = texts[index].split()
        words[rng.randrange(60)] = "changed"
        texts.append(" ".join(words))
    sets = [shingles(text) for text in texts]
    expected = {}
    for index in range(len(texts)):
        for other in range(index):
            if other not in expected and jaccard(sets[index], sets[other]) >= 0.85:
                expected[index] = other
                break
    assert len(expected) == 30
    assert near_duplicates(texts, 0.85) == expected
