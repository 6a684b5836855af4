"""Shared helpers for CLI commands: the settings of this invocation (with its home folder checked), a
one-line error exit, and the one line that describes an unexpected failure."""

from __future__ import annotations

import errno
import sqlite3
from collections.abc import Iterable
from pathlib import Path
from typing import NoReturn

import typer

from assistant.cli.home import HomeError, prepare_home
from core.settings import Settings, SettingsError, override

EXIT_OK = 0
EXIT_INPUT_FAILED = 1  # some input could not be processed; the rest went through
EXIT_USAGE = 2

# What to do about the operating-system errors a command meets most (disk full, read-only, no permission).
_OS_HINTS = {
    errno.ENOSPC: "free some disk space and run it again",
    errno.EDQUOT: "free some space in your disk quota and run it again",
    errno.EROFS: "the file system is read-only; choose a writable --home",
    errno.EACCES: "check the permissions of that path",
    errno.EPERM: "check the permissions of that path",
}


def settings_of(ctx: typer.Context, **overrides: object) -> Settings:
    """The settings built by the root callback, with a command's own flags (dotted keys) on top, once the
    home folder is checked for this command (see home.py)."""
    try:
        settings = override(ctx.find_root().obj, **overrides)
    except SettingsError as error:
        fail(str(error), EXIT_USAGE)
    try:
        created = prepare_home(settings.home, command_name(ctx))
    except HomeError as error:
        fail(str(error), EXIT_USAGE)
    if created:
        typer.echo(f"note: created the home folder {settings.home}", err=True)
    return settings


def command_name(ctx: typer.Context) -> str:
    """The command as typed after the global options: `docs list`, `ask`."""
    names = []
    while ctx.parent is not None:
        names.append(ctx.info_name or "")
        ctx = ctx.parent
    return " ".join(reversed(names))


def warn_skipped(problems: Iterable[object]) -> None:
    """`warning: skipped <problem>` on stderr for each bad input line left out (the rest goes on)."""
    for problem in problems:
        typer.echo(f"warning: skipped {problem}", err=True)


def fail(message: str, code: int = EXIT_INPUT_FAILED) -> NoReturn:
    """Print `error: message` on stderr and exit with `code`."""
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(code)


def describe_failure(error: OSError | sqlite3.Error, home: Path | None) -> str:
    """One line for a file-system or database error no command handled: the file (or, when the error
    does not say, the home folder the command worked in) and what to do."""
    folder = f"the home folder {home}" if home else "the home folder"
    if isinstance(error, sqlite3.Error):
        return (
            f"the SQLite database could not be used ({error}); check that {folder} is writable and has space"
        )
    where = " -> ".join(str(name) for name in (error.filename, error.filename2) if name is not None)
    reason = error.strerror or str(error) or type(error).__name__
    hint = _OS_HINTS.get(error.errno or 0, "run again with `tunedesk --debug ...` for the traceback")
    if where:
        return f"{where}: {reason}; {hint}"
    return f"{reason} (working in {folder}); {hint}"
