"""The `Assistant` facade: one question (plus the conversation so far) in, one `Answer` out, in six modes.

    base         the untuned model, no retrieval
    rag          the untuned model answering from retrieved, numbered sources
    tuned        the model with a LoRA adapter, no retrieval
    tuned+rag    the adapter answering from retrieved sources
    fewshot      the untuned model shown the k past exchanges most similar to the question (prompting
                 instead of fine-tuning)
    fewshot+rag  those examples and the retrieved sources

`answer()` returns the whole answer; `stream()` returns an `AnswerStream` to iterate for text pieces, whose
`.answer` is set once the text is complete. Both pass the model's text through the same filter
(answer_filter.py: no fences, control tokens, loops or citations of sources not shown; a stream stops decoding
where it ends the answer), and the sources the answer cites are marked. The assistant abstains (abstention.py)
when a retrieval mode's sources are all below the relevance or coverage threshold (then without calling the
model) or when the model's answer declines or is empty; an abstaining answer says so and names the nearest
documents, which are its sources. An answer the model wrote from sources ends with a quote of its top source,
standing or not (evidence.py); an answer of a mode taught by the transcripts then with the past exchange most
like the question, when one is similar enough (precedent.py).

The UI, the API and the CLI call only this class; it knows nothing about settings or storage. It is built
complete (assistant/builders.py): its retriever and the adapter tuned modes use are fixed at build time. A
retriever may be empty when built: the retrieval modes run as soon as it holds documents (API uploads).
"""

from __future__ import annotations

import time
from collections.abc import Generator as PyGenerator
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Protocol

from assistant.abstention import Coverage, declines, nearest_documents, relevant, unmentioned
from assistant.answer import (
    MODES,
    Answer,
    Example,
    Hit,
    Mode,
    Source,
    uses_adapter,
    uses_examples,
    uses_retrieval,
    uses_transcripts,
)
from assistant.answer_filter import AnswerFilter, clean, mark_cited, stop_strings
from assistant.availability import no_examples, unavailable
from assistant.contradiction import contradictions
from assistant.decoding import StopDecoding, Usage
from assistant.evidence import supporting_quote
from assistant.grounding import (
    contradiction_note,
    invented_figures,
    speaks_to,
    split_unverified,
    unverified_note,
)
from assistant.precedent import nearest_shown, own_words, precedent_line
from assistant.prompts import Message, Prompt, build_prompt, retrieval_query
from assistant.ranked_retrieval import RankedRetrieval

if TYPE_CHECKING:  # the generation module pulls in torch and transformers
    from assistant.generation import Generator, Sampling


class Retriever(Protocol):
    """Anything with `search(query, k)`, best first, and `documents()`; a `KnowledgeBase` is one. Only an
    assistant with a `min_coverage` calls `coverage(query, hits)`, only one that quotes its top source
    `similarity(query, texts)`."""

    def search(self, query: str, k: int) -> Sequence[Hit]: ...

    def documents(self) -> Sequence[object]: ...

    def coverage(self, query: str, hits: Sequence[Hit]) -> Coverage: ...

    def similarity(self, query: str, texts: Sequence[str]) -> Sequence[float]: ...


class ExamplePicker(Protocol):
    """Anything with `pick(query, k)`: past exchanges most similar to the query, best first."""

    def pick(self, query: str, k: int) -> Sequence[Example]: ...


class AssistantError(ValueError):
    """The question cannot be answered in this mode; the message says what to do."""


@dataclass(frozen=True)
class _Request:
    question: str
    mode: Mode
    adapter: str | None
    started: float


class AnswerStream:
    """Iterate for text pieces; afterwards `answer` holds the complete `Answer` (None until then)."""

    def __init__(self, pieces: PyGenerator[str, None, Answer]) -> None:
        self._pieces = pieces
        self.answer: Answer | None = None

    def __iter__(self) -> Iterator[str]:
        self.answer = yield from self._pieces


