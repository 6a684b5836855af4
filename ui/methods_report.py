"""Finds the newest training-methods comparison (`tunedesk methods`) under `<home>/eval/` for display.

Reads the files that assistant/evaluation/method_table.py writes; knows nothing about how they were made.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from assistant.evaluation.method_table import CHART_NAME, JSON_NAME, TABLE_NAME

PREFIX = "methods-"


@dataclass(frozen=True)
class MethodsReport:
    name: str
    table: str  # methods.md
    chart: Path | None


def newest_methods_report(root: Path) -> MethodsReport | None:
    """The newest comparison in `root` (the home's eval folder; folder names are UTC timestamps), or None."""
    if not root.is_dir():
        return None
    folders = sorted(
        (
            child
            for child in root.iterdir()
            if child.name.startswith(PREFIX) and (child / JSON_NAME).is_file()
        ),
        reverse=True,
    )
    if not folders:
        return None
    folder = folders[0]
    table_file, chart = folder / TABLE_NAME, folder / CHART_NAME
    table = table_file.read_text(encoding="utf-8", errors="replace") if table_file.is_file() else ""
    return MethodsReport(folder.name, table, chart if chart.is_file() else None)
