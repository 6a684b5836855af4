"""Picks the sentences of the top source that answer a question best, to quote under a generated answer.

A 135M-parameter model often words an answer loosely or gets a figure wrong even when its first source
states the fact plainly. Quoting that source's most relevant sentences, verbatim and cited, lets the reader
check the answer against the document in one glance (the "supporting quote" of search assistants) and puts
the fact itself in front of them when the model missed it.

Only the top-ranked source is quoted: hybrid retrieval ranks whole chunks with their titles and headings, a
better judge of which document is right than one sentence's embedding. Within it, sentences are ranked by
the caller's similarity to the question (the embedding model) and quoted in document order. A sentence is
a line of the chunk or a sentence of a line; questions are skipped (an FAQ entry's question states nothing),
and so are fragments too short to state a fact (headings, table rules).

Pure text functions: the similarity comes from the caller.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence

from assistant.answer import Source
from finetune.oracle import sentence_spans

Similarity = Callable[[str, Sequence[str]], Sequence[float]]  # (question, sentences) -> one score each

# A sentence with fewer words than this is a heading or a fragment, not a statement of fact.
MIN_WORDS = 4
_WORD = re.compile(r"\w+")
_MARKUP = re.compile(r"\*\*|__|`")  # bold, underline, code: meaningless once quoted in plain text
_LINE_START = re.compile(r"^(?:[-*+]\s+|\d+[.)]\s+|>\s*|[A-Z]:\s+)")  # bullets, numbering, quotes, FAQ labels
_TABLE_RULE = re.compile(r"^[|:\-\s]+$")
# The quote as `supporting_quote` writes it, at the end of an answer (one line: sentences never span lines).
_QUOTE_AT_END = re.compile(r"\n\nFrom \[\d+\][^\n]*: \u201c[^\n]*\u201d\Z")


def sentences_of(text: str) -> list[str]:
    """The statements of a chunk, in order: each line cut into sentences, markup removed, a table row as its
    cells joined by " | " (one statement however short: "Halo Shield | $49"), headings, questions and short
    fragments left out."""
    found = []
    for raw in text.splitlines():
        line = _MARKUP.sub("", raw).strip()
        if not line or line.startswith("#") or _TABLE_RULE.match(line):
            continue
        if line.startswith("|"):
            cells = [cell.strip() for cell in line.strip("|").split("|") if cell.strip()]
            if len(cells) > 1:
                found.append(" | ".join(cells))
            continue
        line = _LINE_START.sub("", line).strip()
        for begin, end in sentence_spans(line):
            sentence = line[begin:end].strip().strip("*_").strip()
            if len(_WORD.findall(sentence)) >= MIN_WORDS and not sentence.endswith("?"):
                found.append(sentence)
    return found


def pick(sentences: Sequence[str], scores: Sequence[float], count: int) -> list[str]:
    """The `count` best-scored sentences, in their original order; each distinct sentence once."""
    distinct = list(dict.fromkeys(sentences))
    best = dict(zip(sentences, scores, strict=True))
    chosen = set(sorted(distinct, key=lambda sentence: -best[sentence])[:count])
    return [sentence for sentence in distinct if sentence in chosen]


def supporting_quote(
    question: str, answer_text: str, sources: Sequence[Source], similarity: Similarity, count: int
) -> str:
    """One line quoting up to `count` sentences of the first source, e.g. `From [1] Returns policy: "...".`;
    empty when there is no source, no statement in it, or the answer already holds every chosen sentence."""
    if not sources or count <= 0:
        return ""
    top = sources[0]
    sentences = sentences_of(top.text)
    if not sentences:
        return ""
    chosen = pick(sentences, similarity(question, sentences), count)
    said = _plain(answer_text)
    quoted = [sentence for sentence in chosen if _plain(sentence) not in said]
    if not quoted:
        return ""
    title = f" {top.title}" if top.title else ""
    return f"From [{top.number}]{title}: " + " ".join(f"\u201c{sentence}\u201d" for sentence in quoted)


def without_quote(text: str) -> str:
    """`text` less the quote an answer ends with, if any: an earlier answer sent back as history shows the
    model its own words, not a document's sentences it has in front of it again when they matter."""
    return _QUOTE_AT_END.sub("", text)


def _plain(text: str) -> str:
    return " ".join(_WORD.findall(text.lower()))
