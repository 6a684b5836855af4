"""Picks the sentences of the top source that answer a question best, to quote under a generated answer.

A 135M-parameter model often words an answer loosely or gets a figure wrong even when its first source
states the fact plainly. Quoting that source's most relevant sentences, cited, lets the reader
check the answer against the document in one glance (the "supporting quote" of search assistants) and puts
the fact itself in front of them when the model missed it.

Only the top-ranked source is quoted: hybrid retrieval ranks whole chunks with their titles and headings, a
better judge of which document is right than one sentence's embedding. Within it, sentences are ranked by
the caller's similarity to the question (the embedding model) and quoted in document order, with markup
removed. A sentence is one of a paragraph or a list item (lines a PDF wrapped are joined first), or a table
row read with its column names; questions are skipped (an FAQ entry's question states nothing), and so are
headings and fragments too short to state a fact.

Pure text functions: the similarity comes from the caller.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence

from assistant.answer import Source
from assistant.prompts import neutralise

Similarity = Callable[[str, Sequence[str]], Sequence[float]]  # (question, sentences) -> one score each

# A sentence with fewer words than this is a heading or a fragment, not a statement of fact.
MIN_WORDS = 4
# A line at least this long that ends without punctuation was wrapped (PDF, DOCX, soft-wrapped Markdown): the
# next line goes on with its sentence. A shorter one is a heading or a label and stands alone.
WRAPPED_LINE_WORDS = 8
_WORD = re.compile(r"\w+")
# Bold, underline, code and *emphasis* marks: meaningless once quoted in plain text.
_MARKUP = re.compile(r"\*\*|__|`|(?<![\w*])\*(?=[^\s*])|(?<=[^\s*])\*(?![\w*])")
_UNIT_START = re.compile(r"^(?:[-*+]\s+|\d+[.)]\s+|>\s*)")  # a list item or a quoted line starts a new unit
_LABEL = re.compile(r"^[A-Z]:\s+")  # "Q: " / "A: " of an FAQ entry
_TABLE_RULE = re.compile(r"^\|?[\s:|-]*-[\s:|-]*$")
# A sentence ends at . ! or ? followed by a capital, a digit or an opening mark: "9 a.m. to 5" stays whole.
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9\"\u201c(])")
# The quote as `supporting_quote` writes it, at the end of an answer (one line: its sentences hold no break).
_QUOTE_AT_END = re.compile(r"\n\nFrom \[\d+\][^\n]*: \u201c[^\n]*\u201d\s*\Z")


def sentences_of(text: str) -> list[str]:
    """The statements of a chunk, in order: paragraphs and list items (wrapped lines joined) cut into
    sentences, markup removed; a table row as one statement, with its header's names when the table has one
    ("Plan: Halo Shield; Price: $49"). Headings, questions and short fragments are left out."""
    found: list[str] = []
    for unit in _units(text):
        for sentence in _SENTENCE_END.split(unit):
            sentence = _LABEL.sub("", sentence.strip())
            if len(_WORD.findall(sentence)) >= MIN_WORDS and not sentence.endswith("?"):
                found.append(sentence)
    return found


def _units(text: str) -> list[str]:
    """Paragraphs and list items with their wrapped lines joined; table rows as finished statements."""
    units: list[str] = []
    lines = [_MARKUP.sub("", line).strip() for line in text.splitlines()]
    header: list[str] = []
    open_unit = False  # whether the last unit may go on on the next line
    for index, line in enumerate(lines):
        following = lines[index + 1] if index + 1 < len(lines) else ""
        if line.startswith("|") or _TABLE_RULE.match(line) and "|" in line:
            open_unit = False
            cells = [cell.strip() for cell in line.strip("|").split("|")]
            if _TABLE_RULE.match(line):
                continue
            if "|" in following and _TABLE_RULE.match(following):
                header = cells  # the row above the rule names the columns
                continue
            units.append(_table_row(cells, header))
            continue
        header = []
        if not _WORD.search(line) or line.startswith("#"):  # a blank line, a heading or a rule ends a unit
            open_unit = False
            continue
        starts = bool(_UNIT_START.match(line)) or bool(_LABEL.match(line))
        line = _UNIT_START.sub("", line)
        if open_unit and not starts:
            units[-1] = f"{units[-1]} {line}"
        else:
            units.append(line)
        last = units[-1]
        open_unit = not last.endswith((".", "!", "?", ":", ";")) and len(last.split()) >= WRAPPED_LINE_WORDS
    return units


def _table_row(cells: Sequence[str], header: Sequence[str]) -> str:
    if len(header) == len(cells):
        return "; ".join(
            f"{name}: {cell}" if name else cell for name, cell in zip(header, cells, strict=True) if cell
        )
    return " | ".join(cell for cell in cells if cell)


def pick(sentences: Sequence[str], scores: Sequence[float], count: int) -> list[str]:
    """The `count` best-scored sentences, in their original order; each distinct sentence once."""
    distinct = list(dict.fromkeys(sentences))
    best = dict(zip(sentences, scores, strict=True))
    chosen = set(sorted(distinct, key=lambda sentence: -best[sentence])[:count])
    return [sentence for sentence in distinct if sentence in chosen]


def supporting_quote(
    question: str,
    answer_text: str,
    sources: Sequence[Source],
    similarity: Similarity,
    count: int,
    special_tokens: Sequence[str] = (),
) -> str:
    """One line quoting up to `count` sentences of the first source, e.g. `From [1] Returns policy: "...".`;
    empty when there is no source, no statement in it, or the answer already holds every chosen sentence.
    A sentence holding a chat control token (the common templates' or `special_tokens`) or a fence lookalike
    is never quoted: it is markup or an injection planted in the document, not a statement of fact, and an
    answer never shows either."""
    if not sources or count <= 0:
        return ""
    top = sources[0]
    sentences = [
        sentence for sentence in sentences_of(top.text) if neutralise(sentence, special_tokens) == sentence
    ]
    if not sentences:
        return ""
    chosen = pick(sentences, similarity(question, sentences), count)
    said = _plain(answer_text)
    quoted = [sentence for sentence in chosen if _plain(sentence) not in said]
    if not quoted:
        return ""
    title = " ".join(top.title.split())  # one line, so `without_quote` finds it again
    title = f" {title}" if title else ""
    return f"From [{top.number}]{title}: " + " ".join(f"\u201c{sentence}\u201d" for sentence in quoted)


def without_quote(text: str) -> str:
    """`text` less the quote an answer ends with, if any: an earlier answer sent back as history shows the
    model its own words, not a document's sentences it has in front of it again when they matter."""
    return _QUOTE_AT_END.sub("", text)


def _plain(text: str) -> str:
    return " ".join(_WORD.findall(text.lower()))
