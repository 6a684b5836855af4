"""Turn a conversation into model inputs whose labels train only on the assistant's turns.

The text comes from the tokenizer's own chat template (`apply_chat_template`), so training sees
exactly the format the model is prompted with. Labels are -100 everywhere except on the tokens of
each assistant turn's content and its end-of-turn token: the model learns to answer and to stop,
never to imitate the customer or the system prompt. Turn spans are found by rendering growing
prefixes of the conversation, which works for templates without `{% generation %}` markers.
This module knows nothing about files, cleaning or training loops.
"""

from __future__ import annotations

from finetune.conversation import Conversation

IGNORE_INDEX = -100  # the label value PyTorch's cross-entropy skips


def tokenize_conversation(
    conversation: Conversation, tokenizer, *, max_tokens: int, last_turn_only: bool = False
) -> dict[str, list[int]]:
    """`{"input_ids", "attention_mask", "labels"}` for one conversation, at most `max_tokens` long.

    A conversation that is too long keeps whole turns from the start, ending after an assistant
    turn. When not even the first assistant turn fits, every list is empty: drop the sample.
    `last_turn_only` trains on the final assistant turn alone (a prompt whose earlier turns are context)
    and never cuts: a sample that does not fit whole is empty.
    """
    messages = conversation.to_openai()["messages"]
    ends = _assistant_ends(messages)
    for end in ends[:1] if last_turn_only else ends:
        text, spans = _render(messages[:end], tokenizer)
        spans = spans[-1:] if last_turn_only else spans
        encoded = tokenizer(text, add_special_tokens=False, return_offsets_mapping=True)
        if len(encoded["input_ids"]) <= max_tokens:
            return {
                "input_ids": list(encoded["input_ids"]),
                "attention_mask": [1] * len(encoded["input_ids"]),
                "labels": _labels(encoded["input_ids"], encoded["offset_mapping"], spans),
            }
    return {"input_ids": [], "attention_mask": [], "labels": []}


def count_tokens(conversation: Conversation, tokenizer) -> int:
    """Length of the whole conversation in the chat template, in tokens."""
    text = tokenizer.apply_chat_template(conversation.to_openai()["messages"], tokenize=False)
    return len(tokenizer(text, add_special_tokens=False)["input_ids"])


def _assistant_ends(messages: list[dict]) -> list[int]:
    """Prefix lengths to try, longest first: the whole conversation, then each cut after an assistant turn."""
    cuts = [i + 1 for i, message in enumerate(messages) if message["role"] == "assistant"]
    whole = [len(messages)] if cuts else []
    return whole + [cut for cut in reversed(cuts) if cut != len(messages)]


def _render(messages: list[dict], tokenizer) -> tuple[str, list[tuple[int, int]]]:
    """The template text and the character spans (content + end-of-turn token) of the assistant turns.

    Rendering the conversation up to each turn gives the turn's stretch of text; the content sits
    just before the turn's last end-of-turn token.
    """
    text = tokenizer.apply_chat_template(messages, tokenize=False)
    eos = tokenizer.eos_token or ""
    spans = []
    for index, message in enumerate(messages):
        if message["role"] != "assistant":
            continue
        turn_start = len(tokenizer.apply_chat_template(messages[:index], tokenize=False)) if index else 0
        turn_end = len(tokenizer.apply_chat_template(messages[: index + 1], tokenize=False))
        content = message["content"]
        eot = text.rfind(eos, turn_start, turn_end) if eos else -1
        if eot >= 0 and text[eot - len(content) : eot] == content:
            spans.append((eot - len(content), eot + len(eos)))
        else:
            # A template that rewrites the content or has no end token: the content as found, to the turn's end.
            found = text.rfind(content, turn_start, turn_end)
            spans.append((found if found >= 0 else turn_start, turn_end))
    return text, spans


def _labels(input_ids: list[int], offsets: list[tuple[int, int]], spans: list[tuple[int, int]]) -> list[int]:
    labels = [IGNORE_INDEX] * len(input_ids)
    for position, (token_start, token_end) in enumerate(offsets):
        if token_end > token_start and any(start <= token_start < end for start, end in spans):
            labels[position] = input_ids[position]
    return labels