class Assistant:
    def __init__(
        self,
        generator: Generator,
        retriever: Retriever | None,
        *,
        top_k: int = 4,
        min_score: float = 0.43,
        min_coverage: float = 0.0,
        context_tokens: int = 2048,
        max_new_tokens: int = 256,
        history_turns: int = 2,
        domain: str = "our products",
        abstain_message: str = "I couldn't find this in the documentation. Please contact support.",
        unconfirmed_message: str = "The documents do not confirm this answer. Please contact support.",
        default_adapter: str | None = None,
        flag_invented_figures: bool = True,
        flag_contradictions: bool = True,
        quote_sentences: int = 0,
        precedent_min_similarity: float | None = None,
        examples: ExamplePicker | None = None,
        fewshot_k: int = 3,
        judge: Retriever | None = None,
    ) -> None:
        self.generator = generator
        self._retriever = retriever
        # What decides whether anything retrieved is relevant (the thresholds are calibrated on it); None:
        # the retriever itself. With one, the retriever's own ranking is shown whenever the judge finds some.
        self._relevance_judge = judge
        self.examples = examples
        self.fewshot_k = fewshot_k
        self.top_k = top_k
        self.min_score = min_score
        self.min_coverage = min_coverage
        self.context_tokens = context_tokens
        # The generator's own default answer length: the budget of calls that set no limit of their own.
        self.max_new_tokens = max_new_tokens
        self.history_turns = history_turns
        self.domain = domain
        self.abstain_message = abstain_message
        self.unconfirmed_message = unconfirmed_message
        self._default_adapter = default_adapter
        self.flag_invented_figures = flag_invented_figures
        self.flag_contradictions = flag_contradictions
        self.quote_sentences = quote_sentences
        # None: no past exchange under answers (no example store, or switched off).
        self.precedent_min_similarity = precedent_min_similarity

    @property
    def retriever(self) -> Retriever | None:
        return self._retriever

    @property
    def default_adapter(self) -> str | None:
        """The adapter tuned modes use when a call names none."""
        return self._default_adapter

    def has_documents(self) -> bool:
        """Whether the retrieval modes can run: the retriever holds documents now."""
        return self._retriever is not None and bool(self._retriever.documents())

    def unavailable(self, mode: Mode, adapter: str | None = None) -> str | None:
        """Why `mode` cannot run now with `adapter` (else the default one), or None (see availability.py)."""
        if uses_examples(mode) and self.examples is None:
            return no_examples(mode)
        return unavailable(
            mode,
            adapter=adapter or self._default_adapter,
            adapters=self.generator.adapters,
            # Only the retrieval modes look at it, and listing the documents is a database query.
            has_documents=uses_retrieval(mode) and self.has_documents(),
        )

    def answer(
        self,
        question: str,
        history: Sequence[Message] = (),
        mode: Mode = "rag",
        adapter: str | None = None,
        sampling: Sampling | None = None,
    ) -> Answer:
        """`sampling` overrides the generator's decoding settings for this answer (an API request's). The
        model's whole completion in one call: a stream would stop decoding where the filter ends the answer
        (`_stream`), but on the transformers backend its worker thread and streamer cost more per answer
        (`bench/bench_generation.py`) than the tokens after a rare loop. Its text is what a stream of the same
        answer shows."""
        request = self._request(question, mode, adapter)
        answer, prompt = self._prepare(request, history, self._answer_tokens(sampling))
        if prompt is None:
            return answer
        generating = time.perf_counter()
        completion = self.generator.complete(
            prompt.messages, adapter=request.adapter, sampling=self._with_stops(sampling)
        )
        answer.text = clean(completion.text, len(prompt.sources), self.generator.special_tokens)
        self._conclude(answer, question)
        # Without streaming the whole text arrives at once: that is this client's time to first token.
        self._finish(
            answer, request, completion.usage, first_token=time.perf_counter(), decode_from=generating
        )
        return answer

    def stream(
        self,
        question: str,
        history: Sequence[Message] = (),
        mode: Mode = "rag",
        adapter: str | None = None,
        sampling: Sampling | None = None,
    ) -> AnswerStream:
        """Checks the mode and adapter now (errors raise here), retrieves and generates while iterated."""
        return AnswerStream(self._stream(self._request(question, mode, adapter), history, sampling))

    def _stream(
        self, request: _Request, history: Sequence[Message], sampling: Sampling | None
    ) -> PyGenerator[str, None, Answer]:
        answer, prompt = self._prepare(request, history, self._answer_tokens(sampling))
        if prompt is None:
            yield answer.text
            return answer
        generating = time.perf_counter()
        pieces = self.generator.stream(
            prompt.messages, adapter=request.adapter, sampling=self._with_stops(sampling)
        )
        shown = AnswerFilter(len(prompt.sources), self.generator.special_tokens)
        first_token = None
        read = 0
        try:
            while True:
                try:
                    # Once the filter has ended the answer (a closing fence, a control token, a loop), nothing
                    # more would be shown: the generator stops decoding and returns the tokens it spent.
                    piece = pieces.throw(StopDecoding()) if shown.ended else next(pieces)
                except StopIteration as stop:
                    usage: Usage = stop.value
                    break
                except StopDecoding:  # a generator that cannot stop early: count what it sent
                    usage = Usage(self.generator.count_tokens(prompt.messages), read)
                    break
                read += 1
                first_token = first_token or time.perf_counter()
                text = shown.feed(piece)
                if text:
                    yield text
        finally:
            pieces.close()  # a reader that stops early stops the generation too
        tail = shown.flush()
        if tail:
            yield tail
        answer.text = shown.text
        added = self._conclude(answer, request.question)
        if added:
            yield added
        # No text at all: its time to first token is its whole time, its tokens counted over all of it.
        decode_from = generating if first_token is None else first_token
        first_token = first_token or time.perf_counter()
        self._finish(answer, request, usage, first_token=first_token, decode_from=decode_from)
        return answer

    def build_prompt(
        self,
        question: str,
        hits: Sequence[Hit],
        *,
        mode: Mode,
        history: Sequence[Message] = (),
        answer_tokens: int | None = None,
        examples: Sequence[Example] = (),
    ) -> Prompt:
        """The messages this assistant sends its model for `question` in `mode` with `hits` as the sources,
        leaving room for `answer_tokens` (default: its own answer length). An answer's `sources` passed back
        as `hits` give the prompt that answer came from. Earlier answers lose what the engine appended under
        them (precedent.own_words)."""
        return build_prompt(
            question,
            [_own_words(message) for message in history],
            hits,
            count_tokens=self.generator.count_tokens,
            context_tokens=self.context_tokens,
            max_new_tokens=self.max_new_tokens if answer_tokens is None else answer_tokens,
            domain=self.domain,
            retrieval=uses_retrieval(mode),
            special_tokens=self.generator.special_tokens,
            examples=examples,
        )

    def _request(self, question: str, mode: Mode, adapter: str | None) -> _Request:
        if mode not in MODES:
            raise AssistantError(f"--mode {mode!r}: use one of {', '.join(MODES)}")
        if not question.strip():
            raise AssistantError("the question is empty; ask something")
        problem = self.unavailable(mode, adapter)
        if problem:
            raise AssistantError(problem)
        chosen = (adapter or self._default_adapter) if uses_adapter(mode) else None
        return _Request(question, mode, chosen, time.perf_counter())

    def _answer_tokens(self, sampling: Sampling | None) -> int:
        """The longest answer this call may generate: the request's own limit, else the default. The prompt
        is budgeted with it, so prompt + answer always fit in the context window."""
        if sampling is not None and sampling.max_new_tokens is not None:
            return sampling.max_new_tokens
        return self.max_new_tokens

    def _with_stops(self, sampling: Sampling | None) -> Sampling:
        """The call's decoding settings plus the stop strings that end an answer (see answer_filter.py)."""
        from assistant.generation import Sampling  # here, not at the top: it pulls in torch

        sampling = sampling or Sampling()
        stops = dict.fromkeys((*sampling.stop, *stop_strings(self.generator.special_tokens)))
        return replace(sampling, stop=tuple(stops))

    def _conclude(
        self, answer: Answer, question: str, unknown: Sequence[str] = (), *, generated: bool = True
    ) -> str:
        """Mark the cited sources; an empty or declining answer becomes an abstention that names the nearest
        documents. Sentences stating figures the sources do not hold are kept (a stream has already shown
        them) and flagged unverified in a line under the answer; when the answer's other sentences say nothing
        about the question, it becomes an abstention too (grounding.py). `unknown`: the question's words no
        document holds, named when retrieval abstained on coverage. An answer the model wrote from sources
        gets its top source quoted under it (evidence.py), whether it stands or not: the sources passed the thresholds, and where the model garbled
        them the reader still gets the document's words. `generated=False`: retrieval refused, no model ran,
        the sources are only the nearest documents. Any answer of a mode taught by the transcripts then gets
        the past exchange most like the question (precedent.py). Returns the text added to the answer, which a
        stream sends last."""
        added = self._judge(answer, question, unknown)
        if generated:
            added += self._quote(answer, question)
        return added + self._precedent(answer, question)

    def _judge(self, answer: Answer, question: str, unknown: Sequence[str]) -> str:
        """Nothing when the answer stands as it is; the line flagging its sentences with invented figures when
        the rest stands, and a line for each sentence a shown source says otherwise than (contradiction.py);
        else the answer turned into an abstention. Returns the text added."""
        answer.sources = mark_cited(answer.sources, answer.text)
        invented = self._invented(answer, question)
        if answer.text and not declines(answer.text):
            flagged, rest = split_unverified(answer.text, invented) if invented else ([], answer.text)
            # With invented figures the rest must still answer: then flag the sentences no source backs
            # rather than discard the answer.
            if not invented or (flagged and speaks_to(rest, question)):
                notes = [unverified_note(flagged, invented)] if invented else []
                if self.flag_contradictions:
                    notes += [
                        contradiction_note(found.source_number, found.source_sentence)
                        for found in contradictions(answer.text, answer.sources)
                    ]
                added = "".join(f"\n\n{note}" for note in notes)
                answer.text += added
                return added
        answer.abstained = True
        before = answer.text
        # Taken back for its figures, the answer was written from documents that were found: they do not
        # confirm it, which is not the same as finding nothing.
        unverified = (
            f"Not in the sources: {', '.join(invented)}. {self.unconfirmed_message}" if invented else ""
        )
        parts = (
            answer.text or self.abstain_message,
            unmentioned(unknown),
            unverified,
            nearest_documents(answer.sources),
        )
        answer.text = "\n\n".join(part for part in parts if part)
        return answer.text[len(before) :]

    def _quote(self, answer: Answer, question: str) -> str:
        """Appends the quote of the top source's sentences most similar to the question; returns what it added."""
        if not (self.quote_sentences and self._retriever is not None and answer.sources):
            return ""
        quote = supporting_quote(
            question,
            answer.text,
            answer.sources,
            self._retriever.similarity,
            self.quote_sentences,
            self.generator.special_tokens,
        )
        if not quote:
            return ""
        answer.quote = quote
        answer.text += "\n\n" + quote
        answer.sources = mark_cited(answer.sources, answer.text)
        return "\n\n" + quote

    def _precedent(self, answer: Answer, question: str) -> str:
        """Appends the past exchange most similar to the question, when it is similar
        enough; returns what it added."""
        if not (
            self.precedent_min_similarity is not None
            and self.examples is not None
            and uses_transcripts(answer.mode)
        ):
            return ""
        best = nearest_shown(question, self.examples.pick)
        if best is None or best.score < self.precedent_min_similarity:
            return ""
        answer.precedent = precedent_line(best, self.generator.special_tokens)
        answer.text += "\n\n" + answer.precedent
        return "\n\n" + answer.precedent

    def _separate_judge(self) -> Retriever | None:
        """The judge, while another index ranks; None while the retriever judges its own hits (no judge, or a
        ranking index that holds other documents and so hands its searches to the judge: its hits are then
        the judge's, searched once and held to the score threshold like any)."""
        if isinstance(self._retriever, RankedRetrieval) and not self._retriever.ranking_in_use():
            return None
        return self._relevance_judge

    def _invented(self, answer: Answer, question: str) -> list[str]:
        """Figures of an answer written from sources that none of them (nor the question) holds."""
        if not (
            self.flag_invented_figures and answer.text and uses_retrieval(answer.mode) and answer.sources
        ):
            return []
        return invented_figures(answer.text, (source.text for source in answer.sources), question)

    def _prepare(
        self, request: _Request, history: Sequence[Message], answer_tokens: int
    ) -> tuple[Answer, Prompt | None]:
        """Pick examples, retrieve and build the prompt, leaving room for `answer_tokens`; the prompt is None
        when the answer is already final (abstained). `retrieval_ms` covers picking examples too."""
        answer = Answer(text="", mode=request.mode, adapter=request.adapter)
        hits: list[Hit] = []
        examples: Sequence[Example] = ()
        query = retrieval_query(request.question, history, self.history_turns)
        if uses_examples(request.mode):
            assert self.examples is not None  # checked in _request
            examples = self.examples.pick(query, self.fewshot_k)
            answer.timings.retrieval_ms = _ms(request.started, time.perf_counter())
        retrieved = time.perf_counter()
        if uses_retrieval(request.mode):
            assert self._retriever is not None  # checked in _request
            found = self._retriever.search(query, self.top_k)
            separate = self._separate_judge()
            judge = separate or self._retriever
            judged = found if separate is None else judge.search(query, self.top_k)
            hits = relevant(judged, self.min_score)
            unknown: tuple[str, ...] = ()
            if hits and self.min_coverage > 0:
                coverage = judge.coverage(query, judged)
                if coverage.share < self.min_coverage:
                    hits, unknown = [], coverage.unknown
            if hits and separate is not None:
                hits = list(found)
            retrieved = time.perf_counter()
            answer.timings.retrieval_ms = _ms(request.started, retrieved)
            if not hits:
                answer.sources = [Source.of(number, hit) for number, hit in enumerate(found, 1)]
                self._conclude(answer, request.question, unknown, generated=False)
                answer.timings.total_ms = _ms(request.started, time.perf_counter())
                return answer, None
        prompt = self.build_prompt(
            request.question,
            hits,
            mode=request.mode,
            history=history,
            answer_tokens=answer_tokens,
            examples=examples,
        )
        answer.sources = prompt.sources
        answer.examples = prompt.examples
        answer.timings.prompt_ms = _ms(retrieved, time.perf_counter())
        return answer, prompt

    def _finish(
        self, answer: Answer, request: _Request, usage: Usage, *, first_token: float, decode_from: float
    ) -> None:
        """`decode_from`: when the first counted token was produced. Decoding speed counts the tokens after the
        first, which comes out of prefill; when no text came at all (the model's first words were a stop
        string), it counts them all over prefill and decoding."""
        done = time.perf_counter()
        answer.prompt_tokens, answer.completion_tokens = usage.prompt_tokens, usage.completion_tokens
        answer.timings.first_token_ms = _ms(request.started, first_token)
        answer.timings.total_ms = _ms(request.started, done)
        counted = usage.completion_tokens - (1 if decode_from == first_token else 0)
        if counted > 0 and done > decode_from:
            answer.timings.tokens_per_s = counted / (done - decode_from)


def _own_words(message: Message) -> Message:
    if message["role"] != "assistant":
        return message
    return {**message, "content": own_words(message["content"])}


def _ms(start: float, end: float) -> float:
    return (end - start) * 1000.0
