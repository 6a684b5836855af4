"""Cleans model output into an answer: no source fences, no chat control tokens, only citations of sources shown.

A small model reading fenced sources sometimes copies the fence (`<<<SOURCE [1] Returns > ...>>>`) or
runs past its turn into the next one (`<|im_start|>user ...`). So, in the model's text:

- a source *header* (the opening fence line) is removed and the text after it kept: the model may go
  on to quote the source, which is still an answer;
- a *closing* fence or a chat control token ends the answer: what follows is the next source or a turn
  the model invented, never the answer;
- a citation `[n]` of a number that was not shown is removed (`[1, 7]` with 4 sources becomes `[1]`);
- a sentence (or a line) that repeats one already in the answer ends it: a small model that starts looping
  ("The is the. The is the. ...") has nothing more to say, and a repeat adds nothing a reader needs;
  so does a run of words said a third time in a row inside a sentence ("Max Max Max ...").

`clean()` does this to a whole answer; `AnswerFilter` does the same to a stream, holding back only a
tail that could still become one of these (`<<<SO`, `[1`, trailing blanks, a sentence so far that an
earlier one starts with, words that repeat the words just before them), so a streamed answer never shows part of a fence or of a repeat and its pieces
join to exactly `clean()` of the whole text. `cited_numbers()`
says which sources an answer cites, `mark_cited()` marks them. Knows nothing about models or retrieval beyond the prompt's markers.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

import regex  # the `re` module cannot report a match cut off by the end of the text (`partial=True`)

from assistant.answer import Source
from assistant.prompts import SOURCE_CLOSE, SOURCE_OPEN, SPECIAL_TOKENS

_CITATION = r"\[\d{1,3}(?:[ \t]*,[ \t]*\d{1,3}){0,7}\]"
# Longer than any marker (blanks before a citation count) except a source header, which starts with `<<`.
_TAIL_CHARS = 128
# A sentence ends at . ! or ? before a blank, or where its line ends: "The source is:" said on a line of its own
# again and again, a link between, is a loop like any other.
_SENTENCE_END = regex.compile(r"[.!?]+(?=\s)|(?<=[^\s.!?])(?=[ \t]*\n)")
MIN_REPEAT_WORDS = 3  # "Yes." or "I see." may honestly come twice; a longer sentence does not
# A run of up to MAX_LOOP_WORDS words said LOOP_TIMES times in a row is a loop ("with a light with a light
# with a light"); twice may be honest ("very, very hot").
LOOP_TIMES = 3
MAX_LOOP_WORDS = 8
_WORD = regex.compile(r"\w+")


def _fence(marker: str) -> str:
    """`<<<END SOURCE` as a pattern that also takes `<<END  source` (two or more brackets, any case)."""
    words = marker.lstrip("<").split()
    return r"<{2,}[ \t]*" + r"[ \t]+".join(regex.escape(word) for word in words) + r"\b"


def stop_strings(special_tokens: Sequence[str] = ()) -> tuple[str, ...]:
    """What the generator should stop at: the closing fence and the start of any `<|...|>` control token,
    plus the model's own control tokens (most are skipped when decoding, but a backend may print them)."""
    return tuple(dict.fromkeys((SOURCE_CLOSE, "<|", *special_tokens)))


def _markers(special_tokens: Sequence[str]) -> regex.Pattern[str]:
    literal = "|".join(regex.escape(token) for token in sorted(special_tokens, key=len, reverse=True))
    control = SPECIAL_TOKENS.pattern + (f"|{literal}" if literal else "")
    return regex.compile(
        rf"(?P<end>{_fence(SOURCE_CLOSE)}|{control})"
        # The header runs to its `>>>`; a single `>` inside is the section separator ("Returns > Fees").
        rf"|(?P<header>{_fence(SOURCE_OPEN)}(?:[^\n>]|>(?!>))*(?:>{{2,3}}[ \t]*\n?|\n))"
        rf"|(?P<cite>[ \t]{{0,8}}{_CITATION})",
        regex.IGNORECASE,
    )


def _shown_only(citation: str, shown: int) -> str:
    """A citation with the numbers outside 1..shown removed; empty (with its leading blank) when none is left."""
    numbers = [int(number) for number in regex.findall(r"\d+", citation)]
    kept = [number for number in dict.fromkeys(numbers) if 1 <= number <= shown]
    if not kept:
        return ""
    lead = citation[: len(citation) - len(citation.lstrip(" \t"))]
    return lead + "".join(f"[{number}]" for number in kept)


def _scan(text: str, markers: regex.Pattern[str], shown: int, final: bool) -> tuple[str, bool]:
    """(clean text, ended). A marker that could still grow at the end of an unfinished text is held back
    (left out); at the end of the answer an unfinished marker is dropped, and that ends the answer."""
    out: list[str] = []
    position = 0
    while True:
        match = markers.search(text, position)
        limit = match.start() if match else len(text)
        unfinished = _unfinished(text, markers, max(position, text.rfind("\n", 0, limit) + 1), limit)
        if unfinished is not None:
            return "".join(out) + text[position:unfinished], final
        if match is None:
            return "".join(out) + text[position:], False
        out.append(text[position : match.start()])
        if match.lastgroup == "end":
            return "".join(out), True
        if match.end() == len(text) and not final:
            return "".join(out), False  # `>>` may yet become `>>>`, `[1]` the start of `[1, 2]`
        if match.lastgroup == "cite":
            out.append(_shown_only(match.group(), shown))
        position = match.end()


