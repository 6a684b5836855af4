"""The recipes' shared pieces: typed metrics in metrics.json's shape, the content-hash split of preference rows."""

from __future__ import annotations

import math

import pytest

from finetune.recipe import Perplexities, RunMetrics, rows_hash, split_rows


def test_run_metrics_write_the_metrics_json_shape():
    metrics = RunMetrics(
        steps=4,
        max_steps=6,
        train_loss=2.0,
        before=Perplexities(validation=40.0, general_text=30.0),
        after=Perplexities(validation=math.e**2, general_text=math.nan),
        train_tokens=900,
        tokens_per_second=120.0,
        runtime_s=7.5,
        sections={"dpo": {"rewards_margins": 0.3}},
    )
    written = metrics.to_dict()
    assert written["stopped_early"] is True and metrics.validation_loss == pytest.approx(2.0)
    assert written["perplexity"] == {
        "validation": {"before": 40.0, "after": pytest.approx(math.e**2)},
        "general_text": {"before": 30.0, "after": None},  # JSON has no NaN
    }
    assert written["dpo"] == {"rewards_margins": 0.3}
    no_split = RunMetrics(4, 4, None, metrics.before, Perplexities(math.nan, 1.0), 0, 0.0, 1.0)
    assert no_split.validation_loss is None and no_split.to_dict()["validation_loss"] is None


def test_rows_keep_their_side_of_the_split_when_others_are_added():
    rows = [{"prompt": f"q{i}", "label": i % 2 == 0} for i in range(20)]
    train, validation = split_rows(rows, validation_fraction=0.25, seed=3)
    assert validation and len(train) + len(validation) == 20
    more_train, more_validation = split_rows(
        [*rows, {"prompt": "new", "label": True}], validation_fraction=0.25, seed=3
    )
    assert all(row in more_validation for row in validation) and all(row in more_train for row in train)
    assert split_rows(rows[:1], validation_fraction=0.25, seed=3) == (rows[:1], [])
    assert rows_hash(rows) != rows_hash(rows[::-1])
