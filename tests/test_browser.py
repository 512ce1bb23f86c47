"""One real-browser test: headless Chromium asks a question on the running Streamlit page.

Installs Debian's chromium and chromium-driver if they are missing, starts
``streamlit run`` on a free loopback port, and always stops it again. Saves a screenshot of
the answered page to a temporary folder, and to eval/screenshot.png (the README's picture) only
when UPDATE_SCREENSHOT=1, so that a test run leaves the working tree as it found it.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from browser_support import (
    CHROMEDRIVER,
    CHROMIUM,
    LOOPBACK,
    ensure_chromium,
    free_port,
    start_streamlit,
    stop_process,
    wait_for_health,
    wait_until,
)

ROOT = Path(__file__).resolve().parent.parent
APP = ROOT / "streamlit_app.py"
README_SCREENSHOT = ROOT / "eval" / "screenshot.png"
QUESTION = "How many interviews did the research team conduct?"
ANSWER_TIMEOUT = 240  # first question may load the models
INDEX_TIMEOUT = 600  # the first page load builds the index if it is missing (about 4 minutes)

CHAT_INPUT = 'textarea[data-testid="stChatInputTextArea"]'
CHAT_MESSAGE = '[data-testid="stChatMessage"]'
ASSISTANT_AVATAR = '[data-testid="stChatMessageAvatarAssistant"]'


@pytest.fixture(scope="session")
def chromium() -> None:
    reason = ensure_chromium()
    if reason:
        pytest.skip(reason)


@pytest.fixture()
def server(tmp_path: Path):
    port = free_port()
    process = start_streamlit(APP, port, tmp_path / "streamlit.log")
    try:
        wait_for_health(port, process, timeout=180)
        yield f"http://{LOOPBACK}:{port}/"
    except Exception:
        log = (tmp_path / "streamlit.log").read_text(errors="replace")[-4000:]
        print(f"--- streamlit log ---\n{log}")
        raise
    finally:
        stop_process(process)


@pytest.fixture()
def browser(chromium):
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for argument in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                     "--disable-dev-shm-usage", "--window-size=1280,1600"):
        options.add_argument(argument)
    driver = webdriver.Chrome(service=Service(executable_path=str(CHROMEDRIVER)), options=options)
    driver.set_page_load_timeout(120)
    try:
        yield driver
    finally:
        driver.quit()


def answered_message(driver):
    """The assistant's chat message once it shows a [1] marker and a source card."""
    from selenium.webdriver.common.by import By

    for message in driver.find_elements(By.CSS_SELECTOR, CHAT_MESSAGE):
        if not message.find_elements(By.CSS_SELECTOR, ASSISTANT_AVATAR):
            continue
        text = message.text
        if "[1]" in text and "score" in text and "Surrounding text" in text and "Download Markdown" in text:
            return message
    return None


def test_ask_in_a_real_browser(server: str, browser, tmp_path: Path) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    browser.get(server)
    box = wait_until(lambda: browser.find_element(By.CSS_SELECTOR, CHAT_INPUT), timeout=INDEX_TIMEOUT,
                     message="the chat input")
    wait_until(lambda: "MINUSMA report assistant" in browser.find_element(By.TAG_NAME, "body").text,
               timeout=60, message="the page title")
    box.click()
    box.send_keys(QUESTION)
    box.send_keys(Keys.ENTER)

    message = wait_until(lambda: answered_message(browser), timeout=ANSWER_TIMEOUT,
                         message="an answer with [1] and a source card")
    text = message.text
    assert QUESTION in browser.find_element(By.TAG_NAME, "body").text
    assert "p. " in text or "page n/a" in text
    assert "Traceback" not in browser.find_element(By.TAG_NAME, "body").text

    title = browser.find_element(By.TAG_NAME, "h1")  # title, caption, question, then the answer
    browser.execute_script("arguments[0].scrollIntoView({block: 'start'});", title)
    time.sleep(0.5)
    screenshot = README_SCREENSHOT if os.environ.get("UPDATE_SCREENSHOT") == "1" else tmp_path / "screenshot.png"
    assert browser.save_screenshot(str(screenshot))
    assert screenshot.stat().st_size > 10_000
