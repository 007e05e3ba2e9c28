"""The widget as amoCRM takes it: `widget.zip` with manifest.json at the root, the API URL baked in."""
from __future__ import annotations

import json
import zipfile
from pathlib import Path

from service.redis_server import ROOT

WIDGET_DIR = ROOT / "widget"
MANIFEST = ROOT / "manifest.json"
API_PLACEHOLDER = "__DEAL_PULSE_API__"
PACKED_DIRS = ("i18n", "images", "templates")


def version() -> str:
    """The widget version: manifest.json is its one source."""
    return json.loads(MANIFEST.read_text())["widget"]["version"]


def widget_script(api_base: str) -> str:
    """script.js with the service's public URL in place."""
    return (WIDGET_DIR / "script.js").read_text().replace(API_PLACEHOLDER, api_base.rstrip("/"))


def build_zip(target: Path, api_base: str) -> Path:
    """Write widget.zip for upload in amoCRM's integration settings."""
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.write(MANIFEST, "manifest.json")
        archive.writestr("script.js", widget_script(api_base))
        for folder in PACKED_DIRS:
            for path in sorted((WIDGET_DIR / folder).rglob("*")):
                if path.is_file() and not path.name.startswith("."):
                    archive.write(path, path.relative_to(WIDGET_DIR).as_posix())
    return target
