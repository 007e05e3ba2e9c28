"""The widget as amoCRM takes it: `widget.zip` with manifest.json at the root, the API URL baked in."""
from __future__ import annotations

import json
import re
import zipfile
from urllib.parse import urlsplit
from pathlib import Path

from service.ops.redis_server import ROOT

WIDGET_DIR = ROOT / "widget"
MANIFEST = ROOT / "manifest.json"
API_PLACEHOLDER = "__DEAL_PULSE_API__"
PACKED_DIRS = ("i18n", "images", "templates")


def version() -> str:
    """The widget version: manifest.json is its one source."""
    return json.loads(MANIFEST.read_text())["widget"]["version"]


ENTRY = "script.js"


def scripts() -> list[str]:
    """The widget's JS files: script.js, the AMD module amoCRM loads, and the modules it loads from beside it."""
    return sorted(path.name for path in WIDGET_DIR.glob("*.js"))


def widget_file(name: str, api_base: str) -> str:
    """One of the widget's JS files with the service's public URL in place and its module ids versioned."""
    if name not in scripts():
        raise FileNotFoundError(name)
    return versioned((WIDGET_DIR / name).read_text().replace(API_PLACEHOLDER, api_base.rstrip("/")))


DEFINE = re.compile(r"^define\(\[[^\]]*\]", re.M)  # the module's own define(), at the start of a line
SIBLING = re.compile(r"'(\./[\w-]+\.js)'")


def versioned(script: str) -> str:
    """`'./card.js'` as `'./card.js?v=<version>'` in the module's define(): a browser that cached the modules of the
    previous upload fetches the new ones, as self.get_version() is meant for (FACTS §3), which define() cannot call."""
    stamp = f"?v={version()}"
    return DEFINE.sub(lambda found: SIBLING.sub(lambda m: f"'{m.group(1)}{stamp}'", found.group(0)), script, count=1)


def widget_script(api_base: str) -> str:
    """script.js with the service's public URL in place."""
    return widget_file(ENTRY, api_base)


class PackageError(ValueError):
    """The package would not work in amoCRM as asked: the message says what to set."""


def check_target(api_base: str, support_url: str, support_email: str, allow_http: bool = False) -> None:
    """Refuse a package amoCRM's https pages could not call, or one without a real support contact."""
    parts = urlsplit(api_base)
    if parts.scheme != "https" and not allow_http:
        raise PackageError(f"PUBLIC_URL must be an https URL (amoCRM pages are https and call it from the browser); "
                           f"got {api_base or 'nothing'!r}. For a local preview package pass --allow-http.")
    if not parts.hostname:
        raise PackageError(f"PUBLIC_URL {api_base!r} has no host")
    if not (support_url or support_email) and not allow_http:
        raise PackageError("set SUPPORT_URL and/or SUPPORT_EMAIL: amoCRM shows them on the widget's page")
    if support_url and urlsplit(support_url).scheme != "https":
        raise PackageError(f"SUPPORT_URL must be an https link; got {support_url!r}")
    if support_email and not EMAIL.fullmatch(support_email):
        raise PackageError(f"SUPPORT_EMAIL {support_email!r} is not an e-mail address")


EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")


def manifest(support_url: str = "", support_email: str = "") -> dict:
    """manifest.json as packed: the repository's, with the deployment's support contact."""
    doc = json.loads(MANIFEST.read_text())
    support = {k: v for k, v in (("link", support_url), ("email", support_email)) if v}
    if support:
        doc["widget"]["support"] = support
    return doc


def build_zip(target: Path, api_base: str, support_url: str = "", support_email: str = "") -> Path:
    """Write widget.zip for upload in amoCRM's integration settings."""
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("manifest.json", json.dumps(manifest(support_url, support_email), ensure_ascii=False,
                                                     indent=2) + "\n")
        for name in scripts():  # beside script.js, where its relative module ids point (script.js explains)
            archive.writestr(name, widget_file(name, api_base))
        for folder in PACKED_DIRS:
            for path in sorted((WIDGET_DIR / folder).rglob("*")):
                if path.is_file() and not path.name.startswith("."):
                    archive.write(path, path.relative_to(WIDGET_DIR).as_posix())
    return target
