"""When to say "I don't know": the retrieval thresholds, the model's own decline, and what an abstaining answer says.

Three signals, any one enough:
- retrieval score: when no retrieved chunk reaches `min_score` (the retriever's cosine score), the
  assistant answers a fixed message without calling the model;
- coverage: when the retrieved chunks hold too little of the question's content words, weighted by how
  rare each is in the knowledge base (below `min_coverage`), likewise. A question about something the
  documents never mention ("does it support zigbee?") often lands close to some chunk in embedding space;
  its rare, topic-bearing words are simply not there. The abstaining answer names those words.
  `calibrate` picks both thresholds together on labelled questions (see assistant/calibration.py for the
  split they are picked on);
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
from typing import TYPE_CHECKING, Literal, Protocol

import numpy as np

from assistant.answer import Hit, Source

if TYPE_CHECKING:
    from assistant.engine import Retriever

# "I'm not sure" declines, unless what the speaker is unsure of is what the customer means ("what you're
# looking for": a clarifying question) or why something happens ("why it drops", "what's causing it": a
# diagnosis still to make, which support answers with a next step), neither a lack of documentation.
UNSURE = (
    r"(?:i'm|i am) not sure\b(?! (?:what|which|who|how) (?:you|you're|you are|your)\b| why\b"
    r"| what(?:'s| is| might be| might have)? (?:causing|caused|wrong)\b)"
)
# A decline says the speaker does not know or cannot find; "we can't refund after 30 days" is an answer.
_DECLINE = re.compile(
    r"\b(?:"
    r"(?:i|we)(?: really)? (?:do not|don't|dont|did not|didn't|cannot|can't|cant|could not|couldn't|am unable to"
    r"|are unable to|was unable to|am not able to|are not able to) (?:know|find|locate|see|tell|say|answer"
    r"|help with (?:that|this)|have (?:any |enough |the |specific )?(?:information|details|data|knowledge"
    r"|an answer|access))"
    r"|(?:i|we) have no (?:information|details|data|knowledge|record)"
    rf"|{UNSURE}|i'm (?:unable to|not able to)|i am (?:unable to|not able to)"
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


class Coverage(Protocol):
    """What a retriever says about how much of a question its hits hold (`ingest.keyword_index.TermCoverage`)."""

    share: float  # 0..1, rarity-weighted share of the question's content words found in the hits
    unknown: tuple[str, ...]  # content words no document holds


@dataclass(frozen=True)
class Signals:
    """What retrieval says about one question: its best chunk's score and its coverage share."""

    score: float
    coverage: float = 1.0


@dataclass(frozen=True)
class Thresholds:
    """Abstain below either; a `coverage` of 0 never abstains on coverage."""

    score: float
    coverage: float = 0.0


def retrieval_signals(retriever: Retriever, question: str, k: int) -> Signals:
    """What the engine's retrieval thresholds read for `question`: the best score of the `k` chunks retrieval
    returns (-1 without any) and their coverage of the question; calibration scores questions with this."""
    hits = retriever.search(question, k)
    return Signals(max((hit.score for hit in hits), default=-1.0), retriever.coverage(question, hits).share)


def refuses(signals: Signals, thresholds: Thresholds) -> bool:
    return signals.score < thresholds.score or signals.coverage < thresholds.coverage


def relevant(hits: Sequence[Hit], min_score: float) -> list[Hit]:
    """The hits that reach the threshold, in the retriever's order (hybrid search ranks by fused score,
    not by this cosine score); empty means abstain."""
    return [hit for hit in hits if hit.score >= min_score]


# What calibration maximises. "f1": F1 of refusing, which weighs every question alike, so when answerable
# questions far outnumber unanswerable ones (as in support traffic) it refuses an answerable one only where
# that buys as much; "balanced": balanced accuracy, which weighs the two classes alike, so each unanswerable
# question counts as much as all the answerable ones together divided by their ratio: more refusals.
Objective = Literal["f1", "balanced"]
OBJECTIVES: tuple[Objective, ...] = ("f1", "balanced")