def _unfinished(text: str, markers: regex.Pattern[str], start: int, stop: int) -> int | None:
    """The first position in start..stop where a marker begins that the end of `text` cuts off. Every
    marker fits on one line, so callers search only the last line; only a header can be longer than
    `_TAIL_CHARS`, and it starts with `<<`."""
    headers = {index for index in range(start, stop) if text.startswith("<<", index)}
    for position in sorted(headers.union(range(max(start, len(text) - _TAIL_CHARS), stop))):
        match = markers.match(text, position, partial=True)
        if match is not None and match.partial:
            return position
    return None


def _without_repeats(text: str, final: bool) -> tuple[str, bool]:
    """(text up to the first sentence that repeats an earlier one, whether one did). While the text is not
    final, its unfinished last sentence is held back when an earlier sentence starts with it."""
    seen: set[str] = set()
    start = 0
    for match in _SENTENCE_END.finditer(text):
        key = _sentence_key(text[start : match.end()])
        if _repeats(key, seen):
            return text[:start].rstrip(), True
        seen.add(key)
        start = match.end()
    tail = _sentence_key(text[start:])
    if final:
        return (text[:start].rstrip(), True) if _repeats(tail, seen) else (text, False)
    if tail and any(_long_enough(earlier) and earlier.startswith(tail) for earlier in seen):
        return text[:start], False
    return text, False


def _repeats(key: str, seen: set[str]) -> bool:
    return _long_enough(key) and key in seen


def _long_enough(key: str) -> bool:
    return len(key.split()) >= MIN_REPEAT_WORDS


def _sentence_key(sentence: str) -> str:
    return " ".join(sentence.lower().split())


def _without_loops(text: str, final: bool) -> tuple[str, bool]:
    """(text before the second saying of the first run of words to be said `LOOP_TIMES` times in a row,
    whether there was one). While the text is not final, a tail repeating the words just before it waits:
    it may become a loop. Runs are followed word by word, so the first loop found is the first to complete,
    in a stream as in the whole text."""
    spans = [match.span() for match in _WORD.finditer(text)]
    words = [text[start:end].lower() for start, end in spans]
    # A word the text ends in may still grow ("ligh" -> "light"): only a final text's last word is whole.
    whole = len(words) - int(not final and bool(spans) and spans[-1][1] == len(text))
    runs = [0] * (MAX_LOOP_WORDS + 1)  # runs[size]: words so far each equal to the one `size` before it
    for k in range(1, whole):
        sizes = range(1, min(MAX_LOOP_WORDS, k) + 1)
        for size in sizes:
            runs[size] = runs[size] + 1 if words[k] == words[k - size] else 0
        seconds = [k - runs[size] + 1 for size in sizes if runs[size] >= (LOOP_TIMES - 1) * size]
        if seconds:
            return text[: spans[min(seconds)][0]].rstrip(), True
    if final:
        return text, False
    held = []
    for size in range(1, MAX_LOOP_WORDS + 1):
        k = len(words) - 1
        while k >= size and _may_repeat(words[k], words[k - size], growing=k >= whole):
            k -= 1
        if k < len(words) - 1:
            held.append(k + 1)
    return (text[: spans[min(held)][0]], False) if held else (text, False)


def _may_repeat(word: str, earlier: str, *, growing: bool) -> bool:
    return earlier.startswith(word) if growing else word == earlier


def _answer(text: str, markers: regex.Pattern[str], shown: int, final: bool) -> tuple[str, bool]:
    """(clean text so far, ended): markers handled, then repeated sentences, then loops of words."""
    cleaned, ended = _scan(text, markers, shown, final)
    cleaned, repeated = _without_repeats(cleaned, final or ended)
    cleaned, looped = _without_loops(cleaned, final or ended or repeated)
    return cleaned, ended or repeated or looped


def clean(text: str, shown: int, special_tokens: Sequence[str] = ()) -> str:
    """The answer in a model's whole output, given how many sources (numbered from 1) the model was shown."""
    return _answer(text, _markers(special_tokens), shown, final=True)[0].strip()


class AnswerFilter:
    """`feed` each streamed piece and send what it returns; `flush` once at the end; `text` is all sent."""

    def __init__(self, shown: int, special_tokens: Sequence[str] = ()) -> None:
        self._markers = _markers(special_tokens)
        self._shown = shown
        self._raw = ""
        self.text = ""
        self.ended = False  # a closing fence, a control token or a repeat was seen: nothing after it is sent

    def feed(self, piece: str) -> str:
        if self.ended:
            return ""
        self._raw += piece
        return self._send(final=False)

    def flush(self) -> str:
        return "" if self.ended else self._send(final=True)

    def _send(self, final: bool) -> str:
        cleaned, self.ended = _answer(self._raw, self._markers, self._shown, final)
        # Blanks at the end wait for the text after them: the answer's last blanks are never sent.
        cleaned = cleaned.strip() if final or self.ended else cleaned.lstrip().rstrip()
        if not cleaned.startswith(self.text):
            return ""  # cannot happen with the markers above; never take back what was sent
        new = cleaned[len(self.text) :]
        self.text = cleaned
        return new


def cited_numbers(text: str) -> set[int]:
    """The source numbers an answer cites as `[n]` or `[n, m]`."""
    return {
        int(number)
        for citation in regex.findall(_CITATION, text)
        for number in regex.findall(r"\d+", citation)
    }


def mark_cited(sources: Sequence[Source], text: str) -> list[Source]:
    """The sources, each with `cited` saying whether `text` cites its number."""
    cited = cited_numbers(text)
    return [replace(source, cited=source.number in cited) for source in sources]
