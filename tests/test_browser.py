"""The whole flow in a real browser, at a phone's width (390 px) and a wide screen's (1920 px):
ask, see one card per passage, copy (the clipboard is read back), download the .docx (opened
with python-docx), and check that a Markdown image or HTML tag in a question is shown as text.

Installs Debian's chromium and chromium-driver if they are missing, starts ``streamlit run`` on
a free loopback port (with the repository's .streamlit/config.toml), and always stops it again.
Screenshots go to a temporary folder, and to eval/screenshot-<width>.png (the README's pictures)
only when UPDATE_SCREENSHOT=1, so that a test run leaves the working tree as it found it.
"""

from __future__ import annotations

import io
import os
import re
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
from shelf_support import (MINUSMA_QUESTION, RAILWAYS_FACT_PAGE, RAILWAYS_NAME, RAILWAYS_QUESTION, REPORT_NAME,
                           copy_shelf, make_railways_pdf)

from assistant.config import DOCUMENTS_DIR_VARIABLE, INDEX_DIR_VARIABLE

ROOT = Path(__file__).resolve().parent.parent
APP = ROOT / "streamlit_app.py"
QUESTION = "How many interviews did the research team conduct?"
PROBE = "What is ![x](http://127.0.0.1:9/p.png) <img src=http://127.0.0.1:9/q.png> here?"
ANSWER_TIMEOUT = 240  # first question may load the models
INDEX_TIMEOUT = 600  # the first page load builds the index if it is missing (about 4 minutes)
HEIGHT = {390: 844, 1920: 1080}

CHAT_INPUT = 'textarea[data-testid="stChatInputTextArea"]'
CHAT_MESSAGE = '[data-testid="stChatMessage"]'
ASSISTANT_AVATAR = '[data-testid="stChatMessageAvatarAssistant"]'
CARD_LABEL = re.compile(r"^\[(\d+(?:, \d+)*)\]$")


@pytest.fixture(scope="module")
def chromium() -> None:
    reason = ensure_chromium()
    if reason:
        pytest.skip(reason)


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    log_path = tmp_path_factory.mktemp("streamlit") / "streamlit.log"
    port = free_port()
    process = start_streamlit(APP, port, log_path)
    try:
        wait_for_health(port, process, timeout=180)
        yield f"http://{LOOPBACK}:{port}/"
    except Exception:
        print(f"--- streamlit log ---\n{log_path.read_text(errors='replace')[-4000:]}")
        raise
    finally:
        stop_process(process)


def open_browser(width: int, downloads: Path, origin: str):
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for argument in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                     "--disable-dev-shm-usage", f"--window-size={width},{HEIGHT[width]}"):
        options.add_argument(argument)
    driver = webdriver.Chrome(service=Service(executable_path=str(CHROMEDRIVER)), options=options)
    driver.set_page_load_timeout(120)
    # A desktop window cannot be made narrower than about 500 px: emulate the phone's viewport.
    driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", {
        "width": width, "height": HEIGHT[width], "deviceScaleFactor": 1, "mobile": width < 640})
    driver.execute_cdp_cmd("Browser.setDownloadBehavior", {"behavior": "allow", "downloadPath": str(downloads)})
    driver.execute_cdp_cmd("Browser.grantPermissions", {
        "origin": origin.rstrip("/"), "permissions": ["clipboardReadWrite", "clipboardSanitizedWrite"]})
    return driver


def answered_message(driver):
    """The last assistant message once it shows a card and its copy and download buttons."""
    from selenium.webdriver.common.by import By

    messages = [m for m in driver.find_elements(By.CSS_SELECTOR, CHAT_MESSAGE)
                if m.find_elements(By.CSS_SELECTOR, ASSISTANT_AVATAR)]
    if messages and "Surrounding text" in messages[-1].text and "Word" in messages[-1].text:
        return messages[-1]
    return None


