"""The Streamlit app in a real browser: Debian's chromium driven by Playwright.

No browser is downloaded: Playwright launches the system chromium through
``executable_path``. The test skips where playwright or chromium is absent
(``.ci/run`` installs chromium with apt when it can).
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import pytest

try:
    from playwright.sync_api import expect, sync_playwright
except ImportError:  # pragma: no cover - depends on the environment
    sync_playwright = None

ROOT = Path(__file__).resolve().parent.parent
QUERY = "¿Qué es el mesoespacio institucional?"
SARAVI_CITATION = "Saraví (1998). Micro y pequeñas empresas"
STARTUP_TIMEOUT_S = 90
RESULT_TIMEOUT_MS = 60_000
FIRST_USE_TIMEOUT_MS = 300_000  # the real model indexes the bundled corpus (~1 min quiet, 2 cores)


def chromium_binary() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.fixture(scope="module")
def browser_binary() -> str:
    if sync_playwright is None:
        pytest.skip("playwright no está instalado (pip install -e '.[test]')")
    binary = chromium_binary()
    if binary is None:
        pytest.skip("no se encontró chromium en el PATH (apt-get install chromium)")
    return binary


@pytest.fixture(scope="module")
def home(browser_binary, tmp_path_factory):
    """An empty data directory: the app indexes the bundled corpus on first use."""
    return tmp_path_factory.mktemp("browser-home") / "kb"


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_healthy(url: str, process: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + STARTUP_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"streamlit exited with {process.returncode}:\n{log.read_text(errors='replace')}")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.read().decode().strip() == "ok":
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.3)
    pytest.fail(f"streamlit not healthy after {STARTUP_TIMEOUT_S} s:\n{log.read_text(errors='replace')}")


@pytest.fixture(scope="module")
def server(home, real_model, tmp_path_factory):
    """``streamlit run app.py`` on a free local port; yields its base URL."""
    port = free_port()
    log = tmp_path_factory.mktemp("streamlit") / "streamlit.log"
    env = dict(os.environ, KB_HOME=str(home), KB_CACHE_DIR=str(real_model.path.parent.parent))
    env.pop("KB_MODEL", None)
    env.pop("KB_PRECISION", None)
    command = [sys.executable, "-m", "streamlit", "run", "app.py",
               "--server.headless", "true", "--server.port", str(port), "--server.address", "127.0.0.1",
               "--browser.gatherUsageStats", "false"]
    with open(log, "wb") as out:
        process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
    try:
        base = f"http://127.0.0.1:{port}"
        wait_healthy(f"{base}/_stcore/health", process, log)
        yield base
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


def test_search_in_chromium_shows_the_cited_passage(server, browser_binary, tmp_path):
    with sync_playwright() as p:
        # --disable-dev-shm-usage: CI containers often have a 64 MB /dev/shm.
        browser = p.chromium.launch(executable_path=browser_binary, headless=True,
                                    args=["--no-sandbox", "--disable-dev-shm-usage"])
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 1600})
            page.goto(server, wait_until="domcontentloaded")
            # First use: one display of the stages, then the search box once the index is ready.
            expect(page.get_by_text("Preparando kb por primera vez").first).to_be_visible(
                timeout=RESULT_TIMEOUT_MS)
            box = page.get_by_label("Pregunta")
            expect(box).to_be_visible(timeout=FIRST_USE_TIMEOUT_MS)
            box.fill(QUERY)
            box.press("Enter")

            expect(page.get_by_text(SARAVI_CITATION).first).to_be_visible(timeout=RESULT_TIMEOUT_MS)
            passage = page.locator("div.pasaje", has_text="mesoespacio").first
            expect(passage).to_be_visible(timeout=RESULT_TIMEOUT_MS)
            # The input is bound to the URL (bind="query-params"), so the query can be shared.
            page.wait_for_url(lambda url: parse_qs(urlparse(url).query).get("q") == [QUERY],
                              timeout=RESULT_TIMEOUT_MS)

            # Let the script run finish so the screenshot shows every widget, not skeletons.
            expect(page.get_by_test_id("stStatusWidgetRunningIcon")).to_be_hidden(timeout=RESULT_TIMEOUT_MS)
            expect(page.get_by_role("button", name="Añadir al cuaderno").first).to_be_visible(
                timeout=RESULT_TIMEOUT_MS)
            shot = tmp_path / "buscar.png"
            page.screenshot(path=str(shot), full_page=True)

            # The navigation in the sidebar opens each page at its own address.
            page.get_by_role("link", name="Biblioteca").click()
            page.wait_for_url(lambda url: urlparse(url).path == "/biblioteca", timeout=RESULT_TIMEOUT_MS)
            expect(page.get_by_text("Documentos (5)")).to_be_visible(timeout=RESULT_TIMEOUT_MS)
            expect(page.get_by_test_id("stStatusWidgetRunningIcon")).to_be_hidden(timeout=RESULT_TIMEOUT_MS)
            # The table draws its cells on a canvas: wait for the grid itself.
            expect(page.get_by_test_id("stDataFrame").first).to_be_visible(timeout=RESULT_TIMEOUT_MS)
            library = tmp_path / "biblioteca.png"
            page.screenshot(path=str(library), full_page=True)
        finally:
            browser.close()
    for picture in (shot, library):
        assert picture.is_file() and picture.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
