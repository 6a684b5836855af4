"""Shared helpers for CLI commands: the settings of this invocation, and a one-line error exit."""

from __future__ import annotations

from typing import NoReturn

import typer

from assistant.settings import Settings, SettingsError, override

EXIT_OK = 0
EXIT_INPUT_FAILED = 1  # some input could not be processed; the rest went through
EXIT_USAGE = 2


def settings_of(ctx: typer.Context, **overrides: object) -> Settings:
    """The settings built by the root callback, with a command's own flags (dotted keys) on top."""
    try:
        return override(ctx.find_root().obj, **overrides)
    except SettingsError as error:
        fail(str(error), EXIT_USAGE)


def fail(message: str, code: int = EXIT_INPUT_FAILED) -> NoReturn:
    """Print `error: message` on stderr and exit with `code`."""
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(code)
