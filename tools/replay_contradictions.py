"""Run today's contradiction check on the stored answers of evaluation runs, without generating again.

    python tools/replay_contradictions.py docs/results/*/results.json

Reads every rag and tuned+rag answer the model wrote from sources (it generated tokens and was shown some),
takes the model's own words (without the quote, past exchange and flag lines the engine appended) and prints
each sentence `assistant/contradiction.py` flags, with the source sentence that denies it, then the counts.
A development tool, not part of the installed package.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from assistant.answer import Source
from assistant.contradiction import contradictions
from assistant.precedent import own_words

MODES = ("rag", "tuned+rag")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("results", type=Path, nargs="+", help="results.json files of `tunedesk eval` runs")
    arguments = parser.parse_args()
    answers = flagged = 0
    for path in arguments.results:
        results = json.loads(path.read_text(encoding="utf-8"))
        for item in results["answers"]:
            for mode in MODES:
                stored = item["modes"].get(mode)
                if stored is None or not stored["sources"] or stored["completion_tokens"] <= 0:
                    continue
                answers += 1
                sources = [Source(**source) for source in stored["sources"]]
                found = contradictions(own_words(stored["answer"]), sources)
                flagged += bool(found)
                for contradiction in found:
                    print(
                        f"{path.parent.name} {mode} {item['id']}: {contradiction.sentence!r} "
                        f"against source {contradiction.source_number}: {contradiction.source_sentence!r}"
                    )
    print(f"{len(arguments.results)} runs, {answers} answers written from sources, {flagged} flagged")


if __name__ == "__main__":
    main()
