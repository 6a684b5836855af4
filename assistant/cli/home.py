"""Checks the home folder before a command uses it, so a mistyped `--home` is never silently created.

It must be a folder. Commands that only read it need it to exist; the others create it (the caller says
so once) and, when they keep state there, need to be able to write in it. Knows the commands only by
their names (`docs list`); what each command does with the folder is not its business.
"""

from __future__ import annotations

import os
from pathlib import Path

# `doctor --repair` writes, but on a read-only home the knowledge base refuses it in one line itself.
READ_ONLY_COMMANDS = frozenset(
    {"docs list", "search", "doctor", "adapters list", "keys list", "feedback export"}
)
# These write only the base model converted once under <home>/models, so they still run on a read-only
# home that already holds it (anything else they cannot write is reported by the last-resort handler).
CACHE_ONLY_COMMANDS = frozenset({"ask", "compare", "data check"})


class HomeError(ValueError):
    """The home folder cannot serve this command; the message names the folder and what to do."""


def prepare_home(home: Path, command: str) -> bool:
    """Check (and create, for commands that may write) `home` for `command`; True when it was created."""
    if home.exists() and not home.is_dir():
        raise HomeError(f"home {home} is not a directory; point --home (or TUNEDESK_HOME) at a folder")
    if command in READ_ONLY_COMMANDS:
        if not home.is_dir():
            raise HomeError(
                f"home folder {home} does not exist; check --home (or TUNEDESK_HOME), "
                "or create it with `tunedesk ingest PATH`"
            )
        return False
    created = not home.is_dir()
    if created:
        try:
            home.mkdir(parents=True)
        except OSError as error:
            raise HomeError(
                f"home folder {home} cannot be created ({error.strerror}); choose another --home"
            ) from None
    if command not in CACHE_ONLY_COMMANDS and not os.access(home, os.W_OK):
        raise HomeError(
            f"home folder {home} is read-only and `{command}` writes there; make it writable or "
            "choose another --home"
        )
    return created