def ask(driver, question: str):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    before = len(driver.find_elements(By.CSS_SELECTOR, CHAT_MESSAGE))
    box = wait_until(lambda: driver.find_element(By.CSS_SELECTOR, CHAT_INPUT), timeout=60, message="the chat input")
    box.click()
    box.send_keys(question)
    box.send_keys(Keys.ENTER)
    wait_until(lambda: len(driver.find_elements(By.CSS_SELECTOR, CHAT_MESSAGE)) >= before + 2,
               timeout=ANSWER_TIMEOUT, message="the answer's message")
    return wait_until(lambda: answered_message(driver), timeout=ANSWER_TIMEOUT, message="an answer with its cards")


def card_numbers(message) -> list[list[int]]:
    """The [n] labels of the cards in a message, as lists of numbers."""
    from selenium.webdriver.common.by import By

    labels = [CARD_LABEL.match(strong.text.strip()) for strong in message.find_elements(By.TAG_NAME, "strong")]
    return [[int(n) for n in match.group(1).split(", ")] for match in labels if match]


def copy_answer(driver, message) -> tuple[str, str]:
    """Open the copy popover, click the code block's copy icon; return (shown text, clipboard)."""
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.by import By

    [button] = [b for b in message.find_elements(By.TAG_NAME, "button") if "Copy" in b.text.split("\n")]
    driver.execute_script("arguments[0].scrollIntoView({block: 'center'});", button)
    button.click()
    code = wait_until(lambda: driver.find_element(By.CSS_SELECTOR, '[data-testid="stPopoverBody"] pre'),
                      timeout=30, message="the copy text")
    ActionChains(driver).move_to_element(code).perform()
    copy = wait_until(lambda: driver.find_element(
        By.CSS_SELECTOR, '[data-testid="stPopoverBody"] button[aria-label="Copy to clipboard"]'),
        timeout=10, message="the copy icon")
    driver.execute_script("arguments[0].click();", copy)
    clipboard = driver.execute_async_script(
        "const done = arguments[arguments.length - 1];"
        "navigator.clipboard.readText().then(done, e => done('ERROR ' + e));")
    shown = code.text
    button.click()  # close the popover again
    return shown, clipboard


def download(driver, message, label: str, folder: Path, name: str) -> Path:
    from selenium.webdriver.common.by import By

    [button] = [b for b in message.find_elements(By.TAG_NAME, "button") if label in b.text.split("\n")]
    driver.execute_script("arguments[0].scrollIntoView({block: 'center'});", button)
    button.click()
    path = folder / name
    wait_until(lambda: path.exists() and path.stat().st_size > 0 and not list(folder.glob("*.crdownload")),
               timeout=60, message=f"the download of {name}")
    return path


