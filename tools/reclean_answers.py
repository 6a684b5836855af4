"""Apply today's answer filter to the stored answers of an evaluation's results.json and compare.

    python tools/reclean_answers.py docs/results/2026-12-02-final/results.json

For each mode: how many answered (not abstaining) answers the filter changes, and their mean keyword
accuracy and length before and after. It shows what a change to `assistant/answer_filter.py` does to
answers already generated, without generating again (the stored text is the model's output after the filter of its day).
A development tool, not part of the installed package.
"""

from __future__ import annotations

import argparse
import json
import statistics
from pathlib import Path

from assistant.answer_filter import clean
from assistant.evaluation.metrics import keyword_accuracy


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("results", type=Path, help="results.json of a `tunedesk eval` run")
    results = json.loads(parser.parse_args().results.read_text(encoding="utf-8"))
    modes = list(results["modes"])
    print(f"{'mode':<12} {'changed':>7}  keyword accuracy (answered)  words per answer")
    for mode in modes:
        changed, accuracy_before, accuracy_after, words_before, words_after = 0, [], [], [], []
        for item in results["answers"]:
            stored = item["modes"].get(mode)
            if stored is None or stored["abstained"]:
                continue
            text = clean(stored["answer"], len(stored["sources"]))
            changed += text != stored["answer"]
            words_before.append(len(stored["answer"].split()))
            words_after.append(len(text.split()))
            if item["keywords"]:
                accuracy_before.append(keyword_accuracy(stored["answer"], item["keywords"]))
                accuracy_after.append(keyword_accuracy(text, item["keywords"]))
        print(
            f"{mode:<12} {changed:>7}  {statistics.mean(accuracy_before):.3f} -> {statistics.mean(accuracy_after):.3f}"
            f"    {statistics.mean(words_before):.1f} -> {statistics.mean(words_after):.1f}"
        )


if __name__ == "__main__":
    main()
