"""Turns model output and answer data into safe Markdown strings for the app; pure functions, no Streamlit.

Model output is untrusted: a document or a user can steer the model into writing Markdown that, once
rendered, makes the browser fetch a remote image (a tracking pixel, or a URL carrying the conversation
as its query). Raw HTML is never enabled in the app; images are neutralised here by escaping the `[`
of every `![`, which leaves the text readable and makes the Markdown parser treat it as plain text.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import PurePath
from typing import Any

from assistant.evidence import without_quote
from assistant.grounding import UNVERIFIED, UNVERIFIED_LINE_START
from assistant.precedent import without_precedent

_IMAGE_START = re.compile(r"!\[")
_UNVERIFIED_LINE = re.compile("^" + re.escape(UNVERIFIED_LINE_START), re.MULTILINE)
_BOLD_UNVERIFIED_LEAD = f"**{UNVERIFIED}**{UNVERIFIED_LINE_START.removeprefix(UNVERIFIED)}"
SNIPPET_CHARS = 400  # enough to recognise a source without flooding the chat


def neutralise_images(text: str) -> str:
    """`text` with every Markdown image opener `![` escaped to `!\\[`, so no image is ever loaded."""
    return _IMAGE_START.sub(r"!\\[", text)


def safe_pieces(pieces: Iterable[str]) -> Iterator[str]:
    """Neutralise images in streamed text, where `!` and `[` may arrive in different pieces.

    A trailing `!` is held back until the next piece shows whether a `[` follows it.
    """
    pending = ""
    for piece in pieces:
        text = pending + piece
        pending = ""
        if text.endswith("!"):
            text, pending = text[:-1], "!"
        if text:
            yield neutralise_images(text)
    if pending:
        yield pending


def answer_markdown(answer: Mapping[str, Any]) -> str:
    """The text of an `Answer.to_dict()` (or a stored message) as Markdown, images neutralised; the quote of
    its top source and the past exchange it ends with each set apart as a block quote, so the document's and
    the team's words read apart from the model's, and the label of each line flagging unverified sentences
    in bold."""
    text = str(answer.get("answer", ""))
    before_precedent = without_precedent(text)
    body = without_quote(before_precedent)
    parts = [_UNVERIFIED_LINE.sub(_BOLD_UNVERIFIED_LEAD, body)]
    for start, end in ((body, before_precedent), (before_precedent, text)):
        if start != end:
            parts.append(f"> {end[len(start) :].strip()}")
    return neutralise_images("\n\n".join(parts))


def source_label(source: Mapping[str, Any]) -> str:
    """`[n] title — file, page p (score s)` for one source of `Answer.to_dict()["sources"]`, images neutralised."""
    name = PurePath(str(source.get("source", ""))).name or "?"
    title = str(source.get("title") or name)
    page = source.get("page")
    where = f"{name}, page {page}" if page else name
    number = source.get("number")
    prefix = f"[{number}] " if number is not None else ""
    cited = " · cited" if source.get("cited") else ""
    return neutralise_images(
        f"{prefix}{title} — {where} (score {float(source.get('score', 0.0)):.2f}){cited}"
    )


def sources_heading(sources: Sequence[Mapping[str, Any]], *, abstained: bool) -> str:
    """`Sources (4 · 2 cited)`; under an abstaining answer they are the nearest documents, and the one quoted
    under an answer marked unverified is named as quoted, not as having answered."""
    cited = sum(bool(source.get("cited")) for source in sources)
    if abstained and cited:
        return f"Sources ({len(sources)} · nearest documents, {cited} quoted, none confirmed the answer)"
    if abstained:
        return f"Sources ({len(sources)} · nearest documents, none answered the question)"
    return f"Sources ({len(sources)} · {cited} cited)"


def snippet(text: str, limit: int = SNIPPET_CHARS) -> str:
    """The start of a chunk's text, cut at a word boundary, images neutralised."""
    text = " ".join(text.split())
    if len(text) > limit:
        text = text[:limit].rsplit(" ", 1)[0] + " …"
    return neutralise_images(text)


def timing_caption(answer: Mapping[str, Any]) -> str:
    """One line: total time, first token, tokens/s and token counts of an `Answer.to_dict()`."""
    timings = answer.get("timings", {})
    parts = [f"{timings.get('total_ms', 0.0) / 1000:.1f} s total"]
    if answer.get("abstained") and not answer.get("completion_tokens"):
        parts.append("abstained (no relevant document)")
    else:
        if answer.get("abstained"):
            parts.append("abstained (the model declined)")
        parts.append(f"first token {timings.get('first_token_ms', 0.0) / 1000:.1f} s")
        if timings.get("tokens_per_s"):
            parts.append(f"{timings['tokens_per_s']:.1f} tokens/s")
        parts.append(
            f"{answer.get('prompt_tokens', 0)} prompt + {answer.get('completion_tokens', 0)} answer tokens"
        )
    if answer.get("adapter"):
        parts.append(f"adapter {answer['adapter']}")
    return " · ".join(parts)
