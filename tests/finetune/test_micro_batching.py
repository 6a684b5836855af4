"""Long samples train in micro-batches with accumulation; the effective batch never changes."""

import pytest

from finetune.train import micro_batching


@pytest.mark.parametrize(
    ("batch", "accumulation", "mean_tokens", "expected"),
    [
        (8, 1, 84.0, (8, 1)),  # short transcripts: one packed forward pass, as before
        (8, 1, 850.0, (1, 8)),  # retrieval-augmented samples: one at a time
        (8, 2, 300.0, (2, 8)),  # 3 would fit, but 8 is not divisible by 3
        (6, 1, 400.0, (2, 3)),
        (4, 1, 5000.0, (1, 4)),  # a sample longer than the cap still trains
    ],
)
def test_micro_batches_keep_the_effective_batch(batch, accumulation, mean_tokens, expected):
    micro, steps = micro_batching(batch, accumulation, mean_tokens, pack_tokens=1024)
    assert (micro, steps) == expected
    assert micro * steps == batch * accumulation
