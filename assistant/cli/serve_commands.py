"""CLI commands: `serve` (the OpenAI-compatible API) and `keys add/list/remove` (its API keys).

tunedesk [--home DIR] serve [--host 127.0.0.1] [--port 8000]
tunedesk keys add NAME [--admin]     prints the new key once; only its hash is stored
tunedesk keys list
tunedesk keys remove NAME
"""

from __future__ import annotations

from typing import Annotated

import typer

from assistant.cli.context import fail, settings_of
from ingest.knowledge_base import KnowledgeBaseError

keys_app = typer.Typer(help="API keys of `tunedesk serve`: with any key stored, every request needs one.")


def register(app: typer.Typer) -> None:
    """Add these commands to the root app."""
    app.command("serve")(serve)
    app.add_typer(keys_app, name="keys")


def serve(
    ctx: typer.Context,
    host: Annotated[
        str | None, typer.Option("--host", help="Address to listen on (api.host, default 127.0.0.1).")
    ] = None,
    port: Annotated[
        int | None, typer.Option("--port", help="Port to listen on (api.port, default 8000).")
    ] = None,
) -> None:
    """Serve the assistant as an OpenAI-compatible API: /v1/models, /v1/chat/completions, /v1/embeddings,
    and /v1/search and /v1/documents."""
    import uvicorn

    from assistant.api.build import build_app

    settings = settings_of(ctx, **{"api.host": host, "api.port": port})
    try:
        app = build_app(settings)
    except KnowledgeBaseError as error:  # the knowledge base or the ranking index cannot be opened
        fail(str(error))
    typer.echo(f"Tunedesk API on http://{settings.api.host}:{settings.api.port}/v1 (home {settings.home})")
    uvicorn.run(app, host=settings.api.host, port=settings.api.port, log_level="info")


@keys_app.command("add")
def add_key(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="A label for the key, e.g. the client using it.")],
    admin: Annotated[
        bool, typer.Option("--admin", help="May also upload documents (/v1/documents).")
    ] = False,
) -> None:
    """Create an API key and print it; it is shown only this once."""
    from assistant.api.auth import KeyStoreError
    from assistant.api.build import open_key_store

    try:
        key = open_key_store(settings_of(ctx)).add(name, admin=admin)
    except KeyStoreError as error:
        fail(str(error))
    typer.echo(key)


@keys_app.command("list")
def list_keys(ctx: typer.Context) -> None:
    """List the stored keys by name (the keys themselves are not stored)."""
    from assistant.api.auth import KeyStoreError
    from assistant.api.build import open_key_store

    try:
        records = open_key_store(settings_of(ctx)).records()
    except KeyStoreError as error:
        fail(str(error))
    for record in records:
        typer.echo(f"{record.name}\t{'admin' if record.admin else 'user'}\t{record.created}")


@keys_app.command("remove")
def remove_key(ctx: typer.Context, name: Annotated[str, typer.Argument(help="The key's name.")]) -> None:
    """Delete a key; requests using it are refused from now on."""
    from assistant.api.auth import KeyStoreError
    from assistant.api.build import open_key_store

    store = open_key_store(settings_of(ctx))
    try:
        store.remove(name)
    except KeyStoreError as error:
        fail(str(error))
    typer.echo(f"removed {name}")
    if not store.required():
        typer.echo("warning: no key is left, so the API is open to anyone who can reach it", err=True)
