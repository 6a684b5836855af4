"""Promotion: a new adapter becomes the active one only when it does not lose to it on the evaluation questions."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from assistant.builders import default_adapter
from assistant.cli.app import app
from assistant.evaluation.promotion import decide
from core.settings import override
from finetune.adapters import read_active
from finetune.train import train

# Made-up domain: kettles. The transcripts teach the reference answers' wording to different questions,
# so the evaluation-leak filter keeps them and the reference answers become likely.
ANSWERS = (
    "The descaling light turns green after twenty seconds.",
    "Hold the boil button for five seconds to reset the kettle.",
    "The filter lifts out from the spout and rinses under water.",
)
QUESTIONS = (
    "why is my kettle light red after cleaning it",
    "the kettle will not switch on any more, what now",
    "where does the limescale mesh go",
)
CUSTOMER_TURNS = (
    "Is the descale cycle finished yet?",
    "Mine froze with all lamps blinking.",
    "How do I wash that little net?",
    "What does the green lamp mean?",
    "It stopped heating after the power cut.",
    "Can the mesh go in the dishwasher?",
)


@pytest.fixture(scope="module")
def kettle_files(tmp_path_factory) -> tuple[Path, Path]:
    folder = tmp_path_factory.mktemp("kettle")
    transcripts = folder / "kettle.jsonl"
    with transcripts.open("w", encoding="utf-8") as stream:
        for index, turn in enumerate(CUSTOMER_TURNS * 2):
            reply = ANSWERS[index % len(ANSWERS)]
            messages = [
                {"role": "user", "content": f"{turn} ({index})"},
                {"role": "assistant", "content": reply},
            ]
            stream.write(json.dumps({"messages": messages}) + "\n")
    questions = folder / "questions.jsonl"
    lines = [
        {"question": q, "answer": a, "keywords": a.split()[1:3], "sources": [], "kind": "doc"}
        for q, a in zip(QUESTIONS, ANSWERS, strict=True)
    ]
    questions.write_text("".join(json.dumps(line) + "\n" for line in lines), encoding="utf-8")
    return transcripts, questions


@pytest.fixture(scope="module")
def two_adapters(tmp_path_factory, make_settings, kettle_files, transcripts):
    """`strong` learned the kettle answers; `weak` took one tiny step on unrelated chats. No review yet."""
    transcripts, questions = kettle_files
    home = tmp_path_factory.mktemp("promotion-home")
    settings = override(
        make_settings(home, max_steps=12, learning_rate=2e-2, check_memorisation=False),
        **{"data.eval_questions": str(questions), "data.validation_fraction": 0.0},
    )
    train(settings, [transcripts], "strong")
    train(
        override(settings, **{"training.max_steps": 1, "training.learning_rate": 1e-5}), [transcripts], "weak"
    )
    return home, settings


def test_decide_directions_and_margins():
    assert decide("new", "old", "keyword_accuracy", 0.5, 0.6, 0.0).promoted is False
    assert decide("new", "old", "keyword_accuracy", 0.5, 0.6, 0.1).promoted is True  # within the margin
    assert decide("new", "old", "token_f1", 0.6, 0.6, 0.0).promoted is True  # a tie does not lose
    assert decide("new", "old", "perplexity", 12.0, 10.0, 0.1).promoted is False  # lower is better, 20% worse
    assert decide("new", "old", "perplexity", 10.5, 10.0, 0.1).promoted is True
    kept = decide("new", "old", "perplexity", 12.0, 10.0, 0.0)
    assert kept.active == "old" and "not promoted: perplexity 12.000 > 10.000" in kept.reason
    assert decide("new", "old", "token_f1", None, 0.3, 0.0).promoted is False


def test_a_worse_adapter_is_kept_but_not_promoted(two_adapters):
    from assistant.adapter_review import promote

    home, settings = two_adapters
    compare = override(settings, **{"training.promote_metric": "perplexity"})
    first = promote(compare, "strong", None)
    assert first.promoted and read_active(home / "active_adapter.json")["adapter"] == "strong"

    decision = promote(compare, "weak", "strong")

    assert not decision.promoted and decision.active == "strong"
    assert decision.new_score > decision.active_score  # perplexity of the reference answers
    assert default_adapter(settings) == "strong"  # although `weak` is the newest
    recorded = json.loads((home / "adapters" / "weak" / "metrics.json").read_text())["promotion"]
    assert recorded["promoted"] is False and recorded["reason"] == decision.reason
    assert recorded["questions"] == len(QUESTIONS)


def test_the_cli_lists_the_decision_and_activate_overrides_it(two_adapters):
    from assistant.adapter_review import promote

    home, settings = two_adapters
    compare = override(settings, **{"training.promote_metric": "perplexity"})
    promote(compare, "weak", "strong")
    runner = CliRunner()

    listed = runner.invoke(app, ["--home", str(home), "adapters", "list"])
    assert listed.exit_code == 0, listed.output
    assert "* active (used by the tuned modes): strong" in listed.stdout
    assert "not promoted: perplexity" in listed.stdout

    activated = runner.invoke(app, ["--home", str(home), "adapters", "activate", "weak"])
    assert activated.exit_code == 0, activated.output
    assert default_adapter(settings) == "weak"
    assert read_active(home / "active_adapter.json")["reason"].startswith("activated by hand")

    unknown = runner.invoke(app, ["--home", str(home), "adapters", "activate", "ghost"])
    assert unknown.exit_code == 1 and "unknown adapter 'ghost'" in unknown.output
    runner.invoke(app, ["--home", str(home), "adapters", "activate", "strong"])


def test_a_better_adapter_is_promoted_on_answer_metrics(two_adapters):
    from assistant.adapter_review import promote

    home, settings = two_adapters
    compare = override(
        settings, **{"training.promote_metric": "token_f1", "training.promote_max_new_tokens": 12}
    )
    decision = promote(compare, "strong", "weak")
    assert decision.metric == "token_f1" and decision.questions == len(QUESTIONS)
    assert 0.0 <= decision.new_score <= 1.0 and 0.0 <= decision.active_score <= 1.0
    assert decision.promoted == (decision.new_score >= decision.active_score)
    assert read_active(home / "active_adapter.json")["adapter"] == decision.active


def test_without_a_metric_the_new_adapter_is_promoted_and_says_why(two_adapters):
    from assistant.adapter_review import promote

    home, settings = two_adapters
    decision = promote(settings, "weak", "strong")
    assert decision.promoted and "training.promote_metric is not set" in decision.reason
    assert default_adapter(settings) == "weak"
    missing = override(
        settings, **{"training.promote_metric": "perplexity", "data.eval_questions": str(home / "none.jsonl")}
    )
    assert "data.eval_questions" in promote(missing, "strong", "weak").reason
    assert default_adapter(settings) == "strong"
