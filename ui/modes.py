"""Which answer modes the app can offer right now, and which one the chat starts in.

Knows nothing about Streamlit; the pages show the notice this returns.
"""

from __future__ import annotations

from assistant.answer import CORE_MODES, Mode, uses_adapter, uses_examples, uses_retrieval

PREFERRED_MODES: tuple[Mode, ...] = ("tuned+rag", "rag", "tuned", "base")


def available_modes(has_adapter: bool, has_documents: bool) -> list[Mode]:
    return [
        mode
        for mode in CORE_MODES  # the fewshot modes are an experiment, shown on the Compare page
        if (has_adapter or not uses_adapter(mode)) and (has_documents or not uses_retrieval(mode))
    ]


def waiting_for(training: str) -> str:
    return f"the adapter {training} is being trained; the tuned modes switch on when it is published"


def default_mode(
    has_adapter: bool, has_documents: bool, training: str | None = None
) -> tuple[Mode, str | None]:
    """The chat's starting mode (tuned+rag when possible) and a notice saying why it fell back, if it did.

    `training` describes a training run in progress (e.g. "support (step 3 of 24)"), if there is one.
    """
    offered = available_modes(has_adapter, has_documents)
    mode = next(mode for mode in PREFERRED_MODES if mode in offered)
    missing = []
    if not has_adapter:
        missing.append(
            waiting_for(training)
            if training
            else "no fine-tuned adapter exists yet (train one on the Training page)"
        )
    if not has_documents:
        missing.append("the knowledge base is empty (add documents on the Documents page)")
    notice = f"Answering in **{mode}** mode: " + "; ".join(missing) + "." if missing else None
    return mode, notice


def unavailable_reason(
    mode: Mode,
    has_adapter: bool,
    has_documents: bool,
    training: str | None = None,
    fewshot_problem: str | None = None,
) -> str | None:
    """Why `mode` cannot run now, or None when it can; `training` as in `default_mode`, `fewshot_problem`
    why there are no example exchanges (None: there are)."""
    if uses_examples(mode) and fewshot_problem:
        return fewshot_problem
    if uses_adapter(mode) and not has_adapter:
        if training:
            return waiting_for(training)
        return "needs a fine-tuned adapter; train one on the Training page"
    if uses_retrieval(mode) and not has_documents:
        return "needs documents; add some on the Documents page"
    return None
