"""The answer filter: fences and control tokens never reach an answer, whole or streamed; citations of sources
not shown are removed; the sources say which were cited. The engine passes stop strings and filters both paths."""

from __future__ import annotations

import random

import pytest

from assistant.answer import Source
from assistant.answer_filter import AnswerFilter, clean, mark_cited, stop_strings
from assistant.engine import Assistant
from assistant.prompts import SOURCE_CLOSE, SOURCE_OPEN

HEADER = f"{SOURCE_OPEN} [1] Returns policy > How long you have (returns.md)>>>\n"
ECHO = (
    f"{HEADER}You have 30 days [1] to return it; opened items pay 15% [7].\n"
    f"{SOURCE_CLOSE} [1]>>>\n\n{SOURCE_OPEN} [2] Warranty (warranty.md)>>>\nTwo years."
)
LEAKS = ("<<", ">>", "SOURCE", "<|", "im_start", "[7]")


def streamed(text: str, shown: int, cuts: list[int], special_tokens=()) -> list[str]:
    """What a stream of `text`, cut at `cuts`, sends."""
    answer_filter = AnswerFilter(shown, special_tokens)
    edges = [0, *cuts, len(text)]
    pieces = [answer_filter.feed(text[a:b]) for a, b in zip(edges, edges[1:], strict=False)]
    pieces.append(answer_filter.flush())
    assert "".join(pieces) == answer_filter.text
    return pieces


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (ECHO, "You have 30 days [1] to return it; opened items pay 15%."),
        ("Two years [2].<|im_end|>\n<|im_start|>user\nand water?", "Two years [2]."),
        ("30 days [1, 9] or [3] [2].", "30 days [1] or [2]."),
        (f"It is 30 days.{SOURCE_CLOSE} [1]>>", "It is 30 days."),
        ("See <<<end  source [1]>> the rest", "See"),  # any case, two brackets: still a fence
        ("prices < 40 and >> 5 [a] stay", "prices < 40 and >> 5 [a] stay"),
        (f"Unfinished header at the end {SOURCE_OPEN} [1] Retu", "Unfinished header at the end"),
        ("[0] nothing shown is [1]", "nothing shown is [1]"),
    ],
)
def test_clean_removes_fences_control_tokens_and_unshown_citations(text, expected):
    assert clean(text, 2) == expected


def test_a_fence_split_into_pieces_is_never_sent_not_even_in_part():
    """Every way of cutting the text into two or three pieces, and random small pieces: the joined stream
    is exactly the cleaned whole answer, and no piece carries any part of a fence."""
    whole = clean(ECHO, 2)
    for first in range(1, len(ECHO)):
        assert "".join(streamed(ECHO, 2, [first])) == whole
    for first in range(1, len(ECHO), 7):
        for second in range(first + 1, len(ECHO), 5):
            assert "".join(streamed(ECHO, 2, [first, second])) == whole
    rng = random.Random(0)
    for _ in range(200):
        cuts = sorted(rng.sample(range(1, len(ECHO)), rng.randint(1, len(ECHO) // 2)))
        pieces = streamed(ECHO, 2, cuts)
        assert "".join(pieces) == whole
        assert not any(leak in piece for piece in pieces for leak in LEAKS)


def test_the_stream_holds_back_only_what_could_still_become_a_marker():
    answer_filter = AnswerFilter(2)
    assert answer_filter.feed("You have 30 days <") == "You have 30 days"  # blank and `<` wait
    assert answer_filter.feed("<<SOU") == ""
    assert answer_filter.feed("RCE [1] Returns>>>\nfor a refund") == " for a refund"
    assert answer_filter.feed(" [") == ""
    assert answer_filter.feed("2].") == " [2]."
    assert answer_filter.feed(f"\n{SOURCE_CLOSE} [2]>>>\nmore") == "" and answer_filter.ended
    assert answer_filter.flush() == "" and answer_filter.text == "You have 30 days for a refund [2]."


def test_the_models_own_control_tokens_end_the_answer():
    assert clean("Yes.<file_sep>import os", 1, ["<file_sep>"]) == "Yes."
    assert "".join(streamed("Yes.<file_sep>import os", 1, [5, 8], ["<file_sep>"])) == "Yes."
    stops = stop_strings(["<file_sep>"])
    assert SOURCE_CLOSE in stops and "<|" in stops and "<file_sep>" in stops


LOOP = (
    "Up to 5 household members can join [1]. The owner adds them in the app. "
    "Up to 5 household members can join [1]. The owner adds them"
)

LINE_LOOP = "The answer is: 30 days.\n\nThe source is:\n\nhttps://example.com/a/\n\nThe source is:\n\nhttps://example.com/a/\n\nThe"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (LOOP, "Up to 5 household members can join [1]. The owner adds them in the app."),
        ("The is the. The is the. The is the.", "The is the."),
        ("Yes. Yes. It works now.", "Yes. Yes. It works now."),  # short sentences may come twice
        ("It is 30 days. Is it 30 days? It is 30 DAYS.", "It is 30 days. Is it 30 days?"),
        # A line without end punctuation is a sentence too: a loop of a label and a link between.
        (LINE_LOOP, "The answer is: 30 days.\n\nThe source is:\n\nhttps://example.com/a/"),
        (
            "Steps to follow:\n1. Open the app\n2. Open the app again",
            "Steps to follow:\n1. Open the app\n2. Open the app again",
        ),
    ],
)
def test_a_repeated_sentence_ends_the_answer(text, expected):
    assert clean(text, 2) == expected


def test_a_repeat_is_never_sent_not_even_in_part():
    rng = random.Random(1)
    for text in (LOOP, LINE_LOOP):
        whole = clean(text, 2)
        for _ in range(300):
            cuts = sorted(rng.sample(range(1, len(text)), rng.randint(1, 20)))
            assert "".join(streamed(text, 2, cuts)) == whole
    answer_filter = AnswerFilter(2)
    assert answer_filter.feed("Up to 5 members can join. ") == "Up to 5 members can join."
    assert answer_filter.feed("Up to 5 mem") == ""  # the start of a sentence already said waits
    assert answer_filter.feed("bers can join. More") == "" and answer_filter.ended
    diverging = AnswerFilter(2)
    diverging.feed("Up to 5 members can join. Up to ")
    assert diverging.feed("6 guests too.") == " Up to 6 guests too." and not diverging.ended


WORD_LOOP = "The light is amber. It is a light with a light with a light with a light with a"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (WORD_LOOP, "The light is amber. It is a light with"),
        ("The Max Max Max Max Max Max Max", "The Max"),
        (
            "It is very, very hot and very, very loud.",
            "It is very, very hot and very, very loud.",
        ),  # twice is fine
        ("Card 4111 1111 1111 1111 on file", "Card 4111 1111"),
        ("Hold it for 10 seconds, then 10 more [1].", "Hold it for 10 seconds, then 10 more [1]."),
    ],
)
def test_a_run_of_words_said_a_third_time_in_a_row_ends_the_answer(text, expected):
    assert clean(text, 2) == expected


