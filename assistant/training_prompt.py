"""The tuned+rag prompt for training examples: the engine's own query and prompt builders, over a tokenizer.

Retrieval-augmented fine-tuning (`finetune/raft.py`) and preference training from feedback
(`assistant/preferences.py`) must train on exactly what the model reads at answer time, so they use
this object instead of formatting sources themselves: the retrieval query is
`prompts.retrieval_query` and the messages are `prompts.build_prompt` with the same budget, domain and
special tokens the engine uses. Knows nothing about settings: its builder passes flat values.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from assistant.prompts import Message, build_prompt, retrieval_query


def special_tokens_of(tokenizer: Any) -> list[str]:
    """The model's control tokens, longest first, as the local generator strips them from sources."""
    special = set(tokenizer.all_special_tokens)
    special |= {added.content for added in tokenizer.added_tokens_decoder.values() if added.special}
    return sorted((token for token in special if len(token) > 1), key=len, reverse=True)


class AnswerTimePrompt:
    def __init__(
        self,
        tokenizer: Any,
        *,
        context_tokens: int,
        max_new_tokens: int,
        history_turns: int,
        domain: str,
    ) -> None:
        self.tokenizer = tokenizer
        self.context_tokens = context_tokens
        self.max_new_tokens = max_new_tokens
        self.history_turns = history_turns
        self.domain = domain
        self.special_tokens = special_tokens_of(tokenizer)

    def count_tokens(self, messages: Sequence[Message]) -> int:
        """Prompt length as the local generator counts it: the chat template with the generation prompt."""
        text = self.tokenizer.apply_chat_template(list(messages), tokenize=False, add_generation_prompt=True)
        return len(self.tokenizer(text, add_special_tokens=False)["input_ids"])

    def query(self, question: str, history: Sequence[Message]) -> str:
        return retrieval_query(question, history, self.history_turns)

    def messages(
        self, question: str, history: Sequence[Message], hits: Sequence[Any], *, retrieval: bool = True
    ) -> tuple[list[Message], int]:
        """The messages tuned+rag sends for these hits, and how many of the hits fit in the window;
        `retrieval=False`: the messages of the modes without retrieval (no system prompt, no sources)."""
        prompt = build_prompt(
            question,
            history,
            hits,
            count_tokens=self.count_tokens,
            context_tokens=self.context_tokens,
            max_new_tokens=self.max_new_tokens,
            domain=self.domain,
            retrieval=retrieval,
            special_tokens=self.special_tokens,
        )
        return prompt.messages, len(prompt.sources)
