"""Retrieval benchmark: hit@k of hybrid search against dense search alone, on the sample questions.

    python bench/bench_retrieval.py [--docs data/docs] [--questions data/eval/questions.jsonl] [--home DIR]

Ingests `--docs` into a fresh knowledge base with the configured embedding model (or reuses the index
in `--home`), chooses the fusion weights on the calibration split of the questions that have
expected sources (`tunedesk calibrate-search`'s function and split), then runs `KnowledgeBase.search`
(near-duplicates dropped, top 5) for every question twice, once with retrieval mode `dense` and once
`hybrid`, and prints hit@1/3/5 and MRR on the report split (never seen by the calibration) and on
all questions. The last line is `BENCH retrieval_hybrid <hybrid hit@5 / dense hit@5 on the report split> ...`.
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

K = 5


def scores(knowledge_base, questions) -> dict[str, float]:
    ranks = []
    for question in questions:
        retrieved = [hit.source for hit in knowledge_base.search(question.question, K)]
        ranks.append(metrics.first_relevant_rank(retrieved, question.sources))
    result = {f"hit@{k}": metrics.mean(metrics.hit_at(rank, k) for rank in ranks) for k in (1, 3, 5)}
    result["mrr"] = metrics.mean(metrics.reciprocal_rank(rank) for rank in ranks)
    return result


def main(args: argparse.Namespace) -> None:
    settings = load_settings(home=args.home or Path(tempfile.mkdtemp(prefix="bench-retrieval-")))
    embedder = build_embedder(settings)
    options = settings.retrieval
    with open_knowledge_base(settings, embedder=embedder) as knowledge_base:
        if not knowledge_base.documents():
            report = knowledge_base.ingest([args.docs])
            assert not report.failed, report.failed[:3]
        calibration = calibrate_search(
            knowledge_base,
            args.questions,
            fraction=options.calibration_fraction,
            seed=options.calibration_seed,
            candidates=options.candidates,
        )
        save_weights(knowledge_base.directory, calibration.weights)
    questions = [q for q in load_questions(args.questions)[0] if q.sources]
    _, report = split_questions(questions, options.calibration_fraction, options.calibration_seed)
    figures = {}
    for mode in ("dense", "hybrid"):
        mode_settings = override(settings, **{"retrieval.mode": mode})
        with open_knowledge_base(mode_settings, embedder=embedder) as knowledge_base:
            figures[mode] = {
                "report": scores(knowledge_base, report),
                "all": scores(knowledge_base, questions),
            }
    weights = calibration.weights
    print(f"embedding model: {settings.embedding.model}; index: {settings.index_dir}")
    print(
        f"weights chosen on {calibration.calibration_questions} questions: dense {weights.dense:g}, "
        f"keyword {weights.keyword:g}, rrf_k {weights.rrf_k:g}, heading weight {weights.heading_weight:g}"
    )
    for split, count in (("report", len(report)), ("all", len(questions))):
        for mode in ("dense", "hybrid"):
            line = "  ".join(f"{name} {value:.3f}" for name, value in figures[mode][split].items())
            print(f"{split:<6} ({count:2d} questions) {mode:<6} {line}")
    dense, hybrid = figures["dense"]["report"]["hit@5"], figures["hybrid"]["report"]["hit@5"]
    print(
        f"BENCH retrieval_hybrid {hybrid / dense:.3f} hit@5 hybrid vs dense on the {len(report)} report-split "
        f"questions ({hybrid:.3f} vs {dense:.3f}; hit@1 {figures['hybrid']['report']['hit@1']:.3f} vs "
        f"{figures['dense']['report']['hit@1']:.3f})"
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--docs", type=Path, default=REPO / "data" / "docs")
    parser.add_argument("--questions", type=Path, default=REPO / "data" / "eval" / "questions.jsonl")
    parser.add_argument("--home", type=Path, help="Reuse (or build) the knowledge base in this home.")
    main(parser.parse_args())
