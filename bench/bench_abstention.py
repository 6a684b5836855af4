"""Calibrate the abstention threshold (`assistant.min_score`) on the sample documents and questions.

    python bench/bench_abstention.py

Ingests data/docs with the real embedding model into a temporary index, takes the best chunk score of
every question in data/eval/questions.jsonl, and picks the threshold that best separates the questions
the documents answer (kind `doc`) from those they do not (kind `unanswerable`); see assistant/abstention.py.
Prints the score distributions, the chosen threshold, and how the configured default does. The last line
compares the balanced accuracy of the configured default with the best threshold.
"""

from __future__ import annotations

import json
import statistics
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from assistant.abstention import calibrate  # noqa: E402
from assistant.builders import build_embedder  # noqa: E402
from assistant.settings import Settings  # noqa: E402
from ingest.knowledge_base import KnowledgeBase  # noqa: E402


def best_scores(knowledge_base: KnowledgeBase, questions: list[dict], kind: str) -> list[float]:
    scores = []
    for item in questions:
        if item["kind"] == kind:
            hits = knowledge_base.search(item["question"], 1)
            scores.append(hits[0].score if hits else -1.0)
    return scores


def describe(name: str, scores: list[float]) -> str:
    ordered = sorted(scores)
    return (
        f"{name:13s} n={len(scores):3d} min {ordered[0]:.3f} median {statistics.median(ordered):.3f} "
        f"max {ordered[-1]:.3f}"
    )


def main() -> None:
    settings = Settings(device="cpu")
    questions = [
        json.loads(line) for line in (REPO / "data/eval/questions.jsonl").read_text().splitlines() if line
    ]
    with (
        tempfile.TemporaryDirectory() as folder,
        KnowledgeBase(Path(folder), build_embedder(settings)) as knowledge_base,
    ):
        report = knowledge_base.ingest([REPO / "data/docs"])
        print(f"indexed {len(report.added)} documents, {report.chunks_written} chunks")
        answerable = best_scores(knowledge_base, questions, "doc")
        unanswerable = best_scores(knowledge_base, questions, "unanswerable")
    print(describe("doc", answerable))
    print(describe("unanswerable", unanswerable))
    best = calibrate(answerable, unanswerable)
    default = settings.assistant.min_score
    kept = sum(score >= default for score in answerable) / len(answerable)
    refused = sum(score < default for score in unanswerable) / len(unanswerable)
    configured = (kept + refused) / 2
    print(
        f"best threshold {best.threshold:.3f}: answers {best.answerable_kept:.0%} of doc questions, "
        f"refuses {best.unanswerable_refused:.0%} of unanswerable (balanced accuracy {best.balanced_accuracy:.3f})"
    )
    print(
        f"configured min_score {default:.3f}: answers {kept:.0%}, refuses {refused:.0%} "
        f"(balanced accuracy {configured:.3f})"
    )
    print(
        f"BENCH abstention {configured / best.balanced_accuracy:.3f} balanced accuracy of the configured min_score vs the best threshold"
    )


if __name__ == "__main__":
    main()
