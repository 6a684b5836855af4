"""Splits a parsed document's sections into chunks that fit the embedding model, with exact offsets.

Sizes are counted in the embedding model's own tokens with LangChain's
`RecursiveCharacterTextSplitter` (paragraphs, then lines, sentences, words, characters). Every
chunk is checked against the limit with one batched tokenizer call, and any chunk still over it is
split again, so the limit holds for any text. This module knows nothing about files or storage.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from langchain_text_splitters import RecursiveCharacterTextSplitter

from ingest.document import Chunk, ParsedDocument, Section

# Coarsest first; separators stay at the end of the piece they close ("keep_separator='end'"), so
# pieces are contiguous stretches of the section and a chunk never starts with ". ".
SEPARATORS = ["\n\n", "\n", ". ", "? ", "! ", "; ", ", ", " ", ""]
# Each extra pass shrinks the target by this factor; a few passes reach single characters.
_SHRINK = 0.75
_MAX_PASSES = 12
# Sections longer than this are chunked one window at a time, so the splitter, its token memo and
# the tokenizer's batch hold one window (~16k tokens) instead of a whole file. Chunks never span two
# windows; below this size nothing changes.
WINDOW_CHARS = 65_536


def token_limit(tokenizer: Any, *, chunk_tokens: int, max_tokens: int) -> int:
    """Largest chunk in tokens: the configured size, capped by the model's window minus [CLS]/[SEP]."""
    return max(1, min(chunk_tokens, max_tokens - tokenizer.num_special_tokens_to_add(pair=False)))


def token_counter(tokenizer: Any) -> Callable[[str], int]:
    """Count `text`'s tokens as LangChain's `from_huggingface_tokenizer` does, memoised.

    The splitter asks for the same pieces' lengths many times (once to split, again to merge);
    the memo answers repeats for free. `tokenize` is used rather than the Rust backend directly
    because a sentence-transformers tokenizer's backend may be left padding to 128 tokens.
    """
    memo: dict[str, int] = {}

    def count(text: str) -> int:
        known = memo.get(text)
        if known is None:
            # verbose=False: a whole section is measured before it is split, which is not the
            # "sequence too long for the model" mistake the tokenizer would warn about.
            known = memo[text] = len(tokenizer.tokenize(text, verbose=False))
        return known

    return count


def chunk_document(
    document: ParsedDocument, tokenizer: Any, *, chunk_tokens: int, overlap_tokens: int, max_tokens: int
) -> list[Chunk]:
    """Split every section into chunks of at most `token_limit(...)` tokens, in reading order.

    A `whole` section (an FAQ pair) stays one chunk when it fits. Overlap is capped at half the
    limit so a small model window cannot make it exceed the chunk size.
    """
    limit = token_limit(tokenizer, chunk_tokens=chunk_tokens, max_tokens=max_tokens)
    overlap = min(overlap_tokens, limit // 2)
    chunks: list[Chunk] = []
    for section in document.sections:
        for window in _windows(section):
            count = token_counter(tokenizer)  # one memo per window: memory stays bounded on huge files
            if window.whole and count(window.text) <= limit:
                spans = _locate(window, [window.text.strip()])
            else:
                spans = _locate(window, _splitter(limit, overlap, count).split_text(window.text))
            chunks.extend(
                Chunk(
                    text=part.text[start:end],
                    title=document.title,
                    headings=part.headings,
                    page=part.page,
                    start=part.start + start,
                    end=part.start + end,
                )
                for part, start, end in _enforce_limit(spans, tokenizer, limit, count)
            )
    return chunks


def _windows(section: Section) -> Iterator[Section]:
    """The section itself, or for a very long one (a 50 MB log), consecutive windows of at most
    `WINDOW_CHARS`, cut at a paragraph break, else a line break, else a space where there is one."""
    text, start = section.text, 0
    if len(text) <= WINDOW_CHARS:
        yield section
        return
    while start < len(text):
        end = len(text)
        if end - start > WINDOW_CHARS:
            end = start + WINDOW_CHARS
            for separator in ("\n\n", "\n", " "):
                cut = text.rfind(separator, start + WINDOW_CHARS // 2, end)
                if cut > 0:
                    end = cut + len(separator)
                    break
        yield Section(
            text=text[start:end], headings=section.headings, page=section.page, start=section.start + start
        )
        start = end


def _splitter(limit: int, overlap: int, count: Callable[[str], int]) -> RecursiveCharacterTextSplitter:
    return RecursiveCharacterTextSplitter(
        separators=SEPARATORS,
        keep_separator="end",
        chunk_size=limit,
        chunk_overlap=min(overlap, limit - 1),
        length_function=count,
        strip_whitespace=True,
    )


def _locate(section: Section, pieces: list[str]) -> list[tuple[Section, int, int]]:
    """Find each piece's (start, end) in the section text; pieces come in order and may overlap.

    A chunk starts after the previous chunk's start and ends after its end; the earliest match
    meeting both is taken, which is never later than the true place, so every chunk is found. Where
    a passage repeats inside one section, a chunk may be placed on an earlier identical copy; the
    text at the offsets still equals the chunk.
    """
    spans = []
    previous_start, previous_end = -1, 0
    for piece in pieces:
        if not piece:
            continue
        start = section.text.find(piece, max(previous_start + 1, previous_end - len(piece) + 1))
        if start < 0:
            raise AssertionError(f"chunk text not found in its section: {piece[:60]!r}")
        previous_start, previous_end = start, start + len(piece)
        spans.append((section, start, previous_end))
    return spans


def _enforce_limit(
    spans: list[tuple[Section, int, int]], tokenizer: Any, limit: int, count: Callable[[str], int]
) -> list[tuple[Section, int, int]]:
    """Re-split, with ever smaller targets, any chunk whose true token count exceeds the limit.

    Counting pieces separately can undercount a joined chunk (a word cut by the character
    separator tokenizes differently once rejoined), so the check uses the joined text.
    """
    target = limit
    for _ in range(_MAX_PASSES):
        texts = [section.text[start:end] for section, start, end in spans]
        lengths = _count_batch(tokenizer, texts)
        if all(length <= limit for length in lengths):
            return spans
        target = max(1, int(target * _SHRINK))
        splitter = _splitter(target, 0, count)
        fixed: list[tuple[Section, int, int]] = []
        for (section, start, end), length in zip(spans, lengths, strict=True):
            if length <= limit:
                fixed.append((section, start, end))
                continue
            sub = Section(text=section.text[start:end], headings=section.headings, page=section.page)
            fixed.extend(
                (section, start + s, start + e) for _, s, e in _locate(sub, splitter.split_text(sub.text))
            )
        spans = fixed
    raise AssertionError(f"could not bring every chunk under {limit} tokens in {_MAX_PASSES} passes")


def _count_batch(tokenizer: Any, texts: list[str]) -> list[int]:
    """Exact token counts of many texts in one batched call, without special tokens."""
    if not texts:
        return []
    encoded = tokenizer(texts, add_special_tokens=False, padding=False, truncation=False, verbose=False)
    return [len(ids) for ids in encoded["input_ids"]]