def test_a_loop_of_words_is_never_sent_not_even_in_part():
    for text in (WORD_LOOP, "light, with a light, with a light, with a light, yes", "a a b a a b a a b"):
        whole = clean(text, 2)
        rng = random.Random(2)
        for _ in range(300):
            cuts = sorted(rng.sample(range(1, len(text)), rng.randint(1, min(20, len(text) - 1))))
            assert "".join(streamed(text, 2, cuts)) == whole
    answer_filter = AnswerFilter(2)
    assert answer_filter.feed("It is a light with ") == "It is a light with"
    assert answer_filter.feed("a li") == ""  # it repeats the words before it: it waits
    assert answer_filter.feed("ght with a light with a") == "" and answer_filter.ended
    assert answer_filter.text == "It is a light with"
    diverging = AnswerFilter(2)
    assert diverging.feed("It is a light with a") == "It is a light with"
    assert diverging.feed(" dimmer.") == " a dimmer." and not diverging.ended


def test_cited_flags_follow_the_numbers_in_the_text():
    sources = [
        Source(number, f"d{number}", f"{number}.md", f"T{number}", None, 0.5, "x") for number in (1, 2, 3)
    ]
    marked = mark_cited(sources, "Thirty days [3], and two years [1, 2]... [1].")
    assert [source.cited for source in marked] == [True, True, True]
    marked = mark_cited(sources, "Thirty days [3].")
    assert [source.cited for source in marked] == [False, False, True]
    assert [source.cited for source in mark_cited(sources, "no citation")] == [False, False, False]


class EchoingGenerator:
    """The real generator, then the prompt's first source fence replayed token by token, as a small model
    that copies its sources writes it: real token boundaries of the real tokenizer."""

    def __init__(self, inner) -> None:
        self.inner = inner
        self.adapters = inner.adapters
        self.special_tokens = inner.special_tokens
        self.stops: list[tuple[str, ...]] = []

    def count_tokens(self, messages):
        return self.inner.count_tokens(messages)

    def _echo(self, messages) -> list[str]:
        prompt = messages[-1]["content"]
        fence = prompt[prompt.index(SOURCE_OPEN) : prompt.index(">>>", prompt.index(SOURCE_CLOSE)) + 3]
        ids = self.inner.tokenizer(f"Thirty days [1] [9].\n{fence}\nmore", add_special_tokens=False)[
            "input_ids"
        ]
        return [self.inner.tokenizer.decode([token]) for token in ids]

    def complete(self, messages, *, adapter, sampling=None):
        from assistant.generation import Completion

        self.stops.append(sampling.stop)
        completion = self.inner.complete(messages, adapter=adapter, sampling=sampling)
        return Completion("".join(self._echo(messages)) + completion.text, completion.usage)

    def stream(self, messages, *, adapter, sampling=None):
        self.stops.append(sampling.stop)
        yield from self._echo(messages)
        return (yield from self.inner.stream(messages, adapter=adapter, sampling=sampling))


def test_the_engine_filters_whole_and_streamed_answers_alike(generator, knowledge_base):
    echoing = EchoingGenerator(generator)
    assistant = Assistant(
        echoing, knowledge_base, top_k=3, min_score=0.2, context_tokens=1024, max_new_tokens=8
    )
    question = "How many days do I have to return a router for a full refund?"
    whole = assistant.answer(question, mode="rag")
    stream = assistant.stream(question, mode="rag")
    pieces = list(stream)
    # The header is dropped and the quoted source text kept; the closing fence ends the answer.
    quoted = whole.sources[0].text.strip()
    assert whole.text == stream.answer.text == "".join(pieces) == f"Thirty days [1].\n{quoted}"
    assert not any(leak in piece for piece in pieces for leak in LEAKS)
    assert [source.cited for source in whole.sources] == [n == 1 for n in range(1, len(whole.sources) + 1)]
    assert whole.to_dict()["sources"][0]["cited"] is True
    # Both calls asked the generator to stop at a closing fence and at control tokens.
    assert all(SOURCE_CLOSE in stops and "<|" in stops for stops in echoing.stops)
