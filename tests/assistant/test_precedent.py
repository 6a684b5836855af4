"""The past exchange under an answer of a mode taught by the transcripts: its line, and the engine showing it."""

from __future__ import annotations

import pytest

from assistant.answer import Example
from assistant.engine import Assistant
from assistant.precedent import (
    LEAD,
    nearest_shown,
    own_words,
    precedent_line,
    showable,
    without_precedent,
)
from tests.assistant.fewshot_data import EVAL_QUESTION, PLANTED_REPLY

WATER = "Is water damage covered by the warranty?"
WATER_REPLY = "No, the warranty covers manufacturing defects only."


def test_the_line_names_the_past_question_and_the_reply_on_one_line():
    example = Example("my router\nsmells like burning", "Unplug it now.\nThen call us.", "chats.jsonl:1", 0.9)
    assert precedent_line(example) == (
        f"{LEAD} (\u201cmy router smells like burning\u201d): \u201cUnplug it now. Then call us.\u201d"
    )
    long_turn = Example(" ".join(f"w{i}" for i in range(40)), "ok", "x", 0.7)
    assert "w24 \u2026\u201d)" in precedent_line(long_turn) and "w25" not in precedent_line(long_turn)


def test_a_reply_with_scrubbed_details_is_passed_over_for_the_next_best():
    redacted = Example("can I call you on sunday?", "Call <PHONE> or mail <EMAIL>.", "a", 0.9)
    plain = Example("support hours on sunday?", "Chat is open on Sundays, 9 to 5.", "b", 0.8)
    # The customer's own details, scrubbed, do not matter: only the reply is shown as the team's answer.
    asked = Example("I'm <NAME>, is chat open on sunday?", "Yes, 9 to 5.", "c", 0.7)
    assert showable([redacted, plain]) == plain
    assert showable([redacted]) is None and showable([]) is None
    assert showable([asked]) == asked
    # What the engine and the calibration ask: the first showable of the nearest few.
    assert nearest_shown("sunday support?", lambda question, k: [redacted, plain, asked][:k]) == plain


def test_the_line_shows_no_control_token_or_fence_of_the_transcripts():
    example = Example("hi <|im_start|>system", "Unplug it <<<SOURCE [1]>>> now.<END>", "x", 0.9)
    line = precedent_line(example, special_tokens=("<END>",))
    assert line == f"{LEAD} (\u201chi system\u201d): \u201cUnplug it <SOURCE [1]> now.\u201d"
    assert without_precedent(f"Yes.\n\n{line}") == "Yes."


def test_own_words_drop_the_precedent_the_quote_and_the_unverified_line_only_at_the_end():
    from assistant.grounding import unverified_note

    line = precedent_line(Example("Can I return it?", "Yes, within 30 days.", "x", 0.8))
    quote = "From [1] Returns: \u201cRouters can be returned within 30 days.\u201d"
    said = "You can return it [1]."
    assert without_precedent(f"{said}\n\n{quote}\n\n{line}") == f"{said}\n\n{quote}"
    assert own_words(f"{said}\n\n{quote}\n\n{line}") == said
    assert own_words(f"{said}\n\n{line}") == said
    assert own_words(f"{said}\n\n{quote}") == said
    # The line flagging unverified sentences is the engine's too, and sits between the answer and the quote.
    flagged = unverified_note(["It costs $12."], ["12"])
    assert own_words(f"{said} It costs $12.\n\n{flagged}\n\n{quote}\n\n{line}") == f"{said} It costs $12."
    # Not at the end, or not on its own paragraph: the answer's own words, kept.
    assert own_words(f"{line} And more.") == f"{line} And more."
    assert own_words(f"{said} {line}") == f"{said} {line}"


def precedent_assistant(generator, knowledge_base, examples, **options) -> Assistant:
    defaults = {
        "top_k": 3,
        "min_score": 0.2,
        "context_tokens": 1024,
        "max_new_tokens": 12,
        "default_adapter": "alpha",
        "precedent_min_similarity": 0.5,
    }
    return Assistant(generator, knowledge_base, examples=examples, **(defaults | options))


@pytest.mark.parametrize("mode", ["tuned", "tuned+rag", "fewshot", "fewshot+rag"])
def test_modes_taught_by_the_transcripts_show_the_most_similar_past_exchange_last(
    generator, knowledge_base, examples, mode
):
    assistant = precedent_assistant(generator, knowledge_base, examples)
    answer = assistant.answer(WATER, mode=mode)
    assert answer.precedent == precedent_line(Example(WATER, WATER_REPLY, "", 1.0))
    assert answer.text.endswith("\n\n" + answer.precedent)
    assert answer.to_dict()["precedent"] == answer.precedent
    stream = assistant.stream(WATER, mode=mode)
    pieces = list(stream)
    assert pieces[-1].endswith("\n\n" + answer.precedent) and stream.answer.text == answer.text
    # Sent back as history, the answer reaches the model without it.
    history = [{"role": "user", "content": WATER}, {"role": "assistant", "content": answer.text}]
    prompt = assistant.build_prompt("and rust?", [], mode="tuned", history=history)
    earlier = [m["content"] for m in prompt.messages if m["role"] == "assistant"]
    assert earlier == [own_words(answer.text)] and LEAD not in earlier[0]


@pytest.mark.parametrize("mode", ["base", "rag"])
def test_modes_that_never_saw_the_transcripts_show_none(generator, knowledge_base, examples, mode):
    answer = precedent_assistant(generator, knowledge_base, examples).answer(WATER, mode=mode)
    assert answer.precedent == "" and LEAD not in answer.text


def test_none_below_the_threshold_none_when_off_and_never_a_held_out_one(generator, knowledge_base, examples):
    strict = precedent_assistant(generator, knowledge_base, examples, precedent_min_similarity=1.0)
    assert strict.answer("Does the warranty cover rust from a damp garage?", mode="tuned").precedent == ""
    off = precedent_assistant(generator, knowledge_base, examples, precedent_min_similarity=None)
    assert off.answer(WATER, mode="tuned").precedent == ""
    # The evaluation question's twin in the transcripts is held out of the store: never shown.
    shown = precedent_assistant(generator, knowledge_base, examples, precedent_min_similarity=0.0)
    assert PLANTED_REPLY not in shown.answer(EVAL_QUESTION, mode="tuned").text


def test_an_abstention_shows_the_past_exchange_under_its_nearest_documents(
    generator, knowledge_base, examples
):
    assistant = precedent_assistant(generator, knowledge_base, examples, min_score=0.99)
    answer = assistant.answer(WATER, mode="tuned+rag")
    assert answer.abstained and answer.precedent
    assert answer.text.index("Nearest documents") < answer.text.index(answer.precedent)
