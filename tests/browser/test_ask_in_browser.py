"""End to end in a real browser: the analyst app served by Streamlit, driven in headless Chromium.

Uses Debian's ``chromium`` and ``chromium-driver`` (``.ci/run`` installs them) through Selenium
with an explicit driver path, so Selenium Manager never looks for, or downloads, a browser. The
server is the command ``finrag ui`` runs, on a free loopback port, over the generated sample
filings. A screenshot of the answered question with its cited page lands in
``test-output/browser/`` for a person to look at.
"""

from __future__ import annotations

import importlib.util
import io
import os
import signal
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from PIL import Image, ImageChops

from core.settings import Settings
from tests.fixtures.corpora import ingest_into
from ui.cli_ui import streamlit_command
from ui.page_view import render_path

ROOT = Path(__file__).resolve().parents[2]
SCREENSHOT = ROOT / "test-output" / "browser" / "ask_citation.png"
CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
Q_2023 = "What was Northwind Robotics' total revenue in fiscal 2023?"
CITE = "[1] northwind_2023_10k.pdf p.6"
SERVER_START_S = 60
ANSWER_S = 90  # the first question also opens the index and loads the embedder


def _missing() -> str:
    """Why the browser cannot be driven here ("" when it can); checked before anything starts."""
    absent = [str(p) for p in (CHROMIUM, CHROMEDRIVER) if not p.is_file()]
    if absent:
        return f"{', '.join(absent)} missing: run `apt-get install chromium chromium-driver`"
    if importlib.util.find_spec("selenium") is None:
        return "selenium missing: install the test extra, pip install -e '.[test]'"
    return ""


pytestmark = [pytest.mark.browser, pytest.mark.skipif(bool(_missing()), reason=_missing())]

# Scrolls every scrolled container to its top; returns the viewport height showing all of them.
FIT_SCRIPT = """
let height = document.documentElement.scrollHeight;
for (const el of document.querySelectorAll("*")) {
  const overflow = getComputedStyle(el).overflowY;
  if (el.scrollHeight > el.clientHeight + 1 && (overflow === "auto" || overflow === "scroll")) {
    height = Math.max(height, el.scrollHeight + window.innerHeight - el.clientHeight);
    el.scrollTop = 0;
  }
}
return height;
"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _tail(path: Path, lines: int = 40) -> str:
    text = path.read_text(errors="replace") if path.exists() else ""
    return "\n".join(text.splitlines()[-lines:]) or "(empty)"


@pytest.fixture(scope="module")
def server(tmp_path_factory, model_cache, sample_folder) -> Iterator[tuple[str, Path]]:
    """``(url, render of the cited page)``: the app served over the ingested sample filings.

    The server is stopped at teardown, however the test ended.
    """
    data_dir = tmp_path_factory.mktemp("browser-corpus")
    settings = Settings(data_dir=data_dir, model_cache=model_cache)
    settings.ingest.workers = 1
    report = ingest_into([sample_folder], settings)
    assert report.count("ok") == 3, report
    (doc_id,) = [f.doc_id for f in report.files if f.path.endswith("northwind_2023_10k.pdf")]
    cited_render = render_path(settings.renders_dir, doc_id, 6)

    port = _free_port()
    log_path = data_dir / "server.log"
    env = {
        **os.environ,
        "FINRAG_DATA_DIR": str(data_dir),
        "FINRAG_MODEL_CACHE": str(model_cache),
        "FINRAG_CONFIG": str(data_dir / "absent.toml"),
        "HF_HUB_OFFLINE": "1",
        "TRANSFORMERS_OFFLINE": "1",
    }
    with log_path.open("wb") as log:
        # Own session: the teardown signals the whole group, so no Streamlit child outlives it.
        proc = subprocess.Popen(
            streamlit_command("127.0.0.1", port),
            cwd=ROOT,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + SERVER_START_S
        while True:
            if proc.poll() is not None:
                pytest.fail(f"streamlit exited with {proc.returncode}:\n{_tail(log_path)}")
            try:
                with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as resp:
                    if resp.status == 200:
                        break
            except (urllib.error.URLError, OSError):
                pass
            if time.monotonic() > deadline:
                pytest.fail(
                    f"streamlit did not answer on {url} in {SERVER_START_S} s:\n{_tail(log_path)}"
                )
            time.sleep(0.5)
        yield url, cited_render
    finally:
        _stop(proc)


def _stop(proc: subprocess.Popen) -> None:
    if proc.poll() is not None:
        return
    os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=15)


@pytest.fixture
def browser(tmp_path) -> Iterator[object]:
    """Headless Debian Chromium, isolated from the network services it would otherwise call."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in [
        "--headless=new",
        "--no-sandbox",  # CI runs as root, where Chromium's sandbox refuses to start
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        f"--user-data-dir={tempfile.mkdtemp(dir=tmp_path)}",
        "--window-size=1600,1000",
    ]:
        options.add_argument(flag)
    service = Service(executable_path=str(CHROMEDRIVER), log_output=str(tmp_path / "driver.log"))
    driver = webdriver.Chrome(service=service, options=options)
    try:
        yield driver
    finally:
        driver.quit()


