"""Preference tuning with KTO: continues an existing adapter on unpaired thumbs up/down, publishes a new one.

    tunedesk train --from-feedback --name support-fb     (picks KTO when the feedback holds no pairs)

Most chat feedback is one answer rated up or down, with no second answer to compare it with: DPO needs
pairs, KTO (Ethayarajh et al., 2024) learns from each rated answer alone. Rows are TRL's unpaired
format: `prompt` (chat messages: what the model read, the sources included), `completion` (the
assistant message) and `label` (True for thumbs up). The recipe is TRL's `KTOTrainer` run by
`finetune.preference`; `metrics.json` carries the last KL estimate and rewards under `kto`.
Knows nothing about where the ratings came from.
"""

from __future__ import annotations

from collections.abc import Sequence

from transformers import TrainerCallback

from core.settings import Settings
from finetune.preference import PreferenceMethod, Rows, train_preference
from finetune.recipe import TrainResult

FIGURES = ("kl", "rewards/chosen", "rewards/rejected", "rewards/margins")


def train_kto(
    settings: Settings,
    examples: Rows,
    from_adapter: str,
    name: str,
    *,
    origin: str,
    beta: float = 0.1,
    skipped: Sequence[str] = (),
    force: bool = False,
    callbacks: Sequence[TrainerCallback] = (),
) -> TrainResult:
    """Train adapter `name` from adapter `from_adapter` on rated `examples`; publish it atomically."""
    from trl import KTOConfig, KTOTrainer

    desirable = sum(bool(row["label"]) for row in examples)
    method = PreferenceMethod(
        name="kto",
        config_class=KTOConfig,
        trainer_class=KTOTrainer,
        options={
            "beta": beta,
            # KTO's paper weighs the rarer side up so both kinds of feedback pull equally (its eq. 8).
            **_balance(desirable, len(examples) - desirable),
            # The KL term pairs each prompt with its batch neighbour's completion, fixed when the data is
            # prepared: batches must keep that order.
            "train_sampling_strategy": "sequential",
        },
        good_answers=lambda rows: [(row["prompt"], row["completion"]) for row in rows if row["label"]],
        figures=FIGURES,
    )
    return train_preference(
        settings,
        method,
        examples,
        from_adapter,
        name,
        origin=origin,
        skipped=skipped,
        force=force,
        callbacks=callbacks,
    )


def _balance(desirable: int, undesirable: int) -> dict[str, float]:
    """Loss weights so that desirable_weight * n_desirable equals undesirable_weight * n_undesirable."""
    if not desirable or not undesirable:
        return {"desirable_weight": 1.0, "undesirable_weight": 1.0}
    if desirable >= undesirable:
        return {"desirable_weight": 1.0, "undesirable_weight": round(desirable / undesirable, 3)}
    return {"desirable_weight": round(undesirable / desirable, 3), "undesirable_weight": 1.0}
