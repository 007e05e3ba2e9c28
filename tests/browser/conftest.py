"""Real servers on loopback and Debian's Chromium driven by Playwright."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from werkzeug.serving import make_server

from service import create_app
from service.model import Account
from service.redis_server import ROOT, free_port
from tests.browser.harness import create_harness

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
ARTIFACTS = ROOT / "tests" / "artifacts"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]


class LiveServer:
    """A WSGI app served on 127.0.0.1 from a thread."""

    def __init__(self, app):
        self.port = free_port()
        self.server = make_server("127.0.0.1", self.port, app, threaded=True)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def stop(self) -> None:
        self.server.shutdown()


@pytest.fixture(scope="session")
def browser():
    """Headless Chromium; missing is a failure in CI (DEAL_PULSE_REQUIRE_BROWSER=1), a skip elsewhere."""
    if not (Path(CHROMIUM).exists() or shutil.which(CHROMIUM)):
        message = f"Chromium not found at {CHROMIUM}: install Debian's chromium (apt-get install chromium)"
        if os.environ.get("DEAL_PULSE_REQUIRE_BROWSER") == "1":
            pytest.fail(message)
        pytest.skip(message)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield launched
        launched.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1000, "height": 700})
    yield context.new_page()
    context.close()


@pytest.fixture
def api_server(deps):
    server = LiveServer(create_app(deps=deps))
    yield server
    server.stop()


@pytest.fixture
def harness(settings, deps, api_server):
    """The amoCRM stand-in page; the installed account's origin is the harness's own."""
    port = free_port()
    account = Account(id=16700680, subdomain="unirock", base_url=f"http://127.0.0.1:{port}")
    deps.store.save_account(account)
    app = create_harness(settings, account, api_server.url)
    server = make_server("127.0.0.1", port, app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    server.url = f"http://127.0.0.1:{port}"
    yield server
    server.shutdown()


@pytest.fixture
def rq_worker_process(redis_url):
    """Run the Procfile's `rq worker` command itself, in burst mode, as a separate process."""
    def run() -> None:
        subprocess.run([sys.executable, "-m", "rq.cli", "worker", "--burst", "--url", redis_url,
                        "--serializer", "json", "webhooks", "insights", "sync"],
                       check=True, cwd=ROOT, timeout=60, capture_output=True)
    return run


def screenshot(page, name: str) -> Path:
    """Save a screenshot as a test artifact."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path