@dataclass(frozen=True)
class Calibration:
    threshold: float  # on the best chunk's score
    balanced_accuracy: float
    answerable_kept: float  # share of answerable questions neither threshold refuses
    unanswerable_refused: float  # share of unanswerable questions one of them refuses
    coverage_threshold: float = 0.0
    f1: float = 0.0  # of refusing, on the questions it was chosen on
    objective: Objective = "f1"

    @property
    def thresholds(self) -> Thresholds:
        return Thresholds(self.threshold, self.coverage_threshold)


def calibrate(
    answerable: Sequence[Signals], unanswerable: Sequence[Signals], objective: Objective = "f1"
) -> Calibration:
    """The pair of thresholds (best-chunk score, coverage) that maximises `objective`, each tried
    between every two observed values and below all of them (off; at most `MAX_CUTS` evenly spread
    candidates per signal, so thousands of questions stay quick). Ties go to the pair that refuses fewer of
    these questions, then to the lower score threshold: refusing an answerable question costs the user
    more than a hedged answer."""
    if objective not in OBJECTIVES:
        raise ValueError(f"objective {objective!r}: use one of {', '.join(OBJECTIVES)}")
    if not answerable or not unanswerable:
        raise ValueError("calibration needs at least one answerable and one unanswerable question")
    everything = [*answerable, *unanswerable]
    scores = np.array([item.score for item in everything])
    coverages = np.array([item.coverage for item in everything])
    is_unanswerable = np.arange(len(everything)) >= len(answerable)
    score_cuts = _cut_points(scores, off=float(scores.min()) - 1e-6)
    coverage_cuts = _cut_points(coverages, off=0.0)
    # refused[i, j, q]: question q refused with score cut i and coverage cut j.
    refused = (scores[None, None, :] < score_cuts[:, None, None]) | (
        coverages[None, None, :] < coverage_cuts[None, :, None]
    )
    recall = refused[:, :, is_unanswerable].mean(axis=2)
    kept = 1.0 - refused[:, :, ~is_unanswerable].mean(axis=2)
    balanced = (kept + recall) / 2
    refusals = refused.sum(axis=2)
    hits = refused[:, :, is_unanswerable].sum(axis=2)
    precision = np.divide(hits, refusals, out=np.zeros(hits.shape), where=refusals > 0)
    f1 = np.divide(2 * precision * recall, precision + recall, out=np.zeros(hits.shape), where=hits > 0)
    goal = f1 if objective == "f1" else balanced
    # Best objective, then fewest refusals, then the lowest score cut (the first index).
    order = np.lexsort(
        (
            np.arange(len(score_cuts))[:, None].repeat(len(coverage_cuts), 1).ravel(),
            refusals.ravel(),
            -goal.ravel(),
        )
    )
    i, j = np.unravel_index(order[0], balanced.shape)
    return Calibration(
        float(score_cuts[i]),
        float(balanced[i, j]),
        float(kept[i, j]),
        float(recall[i, j]),
        float(coverage_cuts[j]),
        float(f1[i, j]),
        objective,
    )


MAX_CUTS = 100  # candidate thresholds per signal


def _cut_points(values: np.ndarray, off: float) -> np.ndarray:
    """`off` (a threshold that refuses none of them), then halfway between each two neighbouring values."""
    ordered = np.unique(values)
    middles = (ordered[:-1] + ordered[1:]) / 2
    if len(middles) > MAX_CUTS:
        middles = middles[np.linspace(0, len(middles) - 1, MAX_CUTS).round().astype(int)]
    return np.concatenate(([off], middles))


def declines(answer: str) -> bool:
    """Whether the answer opens by declining (in its first sentences) and cites no source."""
    text = " ".join(answer.lower().replace("\u2019", "'").split())
    opening = " ".join(_SENTENCE_END.split(text)[:DECLINE_SENTENCES])
    return bool(_DECLINE.search(opening)) and not _CITES.search(text)


def unmentioned(words: Sequence[str]) -> str:
    """One line naming the question's words that no document holds; empty without any."""
    return f"The documents never mention: {', '.join(words)}." if words else ""


def nearest_documents(sources: Sequence[Source]) -> str:
    """One line naming the nearest documents (title and file, best first, each once); empty without any."""
    documents = dict.fromkeys(f"{source.title} ({PurePath(source.source).name})" for source in sources)
    return f"Nearest documents: {'; '.join(documents)}." if documents else ""