@pytest.mark.parametrize("width", [390, 1920])
def test_ask_copy_and_export_in_a_real_browser(server: str, chromium, tmp_path: Path, width: int) -> None:
    from selenium.webdriver.common.by import By

    downloads = tmp_path / "downloads"
    downloads.mkdir()
    driver = open_browser(width, downloads, server)
    try:
        driver.get(server)
        wait_until(lambda: driver.find_element(By.CSS_SELECTOR, CHAT_INPUT), timeout=INDEX_TIMEOUT,
                   message="the chat input")
        body = driver.find_element(By.TAG_NAME, "body")
        assert "Policy report assistant" in body.text and "Deploy" not in body.text

        message = ask(driver, QUESTION)
        numbers = card_numbers(message)
        answer_text = message.find_element(By.CSS_SELECTOR, '[data-testid="stMarkdownContainer"]').text
        markers = sorted({int(n) for n in re.findall(r"\[(\d+)\]", answer_text)})
        assert numbers and sorted(n for card in numbers for n in card) == markers  # one card per passage
        assert "score" not in message.text and "n/a" not in message.text and "relevance" in message.text

        shown, clipboard = copy_answer(driver, message)
        lines = [line for line in clipboard.splitlines() if line.strip()]
        assert lines == [line for line in shown.splitlines() if line.strip()], clipboard  # Selenium drops blank lines
        assert "\n\n[1] " in clipboard  # the notes stand apart from the answer when pasted
        assert answer_text.split("[")[0].strip()[:40] in clipboard
        assert "Jaïr van der Lijn et al., Assessing the Effectiveness of the United Nations Mission" in clipboard

        docx = pytest.importorskip("docx")
        path = download(driver, message, "Word", downloads, "answer-1.docx")
        text = "\n".join(p.text for p in docx.Document(io.BytesIO(path.read_bytes())).paragraphs)
        assert f"Question: {QUESTION}" in text
        quotes = [p for p in text.splitlines() if p.startswith("“")]
        assert quotes and all(q.endswith("”") for q in quotes)
        first_quote = quotes[0].strip("“”")
        assert first_quote[:60] in " ".join(message.text.split())  # the quote is the card's passage
        section = [s.text for s in message.find_elements(By.TAG_NAME, "p") if CARD_LABEL.match(s.text.split(" ")[0])]
        assert section and section[0].split(" ", 1)[1] in text  # the card's section path
        assert "Jaïr van der Lijn et al., Assessing the Effectiveness" in text

        layout_checks(driver, width)
        screenshot(driver, width, tmp_path)

        probe = ask(driver, PROBE)
        assert not driver.find_elements(By.CSS_SELECTOR, 'img[src*="127.0.0.1:9"]')
        assert "![x](http://127.0.0.1:9/p.png)" in driver.find_element(By.TAG_NAME, "body").text
        assert "Traceback" not in driver.find_element(By.TAG_NAME, "body").text and probe is not None
    finally:
        driver.quit()


def layout_checks(driver, width: int) -> None:
    """No sideways scrolling; on a phone the sidebar starts closed; on a wide screen the answer
    uses the width."""
    from selenium.webdriver.common.by import By

    assert driver.execute_script("return document.documentElement.scrollWidth") <= width + 1
    sidebar = driver.find_element(By.CSS_SELECTOR, '[data-testid="stSidebar"]')
    message = driver.find_elements(By.CSS_SELECTOR, CHAT_MESSAGE)[-1]
    if width < 640:
        right = driver.execute_script("return arguments[0].getBoundingClientRect().right", sidebar)
        assert right <= 0, right  # the sidebar starts closed instead of covering the page
    else:
        assert message.size["width"] > 1000, message.size


def screenshot(driver, width: int, tmp_path: Path) -> None:
    from selenium.webdriver.common.by import By

    title = driver.find_element(By.TAG_NAME, "h1")
    driver.execute_script("arguments[0].scrollIntoView({block: 'start'});", title)
    time.sleep(0.5)
    keep = os.environ.get("UPDATE_SCREENSHOT") == "1"
    path = ROOT / "eval" / f"screenshot-{width}.png" if keep else tmp_path / f"screenshot-{width}.png"
    assert driver.save_screenshot(str(path))
    assert path.stat().st_size > 10_000


# --- a second report, uploaded in the browser onto a temporary copy of the shelf -----------------


@pytest.fixture(scope="module")
def shelf_server(tmp_path_factory):
    """The app on a copy of the shelf (ASSISTANT_DOCUMENTS_DIR, ASSISTANT_INDEX_DIR), with the
    embedding cache copied beside the index so that the report is not embedded again."""
    root = tmp_path_factory.mktemp("browser-shelf")
    documents, index = copy_shelf(root)
    log_path = root / "streamlit.log"
    port = free_port()
    process = start_streamlit(APP, port, log_path, {DOCUMENTS_DIR_VARIABLE: str(documents),
                                                    INDEX_DIR_VARIABLE: str(index)})
    try:
        wait_for_health(port, process, timeout=180)
        yield f"http://{LOOPBACK}:{port}/", root
    except Exception:
        print(f"--- streamlit log ---\n{log_path.read_text(errors='replace')[-4000:]}")
        raise
    finally:
        stop_process(process)


def sidebar_text(driver) -> str:
    from selenium.webdriver.common.by import By

    return driver.find_element(By.CSS_SELECTOR, '[data-testid="stSidebar"]').text


