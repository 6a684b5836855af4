"""What the quote under an answer costs: picking the top source's sentences, against the search before it.

    python bench/bench_quote.py [--sentences 2]

Ingests data/docs with the real embedding model into a temporary index, then for every question of
data/eval/questions.jsonl times, alternating the order so drift in machine load hits both, the search the
retrieval modes run (`KnowledgeBase.search`, the assistant's `top_k`) and the quote of its top chunk
(`evidence.supporting_quote` with `KnowledgeBase.similarity`: sentence extraction plus one embedding batch).
Generation, which takes seconds, is not in either. The last line is the ratio of the quote's median time to
the search's.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from assistant.answer import Source  # noqa: E402
from assistant.builders import build_embedder  # noqa: E402
from assistant.evaluation.questions import load_questions  # noqa: E402
from assistant.evidence import sentences_of, supporting_quote  # noqa: E402
from core.settings import Settings  # noqa: E402
from ingest.knowledge_base import KnowledgeBase  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--sentences", type=int, default=2, help="Sentences quoted (assistant.quote_sentences)."
    )
    args = parser.parse_args()
    settings = Settings(device="cpu")
    questions, problems = load_questions(REPO / "data/eval/questions.jsonl")
    assert not problems, problems
    top_k = settings.assistant.top_k
    with (
        tempfile.TemporaryDirectory() as folder,
        KnowledgeBase(Path(folder), build_embedder(settings)) as knowledge_base,
    ):
        report = knowledge_base.ingest([REPO / "data/docs"])
        print(f"indexed {len(report.added)} documents, {report.chunks_written} chunks")
        for item in questions[:5]:  # warm up: the first index load, the model's first batches
            hits = knowledge_base.search(item.question, top_k)
            knowledge_base.similarity(item.question, [hit.text for hit in hits])
        searches, quotes, statements, quoted = [], [], [], 0
        for number, item in enumerate(questions):
            for which in (0, 1) if number % 2 == 0 else (1, 0):
                started = time.perf_counter()
                if which == 0:
                    hits = knowledge_base.search(item.question, top_k)
                    searches.append(time.perf_counter() - started)
                    continue
                top = [Source.of(1, hit) for hit in knowledge_base.search(item.question, 1)]
                started = time.perf_counter()
                quote = supporting_quote(item.question, "", top, knowledge_base.similarity, args.sentences)
                quotes.append(time.perf_counter() - started)
                quoted += bool(quote)
                statements.append(len(sentences_of(top[0].text)) if top else 0)
    search_ms, quote_ms = statistics.median(searches) * 1000, statistics.median(quotes) * 1000
    print(
        f"{len(questions)} questions, {quoted} quoted; sentences per top chunk: median {statistics.median(statements)}"
    )
    print(f"search (top {top_k}):       median {search_ms:.1f} ms, max {max(searches) * 1000:.1f} ms")
    print(f"quote ({args.sentences} sentences):   median {quote_ms:.1f} ms, max {max(quotes) * 1000:.1f} ms")
    print(
        f"BENCH quote {quote_ms / search_ms:.3f} median time of the quote over the search it follows (no generation)"
    )


if __name__ == "__main__":
    main()
