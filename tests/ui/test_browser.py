"""One real-browser check: `tunedesk ui` on a free loopback port over a tiny-model home, driven by headless
Chromium: the app loads, a question gets an answer with a source, and a screenshot is saved to
test-artifacts/. Skipped when Chromium, its driver or selenium is missing."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from ui.screenshots import CHROMEDRIVER, CHROMIUM

REPO = Path(__file__).resolve().parents[2]
ARTIFACTS = REPO / "test-artifacts"

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        not (Path(CHROMIUM).is_file() and Path(CHROMEDRIVER).is_file()),
        reason=f"needs {CHROMIUM} and {CHROMEDRIVER}: apt-get install -y chromium chromium-driver",
    ),
]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_healthy(url: str, process: subprocess.Popen, timeout_s: float = 180) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"`tunedesk ui` exited with {process.returncode}")
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as response:
                if response.read() == b"ok":
                    return
        except OSError:
            time.sleep(0.5)
    raise AssertionError(f"the app did not answer on {url} within {timeout_s:.0f} s")


@pytest.fixture
def running_app(use_full_home, tmp_path):
    port = free_port()
    log = (tmp_path / "ui.log").open("wb")
    process = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "from assistant.cli.app import main; main()",
            "--home",
            str(use_full_home),
            "ui",
            "--port",
            str(port),
        ],
        cwd=REPO,
        env=os.environ | {"PYTHONPATH": str(REPO)},
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_healthy(url, process)
        yield url
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=30)
        log.close()


def test_question_in_a_real_browser_gets_an_answer_with_a_source(running_app, tmp_path):
    pytest.importorskip("selenium", reason="needs selenium: pip install -e '.[dev]'")
    from selenium.webdriver.common.by import By

    from ui.screenshots import ask, open_browser, wait_for_app

    browser = open_browser(tmp_path / "profile")
    ARTIFACTS.mkdir(exist_ok=True)
    try:
        browser.get(running_app)
        wait_for_app(browser)
        assert "Tunedesk" in browser.title
        answer = ask(browser, "How many days do I have to return a router?")
        assert "Sources (" in answer
        browser.find_element(By.XPATH, '//summary[contains(., "Sources")]').click()
        time.sleep(0.5)
        page_text = browser.find_element(By.TAG_NAME, "body").text
        assert "returns.md" in page_text or "warranty.md" in page_text
        assert browser.save_screenshot(str(ARTIFACTS / "browser_chat.png"))
    except Exception:
        browser.save_screenshot(str(ARTIFACTS / "browser_failure.png"))  # what the page showed, for debugging
        raise
    finally:
        browser.quit()
    assert (ARTIFACTS / "browser_chat.png").stat().st_size > 10_000
