"""After training, from settings: the memorisation check and the promotion decision, recorded with the adapter.

    review_adapter(settings, "support", [Path("data/transcripts")], active_before="older")

This is a builder (it reads settings). Both steps sample through the generator the engine uses
(llama.cpp for the packaged GGUF model, else transformers), at temperature 0, so the same adapter and
data give the same review. Results go into the adapter's `metrics.json` ("memorisation", "promotion");
the decision into the home's active-adapter file.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from assistant.builders import build_assistant, build_generator, has_documents
from assistant.evaluation.promotion import (
    ANSWER_METRICS,
    Decision,
    answer_score,
    decide,
    reference_perplexities,
    reference_samples,
)
from assistant.evaluation.questions import load_questions, stratified
from core.settings import Settings, override
from finetune import adapters
from finetune.formats import load_all
from finetune.memorisation import MemorisationReport, build_probes, check_memorisation, find_secrets


def check_adapter_memorisation(
    settings: Settings,
    name: str,
    data_paths: Sequence[Path],
    *,
    samples: int,
    canaries: Sequence[str] = (),
    generator: Any = None,
) -> MemorisationReport:
    """Sample adapter `name` on prompts from the raw transcripts and record what came out."""
    from assistant.generation import Sampling

    info = adapters.find_adapter(settings.adapters_dir, name)
    conversations, _ = load_all(data_paths)
    secrets = find_secrets(conversations, keep=frozenset(settings.data.pii_keep), canaries=canaries)
    probes = build_probes(conversations, secrets, samples=samples, seed=settings.data.seed)
    generator = generator or build_generator(_greedy(settings))
    sampling = Sampling(max_new_tokens=settings.training.memorisation_tokens, temperature=0.0)
    report = check_memorisation(
        lambda messages: generator.complete(messages, adapter=name, sampling=sampling).text, probes, secrets
    )
    adapters.update_metrics(info.path, memorisation=report.to_dict())
    return report


def promote(settings: Settings, name: str, active_before: str | None, *, generator: Any = None) -> Decision:
    """Make `name` the active adapter unless it loses to `active_before` (see `training.promote_metric`)."""
    info = adapters.find_adapter(settings.adapters_dir, name)
    decision = _without_comparison(settings, info, active_before)
    if decision is None:
        decision = _compare(settings, name, active_before, generator)
    if decision.active is not None:
        adapters.write_active(settings.layout.active_adapter_file, decision.active, decision.reason)
    adapters.update_metrics(info.path, promotion=decision.to_dict())
    return decision


def review_adapter(
    settings: Settings, name: str, data_paths: Sequence[Path], active_before: str | None
) -> dict[str, Any]:
    """The short memorisation check (unless `training.check_memorisation` is off), then the promotion;
    one generator serves both. Returns what was added to the adapter's metrics."""
    settings = _greedy(settings)
    generator = build_generator(settings)
    review: dict[str, Any] = {}
    if settings.training.check_memorisation:
        report = check_adapter_memorisation(
            settings, name, data_paths, samples=settings.training.memorisation_samples, generator=generator
        )
        review["memorisation"] = report
    review["promotion"] = promote(settings, name, active_before, generator=generator)
    return review


def _greedy(settings: Settings) -> Settings:
    return override(
        settings,
        **{
            "generation.temperature": 0.0,
            "generation.max_new_tokens": settings.training.promote_max_new_tokens,
        },
    )


def _without_comparison(
    settings: Settings, info: adapters.AdapterInfo, active: str | None
) -> Decision | None:
    """The decision when there is nothing to compare (promoted, or not, with the reason), else None."""
    metric = settings.training.promote_metric
    questions = settings.data.eval_questions
    if info.method == "full":
        return Decision(False, "not promoted: a full fine-tune is a whole model, not an adapter", active)
    if metric is None:
        return Decision(True, "promoted without comparison: training.promote_metric is not set", info.name)
    if active is None or not (settings.adapters_dir / active).is_dir():
        return Decision(True, "promoted: there was no active adapter to compare with", info.name)
    if active == info.name:
        return Decision(
            True, "promoted: it replaced the active adapter of the same name (--force)", info.name
        )
    if questions is None or not Path(questions).is_file():
        return Decision(
            True,
            f"promoted without comparison: data.eval_questions ({questions}) is not a file; set it to compare",
            info.name,
        )
    return None


def _compare(settings: Settings, name: str, active: str, generator: Any) -> Decision:
    training = settings.training
    questions, _ = load_questions(Path(settings.data.eval_questions))
    chosen = stratified(questions, training.promote_questions)
    metric = training.promote_metric
    if metric in ANSWER_METRICS:
        rag = has_documents(settings)
        assistant = build_assistant(settings, generator=generator or build_generator(settings), retrieval=rag)
        mode = "tuned+rag" if rag else "tuned"
        scores = {
            adapter: answer_score(assistant, chosen, mode, adapter, metric) for adapter in (name, active)
        }
    else:
        scores = _perplexities(
            settings, chosen, {name: settings.adapters_dir / name, active: settings.adapters_dir / active}
        )
    decision = decide(name, active, metric, scores[name], scores[active], training.promote_margin)
    return Decision(**{**decision.to_dict(), "questions": len(chosen)})


def _perplexities(settings: Settings, questions, folders: dict[str, Path]) -> dict[str, float | None]:
    from core.device import resolve_device
    from finetune.base_model import load_base_model, load_tokenizer

    tokenizer = load_tokenizer(settings.model.base, settings.models_dir)
    model = load_base_model(settings.model.base, settings.models_dir, resolve_device(settings.device))
    samples = reference_samples(questions, tokenizer, settings.data.max_tokens)
    return reference_perplexities(model, tokenizer, samples, folders)
