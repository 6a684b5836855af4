"""A small rule-based reward of one answer: cites a shown source, invents no numbers, or abstains honestly.

    +1  the answer cites a source that was shown to the model ([n] with n among the shown ones)
    -1  per distinct number in the answer found neither in the shown sources nor in the question
        (an invented figure: a price, a day count, a version the model made up)
     0  for an abstention, whatever its text: declining is honest, never rewarded nor punished

So a grounded answer with a citation scores 1, an uncited one without invented figures 0, and each
made-up figure costs a point. Citation markers and list numbering ("1. Unplug ...") are not figures.
Numbers compare as `assistant.grounding` writes them ("1,000" = "1000", "2.50" = "2.5"): the engine flags
the same invented figures at answer time. No model, no reference answer: the same rule scores evaluation answers and answers
generated before/after preference training. Knows nothing about files or settings.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from assistant.evaluation.metrics import cited_numbers
from assistant.grounding import invented_figures


def rule_reward(text: str, sources: Sequence[dict[str, Any]], question: str, *, abstained: bool) -> int:
    """The reward of answer `text` written from `sources` (stored `Source` dicts: title, headings, text)."""
    if abstained:
        return 0
    shown = range(1, len(sources) + 1)
    cites = any(number in shown for number in cited_numbers(text))
    return (1 if cites else 0) - len(
        invented_figures(text, [_source_text(source) for source in sources], question)
    )


def _source_text(source: dict[str, Any]) -> str:
    return " ".join([source.get("title", ""), *source.get("headings", ()), source.get("text", "")])
