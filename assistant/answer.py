"""What the assistant returns: the answer text, the sources shown to the model, token counts and timings.

Each source says whether the answer cites it (`cited`). An abstaining answer (`abstained`) keeps as
sources the nearest chunks retrieval found, none cited: the documents its text names.

A fewshot answer also keeps the example exchanges its prompt showed (`examples`).

`Answer.to_dict()` is the JSON contract of the CLI (`--json`) and the API. This module knows nothing
about models, retrieval or prompts.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal, Protocol

Mode = Literal["base", "rag", "tuned", "tuned+rag", "fewshot", "fewshot+rag"]
# The untuned or fine-tuned model, with or without retrieval: the modes the chat offers.
CORE_MODES: tuple[Mode, ...] = ("base", "rag", "tuned", "tuned+rag")
# Prompt engineering instead of fine-tuning: the untuned model shown example exchanges from the transcripts.
FEWSHOT_MODES: tuple[Mode, ...] = ("fewshot", "fewshot+rag")
MODES: tuple[Mode, ...] = CORE_MODES + FEWSHOT_MODES


def uses_retrieval(mode: Mode) -> bool:
    return mode in ("rag", "tuned+rag", "fewshot+rag")


def uses_adapter(mode: Mode) -> bool:
    return mode in ("tuned", "tuned+rag")


def uses_examples(mode: Mode) -> bool:
    return mode in FEWSHOT_MODES


def uses_transcripts(mode: Mode) -> bool:
    """The modes whose knowledge comes from the team's transcripts: trained on them, or shown some."""
    return uses_adapter(mode) or uses_examples(mode)


class Hit(Protocol):
    """One retrieved chunk, as `KnowledgeBase.search` returns it."""

    doc_id: str
    source: str
    title: str
    page: int | None
    score: float  # cosine similarity, -1..1
    text: str


@dataclass(frozen=True)
class Source:
    """A chunk shown to the model as `[number]`; answers cite it by that number."""

    number: int
    doc_id: str
    source: str
    title: str
    page: int | None
    score: float
    text: str
    headings: tuple[str, ...] = ()  # the section path inside the document, outermost first
    cited: bool = False  # the answer cites it as [number]

    @classmethod
    def of(cls, number: int, hit: Hit) -> Source:
        headings = tuple(getattr(hit, "headings", ()))  # optional: not every retriever knows sections
        return cls(number, hit.doc_id, hit.source, hit.title, hit.page, float(hit.score), hit.text, headings)


@dataclass(frozen=True)
class Example:
    """A past exchange shown to the model before the question (the fewshot modes): a customer turn and
    the agent's reply, where it came from, and its similarity to the question."""

    customer: str
    agent: str
    origin: str
    score: float


@dataclass
class Timings:
    """Milliseconds, except `tokens_per_s` (completion tokens over the time from first token to last)."""

    retrieval_ms: float = 0.0
    prompt_ms: float = 0.0
    first_token_ms: float = 0.0  # from the start of the request, so it includes retrieval and prompt building
    total_ms: float = 0.0
    tokens_per_s: float = 0.0


@dataclass
class Answer:
    text: str
    mode: Mode
    adapter: str | None
    sources: list[Source] = field(default_factory=list)
    examples: list[Example] = field(default_factory=list)
    abstained: bool = False
    quote: str = ""  # the top source's sentences quoted at the end of `text` (evidence.py); empty when none
    # The past exchange shown under `text`, after any quote (precedent.py); empty when none.
    precedent: str = ""
    prompt_tokens: int = 0
    completion_tokens: int = 0
    timings: Timings = field(default_factory=Timings)

    def to_dict(self) -> dict[str, Any]:
        return {
            "answer": self.text,
            "sources": [asdict(source) for source in self.sources],
            "examples": [asdict(example) for example in self.examples],
            "abstained": self.abstained,
            "quote": self.quote,
            "precedent": self.precedent,
            "mode": self.mode,
            "adapter": self.adapter,
            "prompt_tokens": self.prompt_tokens,
            "completion_tokens": self.completion_tokens,
            "timings": {name: round(value, 2) for name, value in asdict(self.timings).items()},
        }
