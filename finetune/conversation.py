"""The unit of training data: a conversation of role-tagged messages, with where it came from.

Loaders produce these, cleaning filters and rewrites them, the tokenizer turns them into ids.
This module holds data only and knows no file format, tokenizer or model.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Literal

Role = Literal["system", "user", "assistant"]
ROLES: tuple[Role, ...] = ("system", "user", "assistant")


@dataclass(frozen=True)
class Message:
    role: Role
    content: str


@dataclass(frozen=True)
class Conversation:
    """Messages in order; `origin` names the source as `file:line` (or `file[item]` for JSON arrays)."""

    messages: tuple[Message, ...]
    origin: str

    def to_openai(self) -> dict:
        """The OpenAI fine-tuning shape: `{"messages": [{"role": ..., "content": ...}, ...]}`."""
        return {"messages": [{"role": m.role, "content": m.content} for m in self.messages]}

    def content_hash(self) -> str:
        """sha256 of the roles and contents only: equal for equal conversations from different files."""
        canonical = json.dumps(self.to_openai(), ensure_ascii=False, sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(canonical.encode("utf-8")).hexdigest()
