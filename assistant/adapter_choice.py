"""Which adapter a tuned mode uses: the one rule, for the CLI, the API and the app alike.

An adapter named with the question (`--adapter`, the API's model name) wins; else the `assistant.adapter`
setting; else the active adapter, chosen on the app's Training page and kept in the home, while it still
exists; else the most recently trained one; else none. A name given explicitly or by the setting is kept
even when no such adapter exists, so the answer says "unknown adapter" instead of silently using another.

Full fine-tunes are whole models, not adapters a tuned mode can switch to (the generators put LoRA-style
adapters on the one base model), so the rule never picks one, not even when it is the newest or was chosen
on the Training page. Knows nothing about settings: the builders pass the names in.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # finetune.adapters pulls in torch
    from finetune.adapters import AdapterInfo


def switchable(adapters: Iterable[AdapterInfo]) -> list[AdapterInfo]:
    """The adapters a tuned mode can switch to: every published one except full fine-tunes."""
    return [info for info in adapters if info.method != "full"]


def choose_adapter(
    adapters: Sequence[AdapterInfo], *, configured: str | None = None, active: str | None = None
) -> str | None:
    """The adapter tuned modes use when the question names none (see the module docstring for the order)."""
    if configured:
        return configured
    usable = switchable(adapters)
    if active and active in {info.name for info in usable}:
        return active
    newest = sorted(usable, key=lambda info: info.created)
    return newest[-1].name if newest else None


def stored_choice(path: Path) -> str | None:
    """The adapter name saved in `path`, or None when none was chosen or the file is unreadable."""
    from finetune.adapters import read_active

    name = read_active(path).get("adapter")
    return name if isinstance(name, str) else None


def store_choice(path: Path, name: str, reason: str = "chosen on the Training page") -> None:
    from finetune.adapters import write_active

    write_active(path, name, reason)
