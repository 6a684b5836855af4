"""The adapter the app answers with in tuned modes, chosen on the Training page and kept in the home's
active-adapter file.

Resolution order: the stored choice (while that adapter still exists), else the configured
`assistant.adapter`, else the most recently trained adapter, else none.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

from finetune.adapters import AdapterInfo
from finetune.checkpoints import write_json_atomic


def stored_choice(path: Path) -> str | None:
    """The adapter name saved in `path`, or None when none was chosen or the file is unreadable."""
    try:
        return json.loads(path.read_text(encoding="utf-8")).get("adapter")
    except (OSError, ValueError, AttributeError):
        return None


def store_choice(path: Path, name: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    write_json_atomic(path, {"adapter": name})


def active_adapter(path: Path, adapters: Sequence[AdapterInfo], configured: str | None) -> str | None:
    """The adapter tuned modes use now (see the module docstring for the order)."""
    names = {info.name for info in adapters}
    for candidate in (stored_choice(path), configured):
        if candidate and candidate in names:
            return candidate
    newest = sorted(adapters, key=lambda info: info.created)
    return newest[-1].name if newest else None
