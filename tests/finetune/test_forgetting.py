"""The forgetting guard: the verdict on a run (`training.max_forgetting`) and general text mixed into
training (`data.mix_in`), with a bad mix-in file refused in one line."""

from __future__ import annotations

import json
import math

import pytest
from transformers import AutoTokenizer

from finetune.forgetting import MixInError, assess, describe, mix_in_samples
from finetune.general_probe import ProbeResult
from finetune.train import train

PROBE_BEFORE, PROBE_AFTER = ProbeResult(0.75, 1.2), ProbeResult(0.5, 0.4)


def record(before: float, after: float, *, limit: float = 0.1, mix_in: str | None = None) -> dict:
    return assess(
        before, after, PROBE_BEFORE, PROBE_AFTER, max_forgetting=limit, mix_in=mix_in, mixed_samples=0
    )


def test_a_rise_over_the_limit_marks_the_run_and_says_what_to_do():
    marked = record(40.0, 46.0, limit=0.1)
    assert marked["general_text_rise"] == pytest.approx(0.15) and marked["marked"]
    line = describe(marked)
    assert line.startswith("FORGETTING:") and "+15.0%" in line and "75% -> 50%" in line
    assert 'data.mix_in = "general"' in line


def test_a_rise_within_the_limit_or_a_fall_passes():
    for after in (43.9, 40.0, 30.0):
        passed = record(40.0, after, limit=0.1)
        assert not passed["marked"] and describe(passed).startswith("forgetting check passed")
    assert record(40.0, 40.4, limit=0.0)["marked"]  # a limit of 0 marks any rise


def test_an_unmeasured_perplexity_is_never_marked():
    for before, after in ((math.nan, 40.0), (40.0, math.inf), (0.0, 10.0)):
        unmeasured = record(before, after, limit=0.0)
        assert unmeasured["general_text_rise"] is None and not unmeasured["marked"]
        assert "n/a" in describe(unmeasured)


@pytest.fixture(scope="module")
def tokenizer(tiny_model_dir):
    return AutoTokenizer.from_pretrained(tiny_model_dir)


def test_mix_in_reads_the_packaged_text_or_a_file(tmp_path, tokenizer):
    assert mix_in_samples(None, tokenizer, max_tokens=64) == []
    packaged = mix_in_samples("general", tokenizer, max_tokens=64)
    assert len(packaged) >= 10 and all(0 < len(sample["input_ids"]) <= 64 for sample in packaged)
    assert all(sample["labels"] == sample["input_ids"] for sample in packaged)  # every token is learned
    own = tmp_path / "general.txt"
    own.write_text("The sun rises in the east.\n\n\nWater boils at 100 degrees Celsius.\n", encoding="utf-8")
    assert len(mix_in_samples(str(own), tokenizer, max_tokens=64)) == 2


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (None, "cannot read it (FileNotFoundError)"),
        ("\n\n  \n", "holds no text"),
        ("caf\xe9 au lait".encode("latin-1"), "cannot read it (UnicodeDecodeError)"),
    ],
)
def test_a_bad_mix_in_file_is_one_line_naming_the_setting(tmp_path, tokenizer, content, expected):
    path = tmp_path / "mix.txt"
    if isinstance(content, str):
        path.write_text(content, encoding="utf-8")
    elif isinstance(content, bytes):
        path.write_bytes(content)
    with pytest.raises(MixInError) as caught:
        mix_in_samples(str(path), tokenizer, max_tokens=64)
    message = str(caught.value)
    assert message.startswith(f"data.mix_in {str(path)!r}") and expected in message and "\n" not in message


@pytest.mark.slow  # trains the tiny model twice
def test_training_records_the_mix_in_and_the_verdict(tmp_path, tiny_settings, support_jsonl):
    plain = tiny_settings(tmp_path / "plain", max_forgetting=0.0)
    mixed = plain.model_copy(
        update={"home": tmp_path / "mixed", "data": plain.data.model_copy(update={"mix_in": "general"})}
    )

    folders = {name: train(settings, [support_jsonl], name).adapter_dir for name, settings in
               (("plain", plain), ("mixed", mixed))}  # fmt: skip
    metrics = {name: json.loads((folder / "metrics.json").read_text()) for name, folder in folders.items()}
    config = {
        name: json.loads((folder / "training_config.json").read_text()) for name, folder in folders.items()
    }

    assert metrics["plain"]["forgetting"]["mix_in"] == {"source": None, "samples": 0}
    assert metrics["mixed"]["forgetting"]["mix_in"]["source"] == "general"
    assert metrics["mixed"]["forgetting"]["mix_in"]["samples"] >= 10
    # The general paragraphs are training samples on top of the same conversations.
    assert (
        config["mixed"]["train_conversations"]
        == config["plain"]["train_conversations"] + (metrics["mixed"]["forgetting"]["mix_in"]["samples"])
    )
    for run in metrics.values():
        forgetting = run["forgetting"]
        general = run["perplexity"]["general_text"]
        assert forgetting["general_text_rise"] == pytest.approx(
            general["after"] / general["before"] - 1, abs=1e-3
        )
        assert forgetting["marked"] == (forgetting["general_text_rise"] > 0.0)
        assert set(forgetting["probe"]) == {"before", "after"}
