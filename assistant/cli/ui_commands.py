"""CLI command: `ui`, which starts the Streamlit app with this invocation's settings.

    tunedesk [--home DIR] [--device D] [--config FILE] ui [--host 127.0.0.1] [--port 8501]

The app reads its settings from the environment, so --home and --device are passed on as
TUNEDESK_HOME / TUNEDESK_DEVICE (and --config is already in TUNEDESK_CONFIG). The app itself lives in ui/.
"""

from __future__ import annotations

import importlib.util
import math
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Annotated

import typer

from assistant.cli.context import settings_of


def register(app: typer.Typer) -> None:
    """Add this command to the root app."""
    app.command("ui")(ui)


def ui(
    ctx: typer.Context,
    host: Annotated[
        str, typer.Option("--host", help="Address to listen on; 0.0.0.0 for every interface.")
    ] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", help="Port to listen on.")] = 8501,
) -> None:
    """Start the web app: chat, side-by-side comparison, documents, training and evaluation."""
    # Only the app's folder is needed, to start it in its own process: found, not imported.
    app_package = importlib.util.find_spec("ui")
    settings = settings_of(ctx)
    package_root = Path(app_package.origin).resolve().parent.parent
    env = os.environ | {
        "TUNEDESK_HOME": str(settings.home.resolve()),
        "TUNEDESK_DEVICE": settings.device,
        "HF_HUB_OFFLINE": "1",
        # The app imports ui/, assistant/ ... from where this command was installed.
        "PYTHONPATH": os.pathsep.join(filter(None, [str(package_root), os.environ.get("PYTHONPATH")])),
    }
    command = [
        sys.executable,
        "-m",
        "streamlit",
        "run",
        str(package_root / "ui" / "app.py"),
        "--server.address",
        host,
        "--server.port",
        str(port),
        "--server.headless",
        "true",
        "--server.fileWatcherType",
        "none",
        # Streamlit refuses bigger uploads before our own check sees them; keep both limits in step (MiB).
        "--server.maxUploadSize",
        str(math.ceil(settings.ingest.max_file_mb)),
        "--browser.gatherUsageStats",
        "false",
        "--client.toolbarMode",
        "viewer",  # no "Deploy" button or developer menu: this is a self-hosted app
    ]
    typer.echo(f"Tunedesk app on http://{host}:{port} (home {settings.home})")
    app_process = subprocess.Popen(command, env=env)
    # `kill` (SIGTERM) stops the app too: without this the server would outlive this command, still
    # listening, its parent gone. Ctrl+C reaches both already (the terminal signals the whole group).
    previous = signal.signal(signal.SIGTERM, lambda *_: app_process.terminate())
    try:
        code = app_process.wait()
    except KeyboardInterrupt:
        app_process.wait()
        code = 0
    finally:
        signal.signal(signal.SIGTERM, previous)
    raise typer.Exit(code)
