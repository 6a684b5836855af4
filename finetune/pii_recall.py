"""Measure the scrubber on a hand-labelled set of support sentences: recall per kind and false positives.

The set (`pii_labelled.jsonl`, shipped with the package) was written by hand, apart from the
scrubber's code and from any one domain's data: each line is `{"text", "pii": [{"kind", "value"}],
"keep"?}`; lines with no `pii` are clean support sentences that must come through unchanged. The
figures describe that set, not the user's data. This module knows nothing about conversations.
"""

from __future__ import annotations

import functools
import json
from collections import Counter
from dataclasses import dataclass
from importlib import resources

from finetune.pii import PLACEHOLDERS, scrub

LABELLED_SET = "pii_labelled.jsonl"


@dataclass(frozen=True)
class LabelledItem:
    text: str
    pii: tuple[tuple[str, str], ...]  # (kind, value) pairs; empty for a clean sentence
    keep: frozenset[str]


@dataclass(frozen=True)
class ScrubberQuality:
    """Recall per kind (found / labelled values) and the clean sentences the scrubber changed."""

    found: dict[str, int]
    labelled: dict[str, int]
    false_positives: tuple[tuple[str, str], ...]  # (clean sentence, what the scrubber made of it)
    clean_sentences: int

    @property
    def recall(self) -> dict[str, float]:
        return {kind: self.found.get(kind, 0) / count for kind, count in sorted(self.labelled.items())}

    def to_dict(self) -> dict:
        return {
            "measured_on": f"the labelled set shipped with Tunedesk ({LABELLED_SET}), not your data",
            "recall": self.recall,
            "values": {
                kind: [self.found.get(kind, 0), count] for kind, count in sorted(self.labelled.items())
            },
            "clean_sentences": self.clean_sentences,
            "false_positives": [{"clean": a, "scrubbed": b} for a, b in self.false_positives],
        }


def labelled_items() -> list[LabelledItem]:
    """The shipped labelled set, in file order."""
    text = resources.files("finetune").joinpath(LABELLED_SET).read_text(encoding="utf-8")
    items = []
    for line in text.splitlines():
        if line.strip():
            record = json.loads(line)
            pairs = tuple((entry["kind"], entry["value"]) for entry in record["pii"])
            items.append(LabelledItem(record["text"], pairs, frozenset(record.get("keep", ()))))
    return items


@functools.cache
def measure(ner_model: str | None = None) -> ScrubberQuality:
    """Scrub every labelled item; a value counts as found when it is gone and its kind's placeholder is there.

    Each item is scrubbed with its own keep-list (the company names it mentions).
    """
    found: Counter[str] = Counter()
    labelled: Counter[str] = Counter()
    false_positives = []
    clean = 0
    for item in labelled_items():
        scrubbed, _ = scrub(item.text, keep=item.keep, ner_model=ner_model)
        if not item.pii:
            clean += 1
            if scrubbed != item.text:
                false_positives.append((item.text, scrubbed))
        for kind, value in item.pii:
            labelled[kind] += 1
            found[kind] += value not in scrubbed and PLACEHOLDERS[kind] in scrubbed
    return ScrubberQuality(dict(found), dict(labelled), tuple(false_positives), clean)
