"""Which answer modes the app can offer right now, and which one the chat starts in.

Knows nothing about Streamlit; the pages show the notice this returns.
"""

from __future__ import annotations

from assistant.answer import MODES, Mode, uses_adapter, uses_retrieval

PREFERRED_MODES: tuple[Mode, ...] = ("tuned+rag", "rag", "tuned", "base")


def available_modes(has_adapter: bool, has_documents: bool) -> list[Mode]:
    return [
        mode
        for mode in MODES
        if (has_adapter or not uses_adapter(mode)) and (has_documents or not uses_retrieval(mode))
    ]


def default_mode(has_adapter: bool, has_documents: bool) -> tuple[Mode, str | None]:
    """The chat's starting mode (tuned+rag when possible) and a notice saying why it fell back, if it did."""
    offered = available_modes(has_adapter, has_documents)
    mode = next(mode for mode in PREFERRED_MODES if mode in offered)
    missing = []
    if not has_adapter:
        missing.append("no fine-tuned adapter exists yet (train one on the Training page)")
    if not has_documents:
        missing.append("the knowledge base is empty (add documents on the Documents page)")
    notice = f"Answering in **{mode}** mode: " + "; ".join(missing) + "." if missing else None
    return mode, notice


def unavailable_reason(mode: Mode, has_adapter: bool, has_documents: bool) -> str | None:
    """Why `mode` cannot run now, or None when it can."""
    if uses_adapter(mode) and not has_adapter:
        return "needs a fine-tuned adapter; train one on the Training page"
    if uses_retrieval(mode) and not has_documents:
        return "needs documents; add some on the Documents page"
    return None
