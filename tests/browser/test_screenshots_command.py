"""The README's pictures command works against a live server: it fails loudly when a page stops drawing."""
import importlib.util
from dataclasses import replace
from pathlib import Path

import pytest

from service import create_app
from tests.browser.conftest import LiveServer

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def demo_server(deps):
    """The web app as `make run` serves it: the previews exist in the demo only (issue 16)."""
    deps.settings = replace(deps.settings, env="demo")
    server = LiveServer(create_app(deps=deps))
    yield server
    server.stop()


def screenshots_module():
    spec = importlib.util.spec_from_file_location("docs_screenshots", ROOT / "docs" / "screenshots.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_readme_pictures_command_draws_every_picture(scenario, demo_server, tmp_path):
    module = screenshots_module()
    assert module.shoot(demo_server.url, tmp_path) == []
    for name, *_ in module.SHOTS:
        picture = tmp_path / name
        assert picture.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", name


def test_the_command_reports_a_page_that_draws_nothing(demo_server, tmp_path):
    module = screenshots_module()  # no account installed: the preview answers 404, nothing is drawn
    module.SHOTS = module.SHOTS[:1]
    failures = module.shoot(demo_server.url, tmp_path)
    assert len(failures) == 1 and failures[0].startswith("card-ru.png")
