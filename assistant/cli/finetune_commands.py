"""CLI commands: `train`, `adapters list|remove|merge`."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    """Add these commands to the root app."""
