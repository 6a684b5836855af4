"""Puts a chunk's document title and heading path in front of its text, inside the embedder's token limit.

A section's text often leaves out what it is about ("Opened items: 30 days" under "Returns"), so
the model reads "title > headings" first. The room for that line is taken from the chunk size
before chunking, so the text after it is never cut off by the model's window; a heading path
longer than a quarter of the window is itself shortened to that quarter.
Knows nothing about files or storage.
"""

from __future__ import annotations

from typing import Any

from ingest.document import Chunk, ParsedDocument

CONTEXT_SHARE = 4  # the context line may use at most 1/CONTEXT_SHARE of the model's window


def context_line(title: str, headings: tuple[str, ...]) -> str:
    return " > ".join(part for part in (title, *headings) if part)


def context_budget(document: ParsedDocument, tokenizer: Any, max_tokens: int) -> int:
    """Tokens to keep free in every chunk of `document` for its longest context line (and its newline)."""
    lines = {context_line(document.title, section.headings) for section in document.sections}
    longest = max((len(tokenizer.tokenize(line, verbose=False)) for line in lines if line), default=0)
    return min(longest + 1, max_tokens // CONTEXT_SHARE) if longest else 0


def embedding_text(chunk: Chunk, tokenizer: Any, budget: int) -> str:
    """What the model reads for a chunk: its context line, cut to `budget` - 1 tokens, then its text."""
    line = context_line(chunk.title, chunk.headings)
    if not line or budget <= 1:
        return chunk.text
    tokens = tokenizer.tokenize(line, verbose=False)
    if len(tokens) > budget - 1:
        line = tokenizer.convert_tokens_to_string(tokens[: budget - 1])
    return f"{line}\n{chunk.text}"
