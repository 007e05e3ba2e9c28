"""Screenshots for the README from a running `make run`: .venv/bin/python docs/screenshots.py [BASE_URL].

Drives Debian's Chromium (/usr/bin/chromium, or CHROMIUM_PATH) with Playwright; writes docs/*.png.
"""
from __future__ import annotations

import os
import sys
from pathlib import Path

from playwright.sync_api import sync_playwright

DOCS = Path(__file__).resolve().parent
CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
ARGS = ["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking"]
SHOTS = [  # (file, path, what to wait for, viewport)
    ("card-ru.png", "/preview/card?lang=ru", ".deal-pulse__hint", (1000, 640)),
    ("card-en.png", "/preview/card?lang=en", ".deal-pulse__hint", (1000, 640)),
    ("panel-ru.png", "/preview/panel?lang=ru", "#work-area-deal_pulse *", (1280, 1100)),
    ("panel-en.png", "/preview/panel?lang=en", "#work-area-deal_pulse *", (1280, 1100)),
]


def main(base: str) -> None:
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        for name, path, selector, (width, height) in SHOTS:
            page = browser.new_page(viewport={"width": width, "height": height})
            page.goto(base.rstrip("/") + path)
            try:
                page.locator(selector).first.wait_for(timeout=15_000)
                page.wait_for_timeout(500)
            except Exception as exc:  # the panel may not be drawn by this widget version yet: shoot what is there
                print(f"{name}: {selector} did not appear ({type(exc).__name__})")
            page.screenshot(path=str(DOCS / name), full_page=name.startswith("card"))
            print(f"docs/{name}")
            page.close()
        browser.close()


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "http://127.0.0.1:5000")
