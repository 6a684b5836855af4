"""The per-browser-session state of the app, behind one typed object instead of string keys.

Everything here belongs to one user's session and lives in `st.session_state`; nothing per-user is
ever put in a shared cache. Conversations themselves are persisted in SQLite; the session only
remembers which ones it owns, and the URL carries the open one so a reload keeps it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import streamlit as st

from ui.blind import BlindRound

_KEY = "tunedesk_ui"
_CONVERSATION_PARAM = "conversation"


@dataclass
class SessionState:
    conversation_id: str | None = None
    conversations: list[str] = field(default_factory=list)  # ids this session opened, newest last
    compare_question: str = ""
    compare_answers: dict[str, dict[str, Any]] = field(default_factory=dict)  # mode -> Answer.to_dict()
    compare_errors: dict[str, str] = field(default_factory=dict)
    blind: BlindRound | None = None
    ingest_report: list[tuple[str, str, str]] = field(default_factory=list)  # (file, status, detail)
    training_run: str | None = None  # name of the run this session watches
    admin_unlocked: bool = False


def session() -> SessionState:
    """This session's state, created on first use; the open conversation is restored from the URL."""
    state = st.session_state.get(_KEY)
    if state is None:
        state = SessionState()
        restored = st.query_params.get(_CONVERSATION_PARAM)
        if restored:
            state.conversation_id = restored
            state.conversations.append(restored)
        st.session_state[_KEY] = state
    return state


def open_conversation(state: SessionState, conversation_id: str) -> None:
    """Make `conversation_id` the open one, remember it, and put it in the URL."""
    state.conversation_id = conversation_id
    if conversation_id not in state.conversations:
        state.conversations.append(conversation_id)
    st.query_params[_CONVERSATION_PARAM] = conversation_id


def close_conversation(state: SessionState) -> None:
    """Start afresh: the next question opens a new conversation."""
    state.conversation_id = None
    st.query_params.pop(_CONVERSATION_PARAM, None)
