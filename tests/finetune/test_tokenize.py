"""Assistant-only labels with the real SmolLM2 chat template, and whole-turn truncation."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from finetune.conversation import Conversation, Message
from finetune.tokenize import IGNORE_INDEX, count_tokens, tokenize_conversation

CONVERSATION = Conversation(
    (
        Message("system", "You are Brightwave Support."),
        Message("user", "My Halo light is solid amber."),
        Message("assistant", "Sorry about that! Please restart the modem, then the router."),
        Message("user", "Done, still amber. Now what?"),
        Message("assistant", "Check the WAN cable is in the WAN port.\n\nIs it?"),
    ),
    "t:1",
)


def _labelled_runs(sample: dict[str, list[int]]) -> list[list[int]]:
    """Consecutive runs of labelled token ids."""
    runs: list[list[int]] = []
    previous = False
    for token, label in zip(sample["input_ids"], sample["labels"], strict=True):
        if label != IGNORE_INDEX:
            assert label == token
            if not previous:
                runs.append([])
            runs[-1].append(token)
        previous = label != IGNORE_INDEX
    return runs


def test_only_assistant_content_and_end_token_are_labelled(chat_tokenizer) -> None:
    sample = tokenize_conversation(CONVERSATION, chat_tokenizer, max_tokens=512)

    assert len(sample["input_ids"]) == len(sample["labels"]) == len(sample["attention_mask"])
    assert set(sample["attention_mask"]) == {1}
    # The ids are exactly the model's own chat template.
    template = chat_tokenizer.apply_chat_template(CONVERSATION.to_openai()["messages"], tokenize=False)
    assert chat_tokenizer.decode(sample["input_ids"]) == template
    runs = [chat_tokenizer.decode(run) for run in _labelled_runs(sample)]
    eos = chat_tokenizer.eos_token
    assert runs == [m.content + eos for m in CONVERSATION.messages if m.role == "assistant"]
    unlabelled = chat_tokenizer.decode(
        [
            token
            for token, label in zip(sample["input_ids"], sample["labels"], strict=True)
            if label == IGNORE_INDEX
        ]
    )
    for message in CONVERSATION.messages:
        if message.role != "assistant":
            assert message.content in unlabelled


def test_count_tokens_matches_the_sample_length(chat_tokenizer) -> None:
    sample = tokenize_conversation(CONVERSATION, chat_tokenizer, max_tokens=512)
    assert count_tokens(CONVERSATION, chat_tokenizer) == len(sample["input_ids"])


def test_truncation_keeps_whole_turns_ending_on_an_assistant_turn(chat_tokenizer) -> None:
    full = count_tokens(CONVERSATION, chat_tokenizer)
    first_answer = Conversation(CONVERSATION.messages[:3], "t:1")
    limit = count_tokens(first_answer, chat_tokenizer)
    assert limit < full

    sample = tokenize_conversation(CONVERSATION, chat_tokenizer, max_tokens=limit)

    assert len(sample["input_ids"]) == limit
    runs = [chat_tokenizer.decode(run) for run in _labelled_runs(sample)]
    assert runs == [CONVERSATION.messages[2].content + chat_tokenizer.eos_token]


def test_sample_without_room_for_an_answer_is_empty(chat_tokenizer) -> None:
    sample = tokenize_conversation(CONVERSATION, chat_tokenizer, max_tokens=20)
    assert sample == {"input_ids": [], "attention_mask": [], "labels": []}
    user_only = Conversation((Message("user", "hello?"),), "t:2")
    assert tokenize_conversation(user_only, chat_tokenizer, max_tokens=512)["input_ids"] == []


def test_conversation_opening_with_the_agent_greeting(chat_tokenizer) -> None:
    greeting = "Hi, thanks for contacting Brightwave Support, my name is Sam. How can I help today?"
    conversation = Conversation(
        (
            Message("assistant", greeting),
            Message("user", "Return a router?"),
            Message("assistant", "Within 30 days."),
        ),
        "t:3",
    )
    sample = tokenize_conversation(conversation, chat_tokenizer, max_tokens=512)
    runs = [chat_tokenizer.decode(run) for run in _labelled_runs(sample)]
    assert runs == [greeting + chat_tokenizer.eos_token, "Within 30 days." + chat_tokenizer.eos_token]


# Byte-level BPE round-trips these; the masking itself does not depend on the alphabet.
_TEXT = st.text(st.characters(max_codepoint=0x2FFF, exclude_categories=("Cs", "Cc")), min_size=1, max_size=40)
_TEXT = _TEXT.map(str.strip).filter(bool)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(turns=st.lists(st.tuples(st.sampled_from(["user", "assistant"]), _TEXT), min_size=1, max_size=6))
def test_labels_are_exactly_the_assistant_turns_for_any_text(chat_tokenizer, turns) -> None:
    conversation = Conversation(tuple(Message(role, text) for role, text in turns), "h:1")
    sample = tokenize_conversation(conversation, chat_tokenizer, max_tokens=4096)
    expected = [text + chat_tokenizer.eos_token for role, text in turns if role == "assistant"]
    assert [chat_tokenizer.decode(run) for run in _labelled_runs(sample)] == expected
