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
from service.bootstrap import QUEUE_NAMES
from service.model import Account
from service.ops.redis_server import ROOT, free_port
from tests.browser.harness import create_test_harness

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
ARTIFACTS = ROOT / "tests" / "artifacts"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]


class LiveServer:
    """A WSGI app served on 127.0.0.1 from a thread."""

    def __init__(self, app):
        self.port = free_port()
        self.server = make_server("127.0.0.1", self.port, app, threaded=True)
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
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
    app = create_test_harness(settings, account, api_server.url)
    server = make_server("127.0.0.1", port, app, threaded=True)
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    server.url = f"http://127.0.0.1:{port}"
    yield server
    server.shutdown()


@pytest.fixture
def rq_worker_process(redis_url):
    """Run the Procfile's `rq worker` command itself, in burst mode, as a separate process."""
    def run() -> None:
        subprocess.run([sys.executable, "-m", "rq.cli", "worker", "--burst", "--url", redis_url,
                        "--serializer", "json", *QUEUE_NAMES],
                       check=True, cwd=ROOT, timeout=60, capture_output=True)
    return run


@pytest.fixture
def harness_account(harness, deps):
    """The installed account whose pages the harness plays."""
    return deps.store.get_account(16700680)


@pytest.fixture
def scenario(deps, harness_account):
    """The screenshot account (tests/support/report_screenshots.py) in our store, its supervisor (1001) included."""
    from service.insights.plans import month_key
    from tests.support.scenario_store import load_scenario

    month = month_key(int(deps.clock()), harness_account.timezone)
    load_scenario(deps, harness_account,
                  plans=({"month": month, "user_id": 1, "amount": 100_000, "count": None},
                         {"month": month, "user_id": 2, "amount": 80_000, "count": 4}))
    return harness_account


def screenshot(page, name: str, selector: str | None = None) -> Path:
    """Save a screenshot as a test artifact (the whole page, or one element)."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    if selector:
        page.locator(selector).screenshot(path=str(path))
    else:
        page.screenshot(path=str(path), full_page=True)
    return path


def text_of(locator) -> str:
    """Visible text with no-break spaces as plain spaces (numbers are grouped with U+00A0)."""
    text = locator.evaluate("n => n.innerText === undefined ? n.textContent : n.innerText")  # SVG has no innerText
    return text.replace("\u00a0", " ").replace("\u202f", " ")


def foreign_css(page) -> list:
    """CSS selectors and element classes of the widget that are not under its `deal-pulse` prefix."""
    return page.evaluate("""() => {
      const bad = [];
      const sheet = document.getElementById('deal-pulse-style').sheet;
      for (const rule of sheet.cssRules) {
        if (rule.selectorText) {
          rule.selectorText.split(',').forEach(s => { if (!s.trim().startsWith('.deal-pulse')) bad.push(s); });
        } else if (!(rule.name || '').startsWith('deal-pulse')) { bad.push(rule.cssText.slice(0, 40)); }
      }
      document.querySelectorAll('.deal-pulse, .deal-pulse *').forEach(el => {
        (el.getAttribute('class') || '').split(/\\s+/).filter(Boolean).forEach(c => {
          if (!c.startsWith('deal-pulse')) bad.push(c);
        });
      });
      return bad;
    }""")
