"""What the assistant returns: the answer text, the sources shown to the model, token counts and timings.

Each source says whether the answer cites it (`cited`). An abstaining answer (`abstained`) keeps as
sources the nearest chunks retrieval found, none cited: the documents its text names.

`Answer.to_dict()` is the JSON contract of the CLI (`--json`) and the API. This module knows nothing
about models, retrieval or prompts.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal, Protocol

Mode = Literal["base", "rag", "tuned", "tuned+rag"]
MODES: tuple[Mode, ...] = ("base", "rag", "tuned", "tuned+rag")


def uses_retrieval(mode: Mode) -> bool:
    return mode in ("rag", "tuned+rag")


def uses_adapter(mode: Mode) -> bool:
    return mode in ("tuned", "tuned+rag")


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
    abstained: bool = False
    prompt_tokens: int = 0
    completion_tokens: int = 0
    timings: Timings = field(default_factory=Timings)

    def to_dict(self) -> dict[str, Any]:
        return {
            "answer": self.text,
            "sources": [asdict(source) for source in self.sources],
            "abstained": self.abstained,
            "mode": self.mode,
            "adapter": self.adapter,
            "prompt_tokens": self.prompt_tokens,
            "completion_tokens": self.completion_tokens,
            "timings": {name: round(value, 2) for name, value in asdict(self.timings).items()},
        }
