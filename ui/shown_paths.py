"""How the app writes file paths: `<home>/…` under the home, relative under the working folder, so pages
(and screenshots of them) never show where this machine keeps its state. Pure functions, no Streamlit.
"""

from __future__ import annotations

from pathlib import Path

HOME = "<home>"


def shown_path(path: Path, home: Path) -> str:
    """`<home>/eval/x` for a path under the home, `data/eval/q.jsonl` under the working folder, else as given."""
    resolved = Path(path).resolve()
    try:
        inside = resolved.relative_to(Path(home).resolve())
        return HOME if inside == Path() else f"{HOME}/{inside.as_posix()}"
    except ValueError:
        pass
    try:
        return resolved.relative_to(Path.cwd().resolve()).as_posix()
    except ValueError:
        return str(path)


def without_home(text: str, home: Path) -> str:
    """`text` (an error message, a log) with the home's absolute path written as `<home>`."""
    # Longest first: the resolved form may extend the as-given one (a home reached through a symlink).
    for form in sorted({str(Path(home).resolve()), str(Path(home).absolute())}, key=len, reverse=True):
        text = text.replace(form, HOME)
    return text
