"""Start an app training run from a terminal, or wait for it: `python -m ui.start_training NAME DATA... [--wait]`.

`make demo` uses it so that the adapter it trains in the background is an ordinary app run: the
Training page shows it live and the tuned modes say they are waiting for it. It starts nothing when
the adapter exists already or a run of that name is still going, so running the demo again never
starts a second training. Settings come from the environment (TUNEDESK_HOME and the rest), as in the app.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from core.settings import SettingsError, load_settings, override
from finetune.adapters import AdapterError, adapter_dir, list_adapters
from ui.training_runs import RunError, read_run, start_run

POLL_S = 10.0  # progress is written once per optimiser step, which takes several seconds on a CPU


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m ui.start_training", description=__doc__)
    parser.add_argument("name", help="adapter name: <home>/adapters/NAME/")
    parser.add_argument("data", nargs="+", type=Path, help="transcript files or folders")
    parser.add_argument("--max-steps", type=int, default=None, help="stop after N optimiser steps")
    parser.add_argument("--wait", action="store_true", help="wait until the adapter is published")
    args = parser.parse_args(argv)
    try:
        settings = override(load_settings(), **{"training.max_steps": args.max_steps})
        adapter_dir(settings.adapters_dir, args.name)  # refuses a bad name before any path is built from it
    except (SettingsError, AdapterError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    folder = settings.layout.training / args.name
    if _published(settings.adapters_dir, args.name):
        print(f"adapter {args.name} exists in {settings.adapters_dir}; not training it again")
        return 0
    if folder.is_dir() and read_run(folder).active:
        print(f"adapter {args.name} is already training; progress in {folder / 'progress.json'}")
    else:
        try:
            start_run(settings, args.data, args.name)
        except RunError as error:
            print(f"error: {error}", file=sys.stderr)
            return 1
        print(f"training {args.name} in the background; log in {folder / 'train.log'}")
    return _wait(folder, settings.adapters_dir, args.name) if args.wait else 0


def _published(adapters_dir: Path, name: str) -> bool:
    return any(info.name == name for info in list_adapters(adapters_dir))


def _wait(folder: Path, adapters_dir: Path, name: str) -> int:
    while True:
        run = read_run(folder)
        if not run.active:
            if run.status == "done" and _published(adapters_dir, name):
                return 0
            print(
                f"error: training {name} {run.status}: {run.error} (log: {folder / 'train.log'})",
                file=sys.stderr,
            )
            return 1
        print(f"training {name}: {run.status}, step {run.step}/{run.max_steps or '?'}", flush=True)
        time.sleep(POLL_S)


if __name__ == "__main__":
    sys.exit(main())
