"""The README's pictures command works against a live server: it fails loudly when a page stops drawing."""
import os
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest

from service import create_app
from tests.browser.conftest import LiveServer

ROOT = Path(__file__).resolve().parents[2]
SHOTS = ("card-ru.png", "card-en.png", "panel-ru.png", "panel-en.png", "report-ru.png")


@pytest.fixture
def demo_server(deps):
    """The web app as `make run` serves it: the previews exist in the demo only (issue 16)."""
    deps.settings = replace(deps.settings, env="demo")
    server = LiveServer(create_app(deps=deps))
    yield server
    server.stop()


def run_command(url: str, out: Path, wait_ms: int = 15_000) -> subprocess.CompletedProcess:
    """The command itself, in its own process (as `make screenshots` runs it)."""
    return subprocess.run([sys.executable, str(ROOT / "docs" / "screenshots.py"), url, str(out)], cwd=ROOT,
                          capture_output=True, text=True, timeout=300,
                          env={**os.environ, "SCREENSHOT_WAIT_MS": str(wait_ms)})


def test_the_readme_pictures_command_draws_every_picture(scenario, demo_server, tmp_path):
    done = run_command(demo_server.url, tmp_path)
    assert done.returncode == 0, done.stderr
    for name in SHOTS:
        assert (tmp_path / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", name


def test_the_command_fails_on_pages_that_draw_nothing(demo_server, tmp_path):
    done = run_command(demo_server.url, tmp_path, wait_ms=1000)  # no account installed: the preview is a 404
    assert done.returncode == 1 and "card-ru.png" in done.stderr and not list(tmp_path.iterdir())
