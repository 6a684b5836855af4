"""The optional password gate of the Documents and Training pages (setting `ui.admin_password`).

With no password set the pages are open. The check compares in constant time; once a session has
entered the password it stays unlocked for that browser session only.
"""

from __future__ import annotations

import hmac

import streamlit as st

from ui.state import session


def password_matches(entered: str, expected: str) -> bool:
    return hmac.compare_digest(entered.encode("utf-8"), expected.encode("utf-8"))


def admin_gate(expected: str) -> bool:
    """True when the page may render; otherwise shows the password form and returns False."""
    state = session()
    if not expected or state.admin_unlocked:
        return True
    st.info("This page changes the assistant; enter the admin password to continue.")
    with st.form("admin_password"):
        entered = st.text_input("Admin password", type="password")
        if st.form_submit_button("Unlock"):
            if password_matches(entered, expected):
                state.admin_unlocked = True
                st.rerun()
            st.error("Wrong password.")
    return False
