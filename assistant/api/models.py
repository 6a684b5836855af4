"""The answer modes served as OpenAI "models": `tunedesk-base`, `tunedesk-rag`, `tunedesk-tuned`,
`tunedesk-tuned-rag`, `tunedesk-fewshot`, `tunedesk-fewshot-rag`, and per adapter `tunedesk-tuned:<adapter>`
and `tunedesk-tuned-rag:<adapter>` ("+" of a mode is written "-", as in every name).

A name without an adapter uses the default one (the configured or newest). Only modes that can run
now are listed: retrieval modes need documents, tuned modes an adapter, fewshot modes example exchanges.
Knows nothing about HTTP beyond the error it raises for an unknown name.
"""

from __future__ import annotations

from collections.abc import Sequence

from assistant.answer import MODES, Mode, uses_adapter, uses_examples, uses_retrieval
from assistant.api.errors import APIError

PREFIX = "tunedesk-"


def model_name(mode: Mode, adapter: str | None = None) -> str:
    name = PREFIX + mode.replace("+", "-")
    return f"{name}:{adapter}" if adapter else name


def served_models(
    *, has_documents: bool, adapters: Sequence[str], default_adapter: str | None, has_examples: bool
) -> list[str]:
    names = []
    for mode in MODES:
        if (uses_retrieval(mode) and not has_documents) or (uses_examples(mode) and not has_examples):
            continue
        if not uses_adapter(mode):
            names.append(model_name(mode))
            continue
        if default_adapter is not None:
            names.append(model_name(mode))
        names.extend(model_name(mode, adapter) for adapter in adapters)
    return names


def parse_model(name: str, served: Sequence[str]) -> tuple[Mode, str | None]:
    """(mode, adapter) of a served model name; HTTP 404 naming the served ones otherwise."""
    if name not in served:
        raise APIError(
            404,
            f"model {name!r} does not exist or cannot run now; served models: {', '.join(served)}",
            param="model",
            code="model_not_found",
        )
    base, _, adapter = name.partition(":")
    mode = next(mode for mode in MODES if model_name(mode) == base)
    return mode, adapter or None
