"""README pictures from a running `make run`: `make screenshots` (or docs/screenshots.py [BASE_URL] [OUT_DIR]).

Drives Debian's Chromium (/usr/bin/chromium, or CHROMIUM_PATH) with Playwright through the preview pages
(service/preview), so the pictures show the current widget on the current server; writes docs/*.png. Exits non-zero
when a page did not draw what its picture is for (tests/browser/test_screenshots_command.py runs it).
"""
from __future__ import annotations

import os
import sys
from pathlib import Path

from playwright.sync_api import sync_playwright

DOCS = Path(__file__).resolve().parent
CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
WAIT_MS = int(os.environ.get("SCREENSHOT_WAIT_MS", "15000"))  # how long a page may take to draw
ARGS = ["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking"]
PANEL_DRAWN = ("#work-area-deal_pulse [data-section='report'] table",  # the Stats page (issue 18's placement)
               "#work-area-deal_pulse [data-section='funnel'] .deal-pulse__funnel-row")
SHOTS = [  # (file, path, what must be drawn, viewport, element to shoot or None for the page)
    ("card-ru.png", "/preview/card?lang=ru", (".deal-pulse__hint",), (1000, 640), None),
    ("card-en.png", "/preview/card?lang=en", (".deal-pulse__hint",), (1000, 640), None),
    ("panel-ru.png", "/preview/panel?lang=ru", PANEL_DRAWN, (1280, 1100), None),
    ("panel-en.png", "/preview/panel?lang=en", PANEL_DRAWN, (1280, 1100), None),
    ("report-ru.png", "/preview/panel?lang=ru", PANEL_DRAWN, (1280, 1100), "[data-section='report']"),
]


def shoot(base: str, out: Path = DOCS) -> list[str]:
    """Take every picture into `out`; return the failures (pictures whose content never appeared)."""
    failures = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        for name, path, selectors, (width, height), element in SHOTS:
            page = browser.new_page(viewport={"width": width, "height": height})
            page.goto(base.rstrip("/") + path)
            try:
                for selector in selectors:
                    page.locator(selector).first.wait_for(timeout=WAIT_MS)
            except Exception as exc:  # noqa: BLE001 — any failure to draw is reported as such
                failures.append(f"{name}: {selectors} did not all appear ({type(exc).__name__})")
                page.close()
                continue
            target = page.locator(element).first if element else page
            target.screenshot(path=str(out / name), **({} if element else {"full_page": name.startswith("card")}))
            print(f"{out.name}/{name}")
            page.close()
        browser.close()
    return failures


def main(argv: list[str]) -> int:
    failures = shoot(argv[0] if argv else "http://127.0.0.1:5000", Path(argv[1]) if len(argv) > 1 else DOCS)
    for failure in failures:
        print(failure, file=sys.stderr)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
