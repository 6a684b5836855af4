"""Whether a new adapter may replace the active one: both scored on the same evaluation questions.

Metrics: `keyword_accuracy` and `token_f1` of the answers (greedy, same mode, same questions; higher is
better), or `perplexity` of the questions' reference answers under each adapter (lower is better). The
new adapter is promoted when it does not lose by more than the margin: absolute for the answer metrics,
relative for perplexity. Knows nothing about settings, files or training.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from assistant.answer import Mode
from assistant.engine import Assistant
from assistant.evaluation.metrics import mean
from assistant.evaluation.questions import EvalQuestion
from assistant.evaluation.runner import answer_and_score

ANSWER_METRICS = ("keyword_accuracy", "token_f1")
LOWER_IS_BETTER = ("perplexity",)


@dataclass(frozen=True)
class Decision:
    promoted: bool
    reason: str
    active: str | None  # the adapter the tuned modes use after the decision
    metric: str | None = None
    new_score: float | None = None
    active_score: float | None = None
    margin: float = 0.0
    questions: int = 0

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def decide(
    new: str, active: str, metric: str, new_score: float | None, active_score: float | None, margin: float
) -> Decision:
    """Promote `new` unless it loses to `active` by more than `margin` on `metric`."""
    scores = {"metric": metric, "new_score": new_score, "active_score": active_score, "margin": margin}
    if new_score is None or active_score is None:
        missing = new if new_score is None else active
        return Decision(
            False, f"{metric} could not be measured for {missing!r} on these questions; kept {active!r}",
            active, **scores,
        )  # fmt: skip
    if metric in LOWER_IS_BETTER:
        limit = active_score * (1 + margin)
        wins, relation = new_score <= limit, "<=" if new_score <= limit else ">"
    else:
        limit = active_score - margin
        wins, relation = new_score >= limit, ">=" if new_score >= limit else "<"
    comparison = (
        f"{metric} {new_score:.3f} {relation} {limit:.3f} (active {active!r} {active_score:.3f}, "
        f"margin {margin:g})"
    )
    if wins:
        return Decision(True, f"promoted: {comparison}", new, **scores)
    return Decision(False, f"not promoted: {comparison}; kept {active!r}", active, **scores)


def answer_score(
    assistant: Assistant, questions: Sequence[EvalQuestion], mode: Mode, adapter: str, metric: str
) -> float | None:
    """Mean `metric` (keyword_accuracy or token_f1) of `adapter`'s answers; questions it does not apply
    to (no keywords, unanswerable) and failed answers are skipped."""
    values = []
    for question in questions:
        scored = answer_and_score(assistant, question, mode, adapter)
        values.append(scored.get("scores", {}).get(metric))
    return mean(values)


def reference_samples(questions: Sequence[EvalQuestion], tokenizer: Any, max_tokens: int) -> list[dict]:
    """Each question with its reference answer as a one-exchange conversation, scored on the answer only."""
    from finetune.collate import IGNORE_INDEX
    from finetune.conversation import Conversation, Message
    from finetune.tokenize import tokenize_conversation

    samples = []
    for question in questions:
        if not question.answer.strip():
            continue
        conversation = Conversation(
            (Message("user", question.question), Message("assistant", question.answer)), question.id
        )
        sample = tokenize_conversation(conversation, tokenizer, max_tokens=max_tokens)
        if any(label != IGNORE_INDEX for label in sample["labels"]):
            samples.append(sample)
    return samples


def reference_perplexities(
    model: Any, tokenizer: Any, samples: Sequence[dict], adapters: dict[str, Path]
) -> dict[str, float | None]:
    """Perplexity of the reference answers under each adapter (name -> folder), one base model shared."""
    from peft import PeftModel

    from finetune.perplexity import perplexity

    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id
    names = list(adapters)
    tuned = PeftModel.from_pretrained(model, adapters[names[0]], adapter_name=names[0]).eval()
    for name in names[1:]:
        tuned.load_adapter(adapters[name], adapter_name=name)
    result: dict[str, float | None] = {}
    for name in names:
        tuned.set_adapter(name)
        value = perplexity(tuned, samples, pad_token_id=pad)
        result[name] = value if math.isfinite(value) else None
    return result
