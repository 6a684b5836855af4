"""Which answer modes the app can offer right now, and which one the chat starts in.

The reason a mode cannot run is the one answer of assistant/availability.py, in the app's words.
Knows nothing about Streamlit; the pages show the notice this returns.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from assistant.answer import CORE_MODES, Mode, uses_examples
from assistant.availability import APP_HINTS, no_examples, unavailable

PREFERRED_MODES: tuple[Mode, ...] = ("tuned+rag", "rag", "tuned", "base")


@dataclass(frozen=True)
class ModeCheck:
    """What decides which modes can run now, found once per page run (ui/resources.py `mode_check`)."""

    adapter: str | None  # the one tuned modes use (assistant/adapter_choice.py), None when there is none
    adapters: Sequence[str]  # the adapters tuned modes can switch to
    has_documents: bool
    training: str | None = None  # a training run in progress, e.g. "**support** (step 3 of 24)"
    has_examples: bool = False  # example exchanges for the fewshot modes exist

    def unavailable(self, mode: Mode) -> str | None:
        """Why `mode` cannot run now, or None when it can."""
        if uses_examples(mode) and not self.has_examples:
            return no_examples(mode)
        return unavailable(
            mode,
            adapter=self.adapter,
            adapters=self.adapters,
            has_documents=self.has_documents,
            training=self.training,
            hints=APP_HINTS,
        )

    def available(self) -> list[Mode]:
        # The fewshot modes are an experiment, offered on the Compare page only.
        return [mode for mode in CORE_MODES if self.unavailable(mode) is None]


def default_mode(check: ModeCheck) -> tuple[Mode, str | None]:
    """The chat's starting mode (tuned+rag when possible) and a notice saying why it fell back, if it did."""
    offered = check.available()
    mode = next(mode for mode in PREFERRED_MODES if mode in offered)
    # tuned needs only the adapter and rag only the documents, so their reasons name each missing piece once.
    missing = [reason for reason in (check.unavailable("tuned"), check.unavailable("rag")) if reason]
    notice = f"Answering in **{mode}** mode: " + "; ".join(missing) + "." if missing else None
    return mode, notice
