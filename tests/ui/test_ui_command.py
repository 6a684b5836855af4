"""`tunedesk ui` runs the app in a child process: stopping the command with `kill` (SIGTERM to it alone, as a
process manager or a user does) stops the app too, instead of leaving it listening with no parent."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
import urllib.request

import pytest

pytest.importorskip(
    "selenium", reason="the app helpers come with the browser check's: pip install -e '.[dev]'"
)

from tools.screenshots import REPO, free_port, wait_healthy  # noqa: E402


def answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as response:
            return response.status == 200
    except OSError:
        return False


def test_sigterm_to_the_command_stops_the_app(use_empty_home, tmp_path):
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    log = tmp_path / "ui.log"
    path = os.pathsep.join(filter(None, (str(REPO), os.environ.get("PYTHONPATH"))))
    with log.open("wb") as output:
        command = subprocess.Popen(
            [sys.executable, "-c", "from assistant.cli.app import main; main()", "ui", "--port", str(port)],
            cwd=REPO,
            env=os.environ | {"PYTHONPATH": path},
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own group, so the test's cleanup can reach a leftover app
        )
        try:
            wait_healthy(url, command, log)
            command.send_signal(signal.SIGTERM)  # the command's process only, not its group
            assert command.wait(timeout=60) is not None
            deadline = time.monotonic() + 30
            while answers(url) and time.monotonic() < deadline:
                time.sleep(0.5)
            assert not answers(url), "the app still answers after its command was stopped"
        finally:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(command.pid, signal.SIGKILL)
