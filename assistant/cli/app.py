"""The `tunedesk` command: global options, then one sub-command per job.

    tunedesk [--home DIR] [--device auto|cpu|cuda] [--config FILE] [--debug] COMMAND ...

This module only wires settings to commands; each command group lives in its own module and the
work itself lives in the library packages (ingest/, finetune/, assistant/). A file-system or database
error no command handled (a full disk, a read-only file system) or an unusable calibration file ends as
one `error:` line naming the file, with exit code 1; `--debug` shows its traceback instead.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Annotated, Any

import typer
from typer.core import TyperGroup

from assistant.calibration import CalibrationError
from assistant.cli import (
    calibrate_commands,
    chat_commands,
    data_commands,
    embedder_commands,
    eval_commands,
    fewshot_commands,
    finetune_commands,
    knowledge_commands,
    methods_commands,
    serve_commands,
    ui_commands,
)
from assistant.cli.context import EXIT_INPUT_FAILED, EXIT_USAGE, describe_failure
from core.settings import SettingsError, load_settings


class _Commands(TyperGroup):
    """The root group: runs a command and turns anything it left unhandled into one line on stderr."""

    def invoke(self, ctx: typer.Context) -> Any:
        try:
            return super().invoke(ctx)
        except BrokenPipeError:
            raise  # the reader of our output went away (`| head`): typer exits quietly
        except CalibrationError as error:  # the home's calibration file, read by any command that answers
            typer.echo(f"error: {error}", err=True)
            raise typer.Exit(EXIT_INPUT_FAILED) from None
        except (OSError, sqlite3.Error) as error:
            if ctx.params.get("debug"):
                raise
            home = ctx.obj.home if ctx.obj is not None else None
            typer.echo(f"error: {describe_failure(error, home)}", err=True)
            raise typer.Exit(EXIT_INPUT_FAILED) from None


app = typer.Typer(
    name="tunedesk",
    help="Turn a small open LLM into a domain support assistant.",
    cls=_Commands,
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


@app.callback()
def configure(
    ctx: typer.Context,
    home: Annotated[
        Path | None, typer.Option("--home", help="State folder (env TUNEDESK_HOME, default ./.tunedesk).")
    ] = None,
    device: Annotated[
        str | None, typer.Option("--device", help="auto, cpu, cuda or mps (env TUNEDESK_DEVICE).")
    ] = None,
    config: Annotated[
        Path | None, typer.Option("--config", help="TOML settings file (env TUNEDESK_CONFIG).")
    ] = None,
    debug: Annotated[
        bool, typer.Option("--debug", help="Show the traceback of an unexpected error, not one line.")
    ] = False,
) -> None:
    try:
        ctx.obj = load_settings(config_file=config, home=home, device=device)
    except SettingsError as error:
        typer.echo(f"error: {error}", err=True)
        raise typer.Exit(EXIT_USAGE) from None


knowledge_commands.register(app)
embedder_commands.register(app)
data_commands.register(app)
finetune_commands.register(app)
chat_commands.register(app)
ui_commands.register(app)
serve_commands.register(app)
eval_commands.register(app)
calibrate_commands.register(app)
fewshot_commands.register(app)
methods_commands.register(app)


def main() -> None:
    app()
