"""Why an answer mode cannot run now, or None: the one answer the engine, the CLI and the app give.

A tuned mode needs an adapter that exists (the one named, else the one the rule of adapter_choice.py
picks); a retrieval mode needs documents. What to do about a missing piece is said in the words of the
shell that asks (`Hints`); while a training run is in progress the tuned modes say that they wait for it
instead. Knows nothing about settings, models or how the facts were found: the callers pass them in.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

from assistant.answer import Mode, uses_adapter, uses_retrieval


@dataclass(frozen=True)
class Hints:
    """What the user does about a missing piece, in the words of the shell that asks."""

    train: str
    add_documents: str


CLI_HINTS = Hints(
    train="create one with `tunedesk train`", add_documents="add them with `tunedesk ingest PATH`"
)
APP_HINTS = Hints(train="train one on the Training page", add_documents="add some on the Documents page")


def waiting_for(training: str) -> str:
    """The tuned modes' answer while `training` (e.g. "**support** (step 3 of 24)") is in progress."""
    return f"the adapter {training} is being trained; the tuned modes switch on when it is published"


def unavailable(
    mode: Mode,
    *,
    adapter: str | None,
    adapters: Collection[str],
    has_documents: bool,
    training: str | None = None,
    hints: Hints = CLI_HINTS,
) -> str | None:
    """Why `mode` cannot run, or None when it can. `adapter`: the one a tuned mode would use; `adapters`:
    those that exist; `training`: a training run in progress, if any."""
    if uses_adapter(mode):
        if adapter is None:
            if training:
                return waiting_for(training)
            return f"mode {mode} needs a fine-tuned adapter and none exists yet; {hints.train}"
        if adapter not in adapters:
            return f"unknown adapter {adapter!r} (known: {', '.join(adapters) or 'none yet'})"
    if uses_retrieval(mode) and not has_documents:
        return f"mode {mode} needs documents and the knowledge base is empty; {hints.add_documents}"
    return None


def no_examples(mode: Mode) -> str:
    """Why a fewshot mode cannot run: there are no example exchanges to show it."""
    return (
        f"mode {mode} needs example exchanges and none are set up; build them with "
        "`tunedesk fewshot-index TRANSCRIPTS` or set assistant.fewshot_data"
    )