def click_key(driver, key: str) -> None:
    """Click the button drawn with this Streamlit key (its container has the class st-key-KEY)."""
    from selenium.webdriver.common.by import By

    button = wait_until(lambda: driver.find_element(By.CSS_SELECTOR, f".st-key-{key} button"), timeout=60,
                        message=f"the button {key!r}")
    driver.execute_script("arguments[0].scrollIntoView({block: 'center'});", button)
    driver.execute_script("arguments[0].click();", button)


def card_headers_of(message) -> list[str]:
    from selenium.webdriver.common.by import By

    return [p.text for p in message.find_elements(By.TAG_NAME, "p") if CARD_LABEL.match(p.text.split(" ")[0])]


def test_upload_a_second_report_ask_both_and_remove_it(shelf_server, chromium, tmp_path: Path) -> None:
    from selenium.webdriver.common.by import By

    from assistant.shelf import read_shelf
    from assistant.config import Settings

    url, root = shelf_server
    pdf = make_railways_pdf(tmp_path / f"{RAILWAYS_NAME}.pdf")
    driver = open_browser(1920, tmp_path, url)
    try:
        driver.get(url)
        wait_until(lambda: driver.find_element(By.CSS_SELECTOR, CHAT_INPUT), timeout=INDEX_TIMEOUT,
                   message="the chat input")
        assert f"{REPORT_NAME}.txt" in sidebar_text(driver)
        picker = driver.find_element(By.CSS_SELECTOR, '[data-testid="stSidebar"] input[type="file"]')
        picker.send_keys(str(pdf))
        click_key(driver, "upload-add-0")  # drawn once the file is uploaded
        wait_until(lambda: "Added " in sidebar_text(driver), timeout=ANSWER_TIMEOUT * 2, message="the added report")
        shelf = read_shelf(Settings(documents_dir=root / "documents", index_dir=root / "index"))
        titles = shelf.short_titles()
        listed = sidebar_text(driver)
        assert f"{RAILWAYS_NAME}.pdf · 4 pages · " in listed and titles[RAILWAYS_NAME] in listed

        message = ask(driver, RAILWAYS_QUESTION)
        headers = card_headers_of(message)
        assert headers and all(titles[RAILWAYS_NAME] in h for h in headers), headers  # the document, by name
        assert f"p. {RAILWAYS_FACT_PAGE}" in message.text  # and the page
        assert "36 locomotives" in message.text
        shelf_screenshot(driver, tmp_path)

        message = ask(driver, MINUSMA_QUESTION)
        headers = card_headers_of(message)
        assert headers and all(titles[REPORT_NAME] in h for h in headers), headers
        assert "66 interviews" in message.text

        click_key(driver, f"remove-{RAILWAYS_NAME}")
        wait_until(lambda: "from the shelf?" in sidebar_text(driver), timeout=30, message="the confirmation")
        assert (root / "documents" / pdf.name).exists()  # nothing deleted before the confirmation
        click_key(driver, f"remove-confirm-{RAILWAYS_NAME}")
        wait_until(lambda: "Removed " in sidebar_text(driver), timeout=ANSWER_TIMEOUT * 2, message="the removal")
        assert not (root / "documents" / pdf.name).exists()
        shelf = read_shelf(Settings(documents_dir=root / "documents", index_dir=root / "index"))
        assert shelf.names == (REPORT_NAME,) and f"{RAILWAYS_NAME}.pdf · " not in sidebar_text(driver)
        assert "Traceback" not in driver.find_element(By.TAG_NAME, "body").text
    finally:
        driver.quit()


def shelf_screenshot(driver, tmp_path: Path) -> None:
    """The documents list beside an answer cited from the uploaded report."""
    keep = os.environ.get("UPDATE_SCREENSHOT") == "1"
    path = ROOT / "eval" / "screenshot-shelf.png" if keep else tmp_path / "screenshot-shelf.png"
    time.sleep(0.5)
    assert driver.save_screenshot(str(path))
    assert path.stat().st_size > 10_000
