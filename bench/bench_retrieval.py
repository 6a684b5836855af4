"""Retrieval benchmark: hit@k of hybrid search before and after document-aware ranking, and of dense search.

    python bench/bench_retrieval.py [--docs data/docs] [--questions data/eval/questions.jsonl] [--home DIR]

Ingests `--docs` into a fresh knowledge base with the configured embedding model (or reuses the index
in `--home`), chooses the fusion weights on the calibration split of the questions that have
expected sources (`tunedesk calibrate-search`'s function and split), then runs `KnowledgeBase.search`
(near-duplicates dropped, top 5) for every question in each variant: dense alone; hybrid as it was
(chunks ranked alone, no limit per document); hybrid keeping one chunk per document; and the
configured default, which adds the document channel with its weight calibrated. Each variant's
weights are calibrated for it. Prints hit@1/3/5 and MRR on the report split (never seen by the
calibration) and on all questions. The last line is
`BENCH retrieval_document <default hit@5 / hit@5 before on the report split> ...`.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from assistant.builders import build_embedder, open_knowledge_base  # noqa: E402
from assistant.evaluation import metrics  # noqa: E402
from assistant.evaluation.questions import load_questions  # noqa: E402
from assistant.evaluation.retrieval_calibration import calibrate_search, split_questions  # noqa: E402
from core.settings import load_settings, override  # noqa: E402
from ingest.hybrid import save_weights  # noqa: E402
from ingest.search_calibration import DOCUMENT_WEIGHTS  # noqa: E402

K = 5
BEFORE, AFTER = "hybrid before", "default"


def scores(knowledge_base, questions) -> dict[str, float]:
    ranks = []
    for question in questions:
        retrieved = [hit.source for hit in knowledge_base.search(question.question, K)]
        ranks.append(metrics.first_relevant_rank(retrieved, question.sources))
    result = {f"hit@{k}": metrics.mean(metrics.hit_at(rank, k) for rank in ranks) for k in (1, 3, 5)}
    result["mrr"] = metrics.mean(metrics.reciprocal_rank(rank) for rank in ranks)
    return result


def variants(settings) -> dict[str, tuple[dict, tuple[float, ...]]]:
    """Name -> (settings overrides, document channel weights the calibration may choose from)."""
    default_cap = settings.retrieval.max_chunks_per_document
    return {
        "dense": ({"retrieval.mode": "dense", "retrieval.max_chunks_per_document": 0}, (0.0,)),
        BEFORE: ({"retrieval.mode": "hybrid", "retrieval.max_chunks_per_document": 0}, (0.0,)),
        "1 per document": ({"retrieval.mode": "hybrid", "retrieval.max_chunks_per_document": 1}, (0.0,)),
        AFTER: ({"retrieval.max_chunks_per_document": default_cap}, DOCUMENT_WEIGHTS),
    }


def main(args: argparse.Namespace) -> None:
    settings = load_settings(home=args.home or Path(tempfile.mkdtemp(prefix="bench-retrieval-")))
    embedder = build_embedder(settings)
    options = settings.retrieval
    with open_knowledge_base(settings, embedder=embedder) as knowledge_base:
        if not knowledge_base.documents():
            report = knowledge_base.ingest([args.docs])
            assert not report.failed, report.failed[:3]
    questions = [q for q in load_questions(args.questions)[0] if q.sources]
    _, report = split_questions(questions, options.calibration_fraction, options.calibration_seed)
    figures, chosen = {}, {}
    # The default runs last, so the index folder keeps its weights.
    for name, (overrides, document_weights) in variants(settings).items():
        variant = override(settings, **overrides)
        with open_knowledge_base(variant, embedder=embedder) as knowledge_base:
            calibration = calibrate_search(
                knowledge_base,
                args.questions,
                fraction=options.calibration_fraction,
                seed=options.calibration_seed,
                candidates=options.candidates,
                document_weights=document_weights,
            )
            save_weights(knowledge_base.directory, calibration.weights)
            chosen[name] = calibration
            figures[name] = {
                "report": scores(knowledge_base, report),
                "all": scores(knowledge_base, questions),
            }
    print(f"embedding model: {settings.embedding.model}; index: {settings.index_dir}")
    for name, calibration in chosen.items():
        w = calibration.weights
        print(
            f"{name}: weights chosen on {calibration.calibration_questions} questions: dense {w.dense:g}, "
            f"keyword {w.keyword:g}, rrf_k {w.rrf_k:g}, heading weight {w.heading_weight:g}, document {w.document:g}"
        )
    for split, count in (("report", len(report)), ("all", len(questions))):
        for name in figures:
            line = "  ".join(f"{metric} {value:.3f}" for metric, value in figures[name][split].items())
            print(f"{split:<6} ({count:2d} questions) {name:<15} {line}")
    before, after = figures[BEFORE]["report"], figures[AFTER]["report"]
    print(
        f"BENCH retrieval_document {after['hit@5'] / before['hit@5']:.3f} hit@5 default vs hybrid before on the "
        f"{len(report)} report-split questions ({after['hit@5']:.3f} vs {before['hit@5']:.3f}; hit@1 "
        f"{after['hit@1']:.3f} vs {before['hit@1']:.3f})"
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--docs", type=Path, default=REPO / "data" / "docs")
    parser.add_argument("--questions", type=Path, default=REPO / "data" / "eval" / "questions.jsonl")
    parser.add_argument("--home", type=Path, help="Reuse (or build) the knowledge base in this home.")
    main(parser.parse_args())
