"""Preference training from the chat database: DPO where pairs exist, KTO otherwise, and the reward before/after.

    tunedesk train --from-feedback --name support-fb [--from support] [--eval-limit 20]

The feedback (blind votes and thumbs) is read from the store and every prompt rebuilt as the model
read it, sources included (assistant/preferences.py). Pairs (a vote, or an up and a down for the same
question) train DPO; without any pair, the thumbs alone train KTO. The run starts from the adapter the
tuned modes use (`--from` chooses another) and publishes a new adapter; the old one is kept. Then the
rule-based reward (evaluation/reward.py) is measured on up to `eval_limit` evaluation questions with
the old adapter and with the new one, in tuned+rag (tuned when the knowledge base is empty), and
written under `reward` in the new adapter's `metrics.json`.

This is the builder of such a run: the only code here that reads settings.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from transformers import TrainerCallback

from assistant.builders import answer_time_prompt, default_adapter, has_documents, open_storage
from assistant.evaluation.pipeline import evaluate
from assistant.preferences import Feedback, collect_feedback
from core.settings import Settings, override
from finetune.base_model import load_tokenizer
from finetune.checkpoints import write_json_atomic
from finetune.dpo import train_dpo
from finetune.kto import train_kto
from finetune.recipe import TrainError, TrainResult


@dataclass(frozen=True)
class FeedbackRun:
    method: str  # "dpo" | "kto"
    from_adapter: str
    feedback: Feedback
    result: TrainResult
    reward: dict[str, Any] | None  # {"mode", "questions", "before", "after"}; None when not measured


def train_from_feedback(
    settings: Settings,
    name: str,
    *,
    from_adapter: str | None = None,
    eval_limit: int = 20,
    force: bool = False,
    callbacks: Sequence[TrainerCallback] = (),
) -> FeedbackRun:
    """Train adapter `name` on the store's feedback from `from_adapter` (default: the tuned modes' adapter)."""
    start = from_adapter or default_adapter(settings)
    if start is None:
        raise TrainError(
            "--from-feedback: no adapter to start from; train one with `tunedesk train DATA --name NAME` "
            "or pass --from ADAPTER"
        )
    storage = open_storage(settings)
    tokenizer = load_tokenizer(settings.model.base, settings.models_dir)
    feedback = collect_feedback(
        storage, answer_time_prompt(settings, tokenizer), frozenset(settings.data.pii_keep)
    )
    origin = f"feedback in {storage.path.name}"
    options = {"origin": origin, "skipped": feedback.left_out, "force": force, "callbacks": callbacks}
    if feedback.pairs:
        method, result = "dpo", train_dpo(settings, feedback.pairs, start, name, **options)
    elif feedback.rated:
        method, result = "kto", train_kto(settings, feedback.rated, start, name, **options)
    else:
        raise TrainError(
            f"{storage.path}: no feedback to train on ({feedback.votes_skipped} tie/both-bad votes, "
            f"{len(feedback.left_out)} rated answers the engine abstained on); rate answers in the app first"
        )
    reward = reward_before_after(settings, start, name, eval_limit) if eval_limit > 0 else None
    if reward is not None:
        metrics = {**result.metrics.to_dict(), "reward": reward}
        write_json_atomic(result.adapter_dir / "metrics.json", metrics)
    return FeedbackRun(method, start, feedback, result, reward)


def reward_before_after(settings: Settings, before: str, after: str, limit: int) -> dict[str, Any] | None:
    """Mean rule reward of adapters `before` and `after` on `limit` evaluation questions; None without
    an evaluation questions file."""
    questions = settings.data.eval_questions
    if questions is None or not questions.is_file():
        return None
    mode = "tuned+rag" if has_documents(settings) else "tuned"
    figures: dict[str, Any] = {"mode": mode}
    for label, adapter in (("before", before), ("after", after)):
        run = evaluate(
            override(settings, **{"assistant.adapter": adapter}),
            questions,
            [mode],
            out=settings.adapters_dir / after / "reward_eval" / label,
            limit=limit,
            progress=False,
        )
        summary = run.results["modes"][mode]
        figures["questions"] = summary["answered"]
        figures[label] = summary["reward"]
    return figures
