"""Real-browser checks: `tunedesk ui` on a free loopback port over a tiny-model home, driven by headless
Chromium: the app loads, a question gets an answer with a source, and a screenshot is saved to
test-artifacts/; the docs' screenshot tool (tools/screenshots.py) uses and pictures every page. Skipped
when Chromium, its driver or selenium is missing."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

pytest.importorskip("selenium", reason="needs selenium: pip install -e '.[dev]'")

from tools.screenshots import (  # noqa: E402
    CHROMEDRIVER,
    CHROMIUM,
    ask,
    capture,
    open_browser,
    serving,
    wait_for_app,
)

REPO = Path(__file__).resolve().parents[2]
ARTIFACTS = REPO / "test-artifacts"

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        not (Path(CHROMIUM).is_file() and Path(CHROMEDRIVER).is_file()),
        reason=f"needs {CHROMIUM} and {CHROMEDRIVER}: apt-get install -y chromium chromium-driver",
    ),
]


@pytest.fixture
def running_app(use_full_home, tmp_path):
    with serving(use_full_home, tmp_path / "ui.log") as url:
        yield url


def test_question_in_a_real_browser_gets_an_answer_with_a_source(running_app, tmp_path):
    from selenium.webdriver.common.by import By

    browser = open_browser(tmp_path / "profile")
    ARTIFACTS.mkdir(exist_ok=True)
    try:
        browser.get(running_app)
        wait_for_app(browser)
        assert "Tunedesk" in browser.title
        answer = ask(browser, "How many days do I have to return a router?")
        assert "Sources (" in answer
        browser.find_element(By.XPATH, '//summary[contains(., "Sources")]').click()
        # The expander draws its content after the click's round trip; a busy machine takes seconds.
        deadline = time.monotonic() + 30
        while True:
            page_text = browser.find_element(By.TAG_NAME, "body").text
            if "returns.md" in page_text or "warranty.md" in page_text or time.monotonic() > deadline:
                break
            time.sleep(0.5)
        assert "returns.md" in page_text or "warranty.md" in page_text
        assert browser.save_screenshot(str(ARTIFACTS / "browser_chat.png"))
    except Exception:
        browser.save_screenshot(str(ARTIFACTS / "browser_failure.png"))  # what the page showed, for debugging
        raise
    finally:
        browser.quit()
    assert (ARTIFACTS / "browser_chat.png").stat().st_size > 10_000


def test_the_screenshot_tool_pictures_every_page_after_using_it(running_app, tmp_path):
    saved = capture(running_app, tmp_path / "shots", "How many days do I have to return a router?")
    names = ["chat", "compare", "compare-blind", "documents", "training", "evaluation", "evaluation-compare"]
    assert [path.name for path in saved] == [f"{name}.png" for name in names]
    assert all(path.stat().st_size > 10_000 for path in saved)  # a blank page is a few kB
