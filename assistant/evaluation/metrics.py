"""Pure metric functions over strings and ranked source lists; no models, no files.

Text is compared after `normalise`: lower case, Unicode NFKC, every dash made a hyphen, negations
written out ("doesn't" -> "does not"), and split into word tokens (letters/digits) and the symbols
% € $ £, so "5–7 Business Days" and "5-7 business days" agree and punctuation never decides a match. Functions return None where a metric does not apply
(a question without keywords, an answer that cites nothing); `mean` skips those.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections import Counter
from collections.abc import Iterable, Sequence
from functools import cache

from assistant.abstention import UNSURE

_TOKEN = re.compile(r"\w+|[%€$£]")
_DASHES = re.compile(r"[\u2010-\u2015\u2212]")
# Negations written out, so "doesn't support" and "does not support" state the same fact.
_NEGATIONS = (("won't", "will not"), ("can't", "can not"), ("cannot", "can not"), ("n't", " not"))
_CITATION = re.compile(r"\[(\d{1,2})\]")
_UNSURE = re.compile(rf"\b{UNSURE}")  # as the engine reads "I'm not sure": not before "what you mean"
# Phrases with which a model declines; the engine's own abstain message says "couldn't find".
_ABSTAIN_PHRASES = (
    "i don't know",
    "i do not know",
    "i don't have information",
    "i do not have information",
    "i don't have any information",
    "couldn't find",
    "could not find",
    "can't find",
    "cannot find",
    "not in the documentation",
    "no information about",
    "unable to answer",
    "can't help with",
    "cannot help with",
)


def tokens(text: str) -> list[str]:
    text = _DASHES.sub("-", unicodedata.normalize("NFKC", text).lower()).replace("\u2019", "'")
    for short, long in _NEGATIONS:
        text = text.replace(short, long)
    return _TOKEN.findall(text)


def normalise(text: str) -> str:
    return " ".join(tokens(text))


def states(answer: str, keyword: str) -> bool:
    """Whether `answer` contains `keyword` as whole normalised tokens."""
    needle = normalise(keyword)
    return bool(needle) and f" {needle} " in f" {normalise(answer)} "


def keyword_accuracy(answer: str, keywords: Sequence[str]) -> float | None:
    """Share of the required keywords the answer states; None without keywords."""
    if not keywords:
        return None
    return sum(states(answer, keyword) for keyword in keywords) / len(keywords)


def token_f1(prediction: str, reference: str) -> float:
    """Harmonic mean of token precision and recall over normalised tokens (bag of words, as in SQuAD)."""
    predicted, expected = Counter(tokens(prediction)), Counter(tokens(reference))
    overlap = sum((predicted & expected).values())
    if overlap == 0:
        return 0.0
    precision = overlap / sum(predicted.values())
    recall = overlap / sum(expected.values())
    return 2 * precision * recall / (precision + recall)


def rouge_l(prediction: str, reference: str) -> float:
    """ROUGE-L F-measure (longest common subsequence), 0..1, from the `rouge-score` package."""
    return _rouge_scorer().score(reference, prediction)["rougeL"].fmeasure


def sentence_bleu(prediction: str, reference: str) -> float:
    """sacreBLEU sentence BLEU, 0..100, with exponential smoothing (short answers have few 4-grams)."""
    from sacrebleu.metrics import BLEU

    return BLEU(effective_order=True).sentence_score(prediction, [reference]).score


def corpus_bleu(predictions: Sequence[str], references: Sequence[str]) -> float | None:
    """sacreBLEU corpus BLEU, 0..100, over aligned prediction/reference lists; None when empty."""
    if not predictions:
        return None
    from sacrebleu.metrics import BLEU

    return BLEU().corpus_score(list(predictions), [list(references)]).score


def is_abstention(answer: str, abstained: bool) -> bool:
    """The engine abstained, or the model itself declined in words."""
    text = " ".join(answer.lower().replace("\u2019", "'").split())
    return abstained or any(phrase in text for phrase in _ABSTAIN_PHRASES) or bool(_UNSURE.search(text))


def precision_recall(predicted: Sequence[bool], actual: Sequence[bool]) -> tuple[float | None, float | None]:
    """(precision, recall) of `predicted` against `actual`; None where the denominator is zero."""
    true_positives = sum(p and a for p, a in zip(predicted, actual, strict=True))
    predicted_count, actual_count = sum(predicted), sum(actual)
    precision = true_positives / predicted_count if predicted_count else None
    recall = true_positives / actual_count if actual_count else None
    return precision, recall


def cited_numbers(answer: str) -> list[int]:
    """The source numbers an answer cites as [n], in order of first appearance."""
    return list(dict.fromkeys(int(number) for number in _CITATION.findall(answer)))


def citation_correctness(answer: str, shown_sources: Sequence[str], expected: Sequence[str]) -> float | None:
    """Share of the answer's citations [n] whose source n (1-based in `shown_sources`) is an expected one.

    A number beyond the sources shown counts as wrong. None when the answer cites nothing or no
    source is expected.
    """
    cited = cited_numbers(answer)
    if not cited or not expected:
        return None
    correct = sum(
        1 <= number <= len(shown_sources) and matches(shown_sources[number - 1], expected) for number in cited
    )
    return correct / len(cited)


def matches(source: str, expected: Iterable[str]) -> bool:
    """Whether a stored source path is one of `expected`, given relative to the ingested folder."""
    path = "/" + source.replace("\\", "/").lstrip("/")
    return any(path.endswith("/" + item.replace("\\", "/").lstrip("/")) for item in expected)


def first_relevant_rank(retrieved: Sequence[str], expected: Sequence[str]) -> int | None:
    """1-based rank of the first retrieved source that is expected; None when none is."""
    for rank, source in enumerate(retrieved, start=1):
        if matches(source, expected):
            return rank
    return None


def hit_at(rank: int | None, k: int) -> float:
    return 1.0 if rank is not None and rank <= k else 0.0


def reciprocal_rank(rank: int | None) -> float:
    return 1.0 / rank if rank else 0.0


def recall_at(retrieved: Sequence[str], expected: Sequence[str], k: int) -> float | None:
    """Share of the expected sources found among the first `k` retrieved; None when none is expected."""
    if not expected:
        return None
    top = retrieved[:k]
    return sum(any(matches(source, [item]) for source in top) for item in expected) / len(expected)


def mean(values: Iterable[float | None]) -> float | None:
    present = [value for value in values if value is not None and not math.isnan(value)]
    return sum(present) / len(present) if present else None


def percentile(values: Sequence[float], share: float) -> float | None:
    """The nearest-rank percentile (`share` in 0..1) of `values`; None when empty."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(0, math.ceil(share * len(ordered)) - 1)]


def relative_change(before: float | None, after: float | None) -> float | None:
    """(after - before) / before; None when either is missing or before is 0."""
    if before is None or after is None or before == 0 or math.isnan(before) or math.isnan(after):
        return None
    return (after - before) / before


@cache
def _rouge_scorer():
    from rouge_score.rouge_scorer import RougeScorer

    return RougeScorer(["rougeL"], use_stemmer=False)
