"""The answer modes served as OpenAI "models": `tunedesk-base`, `tunedesk-rag`, `tunedesk-tuned`,
`tunedesk-tuned-rag`, `tunedesk-fewshot`, `tunedesk-fewshot-rag`, and per adapter `tunedesk-tuned:<adapter>`
and `tunedesk-tuned-rag:<adapter>` ("+" of a mode is written "-", as in every name).

A name without an adapter uses the default one (assistant/adapter_choice.py). Only modes that can run
now are listed, by the engine's own answer (assistant/availability.py): retrieval modes need documents,
tuned modes an adapter that exists, fewshot modes example exchanges.
Knows nothing about HTTP beyond the error it raises for an unknown name.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from assistant.answer import MODES, Mode, uses_adapter
from assistant.api.errors import APIError

PREFIX = "tunedesk-"


def model_name(mode: Mode, adapter: str | None = None) -> str:
    name = PREFIX + mode.replace("+", "-")
    return f"{name}:{adapter}" if adapter else name


def served_models(
    unavailable: Callable[[Mode, str | None], str | None], adapters: Sequence[str]
) -> list[str]:
    """The names that can answer now; `unavailable(mode, adapter)` is the engine's `Assistant.unavailable`."""
    names = []
    for mode in MODES:
        if unavailable(mode, None) is None:
            names.append(model_name(mode))
        if uses_adapter(mode):
            names.extend(
                model_name(mode, adapter) for adapter in adapters if unavailable(mode, adapter) is None
            )
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
