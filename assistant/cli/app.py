"""The `tunedesk` command: global options, then one sub-command per job.

    tunedesk [--home DIR] [--device auto|cpu|cuda] [--config FILE] COMMAND ...

This module only wires settings to commands; each command group lives in its own module and the
work itself lives in the library packages (ingest/, finetune/, assistant/).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from assistant.cli import (
    chat_commands,
    data_commands,
    embedder_commands,
    eval_commands,
    finetune_commands,
    knowledge_commands,
    serve_commands,
    ui_commands,
)
from assistant.settings import SettingsError, load_settings

app = typer.Typer(
    name="tunedesk",
    help="Turn a small open LLM into a domain support assistant.",
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
) -> None:
    try:
        ctx.obj = load_settings(config_file=config, home=home, device=device)
    except SettingsError as error:
        typer.echo(f"error: {error}", err=True)
        raise typer.Exit(2) from None


knowledge_commands.register(app)
embedder_commands.register(app)
data_commands.register(app)
finetune_commands.register(app)
chat_commands.register(app)
ui_commands.register(app)
serve_commands.register(app)
eval_commands.register(app)


def main() -> None:
    app()
