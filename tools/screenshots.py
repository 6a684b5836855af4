"""Screenshots of every page of the app, taken with headless Chromium (for the docs): `make screenshots`.

    python tools/screenshots.py --home .tunedesk --out docs/screenshots   # serves that home meanwhile
    python tools/screenshots.py --url http://127.0.0.1:8501               # an app that is already running

Needs Chromium and its driver (Debian: `apt-get install chromium chromium-driver`, `make browser`) and the
`selenium` package (the `dev` extra). Each page is used first (a chat turn, a comparison, a blind vote, a
search) with `--question`, so the pictures show answers and sources rather than empty forms; the home needs
indexed documents and an adapter for that. A development tool, not part of the installed package.
"""

from __future__ import annotations

import argparse
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support import expected_conditions
from selenium.webdriver.support.ui import WebDriverWait

REPO = Path(__file__).resolve().parents[1]
CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
WINDOW = (1400, 1000)
RUNNING = '[data-testid="stStatusWidgetRunningIcon"]'  # shown while the page's script runs
SKELETON = '[data-testid="stSkeleton"]'  # stands in for a widget whose code is still loading


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_healthy(url: str, process: subprocess.Popen, log: Path, timeout_s: float = 180) -> None:
    """Until Streamlit's health endpoint answers; fails with the end of the app's `log` when it exits first
    or does not answer in time."""
    deadline = time.monotonic() + timeout_s
    while process.poll() is None and time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as response:
                if response.read() == b"ok":
                    return
        except OSError:
            time.sleep(0.5)
    state = "did not answer in time" if process.returncode is None else f"exited with {process.returncode}"
    tail = log.read_text(errors="replace")[-4000:]
    raise RuntimeError(f"`tunedesk ui` on {url} {state}; its output ends:\n{tail}")