def _amber_box(image: Image.Image) -> tuple[int, tuple[int, int, int, int] | None]:
    """How many pixels carry the highlight's amber (red well above blue), and their bounding box.

    Page renders are grayscale, so only the highlight puts colour on them; the margin of 50 leaves
    room for the JPEG compression Streamlit serves the image with.
    """
    r, _, b = image.convert("RGB").split()
    mask = ImageChops.subtract(r, b).point(lambda v: 255 if v > 50 else 0)
    return mask.histogram()[255], mask.getbbox()


def test_question_in_browser_shows_answer_and_highlighted_citation(server, browser):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import WebDriverWait

    url, cited_render = server
    driver = browser
    driver.get(url)
    box = WebDriverWait(driver, 60).until(
        ec.element_to_be_clickable((By.CSS_SELECTOR, '[data-testid="stChatInputTextArea"]'))
    )
    box.send_keys(Q_2023)
    box.send_keys(Keys.ENTER)

    # The citation buttons appear once the turn is stored and the page has rerun.
    cite_xpath = f'//button[normalize-space(.)="{CITE}"]'
    button = WebDriverWait(driver, ANSWER_S).until(
        ec.element_to_be_clickable((By.XPATH, cite_xpath)),
        message=f"no {CITE!r} button within {ANSWER_S} s",
    )
    replies = driver.find_elements(By.CSS_SELECTOR, '[data-testid="stChatMessage"]')
    assert any("2,255.4" in m.text for m in replies), [m.text for m in replies]

    button.click()
    WebDriverWait(driver, 30).until(
        lambda d: d.execute_script(
            "const i = document.querySelector('[data-testid=\"stImage\"] img');"
            "return i !== null && i.complete && i.naturalWidth > 0;"
        ),
        message="the cited page image did not load",
    )
    # Taken before the checks below so that a failing check still leaves its picture. Streamlit
    # scrolls inside its own containers, not the document: the viewport grows to their content
    # (bounded) and they scroll back to the top, so the shot holds the question, answer and page.
    height = driver.execute_script(FIT_SCRIPT)
    driver.execute_cdp_cmd(
        "Emulation.setDeviceMetricsOverride",
        {"width": 1600, "height": min(int(height), 4000), "deviceScaleFactor": 1, "mobile": False},
    )
    driver.execute_script(FIT_SCRIPT)  # the resize reflowed the page: back to the top again
    SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
    assert driver.save_screenshot(str(SCREENSHOT))

    headings = [h.text for h in driver.find_elements(By.CSS_SELECTOR, '[data-testid="stHeading"]')]
    assert "[1] northwind_2023_10k.pdf, page 6" in headings, headings

    # First the cited region, zoomed from the PDF: a strip across the page around the cell,
    # tinted where the figure is.
    region = driver.find_element(By.CSS_SELECTOR, '[data-testid="stImage"] img')
    with urllib.request.urlopen(region.get_attribute("src"), timeout=10) as resp:
        zoomed = Image.open(io.BytesIO(resp.read()))
        zoomed.load()
    assert zoomed.width > 4 * zoomed.height, zoomed.size
    assert _amber_box(zoomed)[1] is not None, "the zoomed region has no highlight colour"

    # The whole page is one click away: the ingest render of the cited page, tinted where the
    # figure is, and nowhere else (the render itself has no colour).
    driver.find_element(By.XPATH, '//summary[contains(normalize-space(.), "Full page 6")]').click()
    WebDriverWait(driver, 30).until(
        lambda d: d.execute_script(
            "const i = document.querySelectorAll('[data-testid=\"stImage\"] img');"
            "return i.length > 1 && i[1].complete && i[1].naturalWidth > 0;"
        ),
        message="the full page image did not load",
    )
    img = driver.find_elements(By.CSS_SELECTOR, '[data-testid="stImage"] img')[1]
    size = driver.execute_script(
        "return [arguments[0].naturalWidth, arguments[0].naturalHeight]", img
    )
    with urllib.request.urlopen(img.get_attribute("src"), timeout=10) as resp:
        served = Image.open(io.BytesIO(resp.read()))
        served.load()
    with Image.open(cited_render) as plain:
        assert list(served.size) == size == list(plain.size)
        assert _amber_box(plain)[0] == 0
    count, bbox = _amber_box(served)
    assert bbox is not None, "the served page has no highlight colour"
    x0, y0, x1, y1 = bbox
    area = (x1 - x0) * (y1 - y0)
    # One filled rectangle around the cited figure (a table cell here), not a tinted page.
    assert x1 - x0 > 5 and y1 - y0 > 5 and area < served.width * served.height / 20, bbox
    assert count > area / 2, (count, bbox)
