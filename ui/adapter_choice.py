"""The adapter the app answers with in tuned modes, chosen on the Training page and kept in `<home>/active_adapter.json`.

Resolution order: the stored choice (while that adapter still exists), else the configured
`assistant.adapter`, else the most recently trained adapter, else none.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from finetune.adapters import AdapterInfo, read_active, write_active


def stored_choice(home: Path) -> str | None:
    """The adapter name saved in `home`, or None when none was chosen or the file is unreadable."""
    name = read_active(home).get("adapter")
    return name if isinstance(name, str) else None


def store_choice(home: Path, name: str) -> None:
    write_active(home, name, "chosen on the Training page")


def active_adapter(home: Path, adapters: Sequence[AdapterInfo], configured: str | None) -> str | None:
    """The adapter tuned modes use now (see the module docstring for the order)."""
    names = {info.name for info in adapters}
    for candidate in (stored_choice(home), configured):
        if candidate and candidate in names:
            return candidate
    newest = sorted(adapters, key=lambda info: info.created)
    return newest[-1].name if newest else None
