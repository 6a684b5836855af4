"""When to say "I don't know": the relevance threshold, the model's own decline, and what an abstaining answer says.

Two signals, either one enough:
- retrieval: when no retrieved chunk reaches `min_score` (the retriever's score), the assistant answers a
  fixed message without calling the model. `calibrate` picks the threshold on labelled questions (see
  assistant/calibration.py for the split it is picked on);
- the model: when its answer opens by declining ("I don't know", "I couldn't find that in the sources"),
  found by `declines`, a small rule set about knowing and finding, not about any domain's wording.

An abstaining answer says so and names the nearest documents (`nearest_documents`), so the reader knows where
to look. Knows nothing about models or prompts.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import PurePath

from assistant.answer import Hit, Source

# A decline says the speaker does not know or cannot find; "we can't refund after 30 days" is an answer.
_DECLINE = re.compile(
    r"\b(?:"
    r"(?:i|we)(?: really)? (?:do not|don't|dont|did not|didn't|cannot|can't|cant|could not|couldn't|am unable to"
    r"|are unable to|was unable to|am not able to|are not able to) (?:know|find|locate|see|tell|say|answer"
    r"|help with (?:that|this)|have (?:any |enough |the |specific )?(?:information|details|data|knowledge"
    r"|an answer|access))"
    r"|(?:i|we) have no (?:information|details|data|knowledge|record)"
    r"|i'm (?:not sure|unable to|not able to)|i am (?:not sure|unable to|not able to)"
    r"|(?:no|not enough) information (?:about|on|regarding|is available|was found)"
    r"|(?:is|are) not (?:mentioned|covered|included|provided|specified|stated|given|listed|available)"
    r" in the (?:sources?|documents?|documentation|context|information)"
    r"|(?:the )?(?:sources?|documents?|documentation|context) (?:do|does) not (?:say|mention|contain"
    r"|include|cover|provide|specify|state|answer)"
    r"|there is no (?:information|mention|data|record)"
    r")\b"
)
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+|\n+")
_CITES = re.compile(r"\[\d{1,3}\]")
DECLINE_SENTENCES = 2  # "Sorry! I couldn't find that." declines in its second sentence


def relevant(hits: Sequence[Hit], min_score: float) -> list[Hit]:
    """The hits that reach the threshold, in the retriever's order (hybrid search ranks by fused score,
    not by this cosine score); empty means abstain."""
    return [hit for hit in hits if hit.score >= min_score]


@dataclass(frozen=True)
class Calibration:
    threshold: float
    balanced_accuracy: float
    answerable_kept: float  # share of answerable questions whose best score reaches the threshold
    unanswerable_refused: float  # share of unanswerable questions below it


def calibrate(answerable: Sequence[float], unanswerable: Sequence[float]) -> Calibration:
    """The threshold on best-chunk scores that maximises balanced accuracy; ties go to the lower threshold,
    since refusing an answerable question costs the user more than a hedged answer."""
    if not answerable or not unanswerable:
        raise ValueError("calibration needs at least one answerable and one unanswerable question")
    scores = sorted(set(answerable) | set(unanswerable))
    candidates = [scores[0] - 1e-6] + [
        (low + high) / 2 for low, high in zip(scores, scores[1:], strict=False)
    ]
    best: Calibration | None = None
    for threshold in candidates:
        kept = sum(score >= threshold for score in answerable) / len(answerable)
        refused = sum(score < threshold for score in unanswerable) / len(unanswerable)
        result = Calibration(threshold, (kept + refused) / 2, kept, refused)
        if best is None or result.balanced_accuracy > best.balanced_accuracy:
            best = result
    assert best is not None
    return best


def declines(answer: str) -> bool:
    """Whether the answer opens by declining (in its first sentences) and cites no source."""
    text = " ".join(answer.lower().replace("\u2019", "'").split())
    opening = " ".join(_SENTENCE_END.split(text)[:DECLINE_SENTENCES])
    return bool(_DECLINE.search(opening)) and not _CITES.search(text)


def nearest_documents(sources: Sequence[Source]) -> str:
    """One line naming the nearest documents (title and file, best first, each once); empty without any."""
    documents = dict.fromkeys(f"{source.title} ({PurePath(source.source).name})" for source in sources)
    return f"Nearest documents: {'; '.join(documents)}." if documents else ""
