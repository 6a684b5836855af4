"""Preference tuning with DPO: continues an existing adapter on preference pairs and publishes a new adapter.

    tunedesk train --dpo prefs.jsonl --from support --name support-dpo
    tunedesk train --from-feedback --name support-fb     (pairs from the chat database, see assistant/)

Pairs are TRL's preference format, one JSON object per line: `prompt`, `chosen`, `rejected`, each a
string or a list of chat messages. The prompt is what the model read when it answered: with retrieval,
the system prompt and the numbered sources, so the preference is learnt for the prompt the model sees
at answer time. The recipe is TRL's `DPOTrainer` run by `finetune.preference`; `metrics.json` carries
the last reward accuracies and margins under `dpo`. Knows nothing about where the preferences came from.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

from transformers import TrainerCallback

from core.settings import Settings
from finetune.preference import PreferenceMethod, Rows, train_preference
from finetune.recipe import TrainError, TrainResult

FIELDS = ("prompt", "chosen", "rejected")
FIGURES = ("rewards/accuracies", "rewards/margins", "rewards/chosen", "rewards/rejected")


def train_dpo(
    settings: Settings,
    pairs: Rows,
    from_adapter: str,
    name: str,
    *,
    origin: str,
    beta: float = 0.1,
    skipped: Sequence[str] = (),
    force: bool = False,
    callbacks: Sequence[TrainerCallback] = (),
) -> TrainResult:
    """Train adapter `name` from adapter `from_adapter` on `pairs`; publish it atomically."""
    from trl import DPOConfig, DPOTrainer

    method = PreferenceMethod(
        name="dpo",
        config_class=DPOConfig,
        trainer_class=DPOTrainer,
        options={"beta": beta},
        good_answers=lambda rows: [_as_messages(row["prompt"], row["chosen"]) for row in rows],
        figures=FIGURES,
    )
    return train_preference(
        settings,
        method,
        pairs,
        from_adapter,
        name,
        origin=origin,
        skipped=skipped,
        force=force,
        callbacks=callbacks,
    )


def load_preferences(path: Path) -> tuple[Rows, list[str]]:
    """(pairs, problems): the valid lines of a preference JSONL file, and `file:line: field: problem` per bad one."""
    try:
        lines = Path(path).read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as error:
        raise TrainError(f"{path}: cannot read the preference file ({error})") from None
    pairs, problems = [], []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            pairs.append(_pair(line))
        except ValueError as error:
            problems.append(f"{Path(path).name}:{number}: {error}")
    return pairs, problems


def _pair(line: str) -> dict:
    try:
        record = json.loads(line)
    except ValueError as error:
        raise ValueError(f"not valid JSON ({error.args[0]})") from None
    if not isinstance(record, dict):
        raise ValueError("each line must be a JSON object with prompt, chosen and rejected")
    for field in FIELDS:
        value = record.get(field)
        if isinstance(value, str):
            if not value.strip():
                raise ValueError(f"field '{field}': empty")
        elif not (
            isinstance(value, list)
            and value
            and all(
                isinstance(m, dict) and isinstance(m.get("role"), str) and isinstance(m.get("content"), str)
                for m in value
            )
        ):
            raise ValueError(f"field '{field}': give a string or a list of {{role, content}} messages")
    if isinstance(record["prompt"], str) != isinstance(record["chosen"], str) or isinstance(
        record["chosen"], str
    ) != isinstance(record["rejected"], str):
        raise ValueError(
            "fields 'prompt', 'chosen', 'rejected': use strings for all three or messages for all three"
        )
    if record["chosen"] == record["rejected"]:
        raise ValueError("fields 'chosen', 'rejected': identical answers carry no preference")
    return {field: record[field] for field in FIELDS}


def _as_messages(prompt: str | list[dict], answer: str | list[dict]) -> tuple[list[dict], list[dict]]:
    if isinstance(prompt, str):
        return [{"role": "user", "content": prompt}], [{"role": "assistant", "content": answer}]
    return prompt, answer