@contextmanager
def serving(home: Path, log: Path) -> Iterator[str]:
    """`tunedesk ui` over `home` on a free loopback port, this checkout's code, its output in `log`; yields
    the app's URL once it answers and stops the app (and its children) afterwards."""
    port = free_port()
    command = [sys.executable, "-c", "from assistant.cli.app import main; main()"]
    path = os.pathsep.join(filter(None, (str(REPO), os.environ.get("PYTHONPATH"))))
    with log.open("wb") as output:
        process = subprocess.Popen(
            [*command, "--home", str(home), "ui", "--port", str(port)],
            cwd=REPO,
            env=os.environ | {"PYTHONPATH": path},
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        url = f"http://127.0.0.1:{port}"
        try:
            wait_healthy(url, process, log)
            yield url
        finally:
            os.killpg(process.pid, signal.SIGTERM)
            process.wait(timeout=30)


def open_browser(
    user_data_dir: Path, *, binary: str = CHROMIUM, driver: str = CHROMEDRIVER
) -> webdriver.Chrome:
    """Headless Chromium that talks to nothing but the app: no sync, updates or background requests."""
    options = webdriver.ChromeOptions()
    options.binary_location = binary
    for flag in (
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-dev-shm-usage",  # small /dev/shm in containers
        f"--user-data-dir={user_data_dir}",
        f"--window-size={WINDOW[0]},{WINDOW[1]}",
    ):
        options.add_argument(flag)
    return webdriver.Chrome(options=options, service=Service(driver))


def wait_for_app(browser: webdriver.Chrome, timeout_s: float = 300) -> None:
    """Until Streamlit has rendered the page, finished running its script and drawn every widget."""
    wait = WebDriverWait(browser, timeout_s)
    wait.until(
        expected_conditions.presence_of_element_located(
            (By.CSS_SELECTOR, '[data-testid="stMainBlockContainer"]')
        )
    )
    time.sleep(1.0)  # the running indicator appears a moment after the first render
    wait.until_not(expected_conditions.presence_of_element_located((By.CSS_SELECTOR, RUNNING)))
    wait.until_not(expected_conditions.presence_of_element_located((By.CSS_SELECTOR, SKELETON)))


def ask(browser: webdriver.Chrome, question: str, timeout_s: float = 300) -> str:
    """Ask on the Chat page; returns the text of the answer's message once its sources are shown."""
    box = WebDriverWait(browser, timeout_s).until(
        expected_conditions.element_to_be_clickable((By.CSS_SELECTOR, '[data-testid="stChatInputTextArea"]'))
    )
    box.send_keys(question, Keys.ENTER)
    WebDriverWait(browser, timeout_s).until(
        expected_conditions.presence_of_element_located(
            (
                By.XPATH,
                '//*[@data-testid="stChatMessage"]//*[@data-testid="stExpander"]//summary[contains(., "Sources")]',
            )
        )
    )
    wait_for_app(browser, timeout_s)  # the page runs once more after the answer is stored
    return browser.find_elements(By.CSS_SELECTOR, '[data-testid="stChatMessage"]')[-1].text


def click(browser: webdriver.Chrome, label: str, timeout_s: float = 300) -> None:
    """Click the button (or tab) whose text is `label`, once the page has drawn it."""
    WebDriverWait(browser, timeout_s).until(
        expected_conditions.element_to_be_clickable(
            (
                By.XPATH,
                f'//*[self::button or @role="tab"][normalize-space(.)="{label}" or .//p[normalize-space()="{label}"]]',
            )
        )
    ).click()


def type_into(
    browser: webdriver.Chrome, label: str, text: str, *, enter: bool = False, timeout_s: float = 300
) -> None:
    """Type into the visible text input with aria-label `label` (Streamlit labels its inputs)."""

    def visible_box(driver):
        shown = [
            box
            for box in driver.find_elements(By.XPATH, f'//input[@aria-label="{label}"]')
            if box.is_displayed()
        ]
        return shown[0] if shown else False

    box = WebDriverWait(browser, timeout_s).until(visible_box)
    box.send_keys(Keys.CONTROL, "a")
    box.send_keys(text, *([Keys.ENTER] if enter else []))


def wait_for_text(browser: webdriver.Chrome, text: str, timeout_s: float = 600) -> None:
    WebDriverWait(browser, timeout_s).until(
        expected_conditions.presence_of_element_located((By.XPATH, f'//*[contains(text(), "{text}")]'))
    )
    wait_for_app(browser, timeout_s)


PAGES = ("chat", "compare", "documents", "training", "evaluation")


def use_chat(browser: webdriver.Chrome, base: str, question: str, shoot) -> None:
    browser.get(base)
    wait_for_app(browser)
    ask(browser, question)
    shoot("chat")


def use_compare(browser: webdriver.Chrome, base: str, question: str, shoot) -> None:
    browser.get(f"{base}/compare")
    wait_for_app(browser)
    type_into(browser, "Question", question)
    click(browser, "Compare")
    wait_for_text(browser, "s total")
    shoot("compare")
    click(browser, "Blind A/B")
    type_into(browser, "Question", question)
    click(browser, "Get two anonymous answers")
    wait_for_text(browser, "Answer B")
    click(browser, "A is better")
    wait_for_text(browser, "You voted")
    shoot("compare-blind")


def use_documents(browser: webdriver.Chrome, base: str, question: str, shoot) -> None:
    browser.get(f"{base}/documents")
    wait_for_app(browser)
    type_into(browser, "Search query", question, enter=True)
    wait_for_text(browser, "score")
    shoot("documents")


def use_evaluation(browser: webdriver.Chrome, base: str, question: str, shoot) -> None:
    browser.get(f"{base}/evaluation")
    wait_for_app(browser)
    shoot("evaluation")
    click(browser, "Compare runs")
    wait_for_app(browser)
    shoot("evaluation-compare")


def capture(url: str, out: Path, question: str, pages: tuple[str, ...] = PAGES) -> list[Path]:
    """Use each of `pages` the way a person would, then save it as `<page>.png` under `out`."""
    out.mkdir(parents=True, exist_ok=True)
    base = url.rstrip("/")
    saved = []
    used = {
        "chat": use_chat,
        "compare": use_compare,
        "documents": use_documents,
        "evaluation": use_evaluation,
    }

    with tempfile.TemporaryDirectory() as profile:
        browser = open_browser(Path(profile))

        def shoot(name: str) -> None:
            saved.append(out / f"{name}.png")
            browser.save_screenshot(str(saved[-1]))

        try:
            for page in pages:
                if page in used:
                    used[page](browser, base, question, shoot)
                else:  # shown as it opens
                    browser.get(f"{base}/{page}")
                    wait_for_app(browser)
                    shoot(page)
        finally:
            browser.quit()
    return saved


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    where = parser.add_mutually_exclusive_group()
    where.add_argument("--home", type=Path, help="serve this Tunedesk home while taking the pictures")
    where.add_argument("--url", default="http://127.0.0.1:8501", help="an app that is already running")
    parser.add_argument("--out", type=Path, default=Path("docs/screenshots"))
    parser.add_argument("--question", default="How long do I have to return a router I opened?")
    parser.add_argument("--pages", nargs="+", choices=PAGES, default=list(PAGES), help="pages to capture")
    arguments = parser.parse_args()
    if not (Path(CHROMIUM).is_file() and Path(CHROMEDRIVER).is_file()):
        parser.error(
            f"needs {CHROMIUM} and {CHROMEDRIVER}: run `make browser` (apt-get install chromium chromium-driver)"
        )
    if arguments.home is not None and not arguments.home.is_dir():
        parser.error(
            f"--home {arguments.home}: no such folder; build one first (`make demo-ask` makes .tunedesk)"
        )
    if arguments.home is None:
        saved = capture(arguments.url, arguments.out, arguments.question, tuple(arguments.pages))
    else:
        with tempfile.TemporaryDirectory() as work, serving(arguments.home, Path(work) / "ui.log") as url:
            saved = capture(url, arguments.out, arguments.question, tuple(arguments.pages))
    for path in saved:
        print(path)


if __name__ == "__main__":
    main()
