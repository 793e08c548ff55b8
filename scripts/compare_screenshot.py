"""Make docs/compare.png, the README's picture of the compare page (`llm-extract review`, then
"compare"): the rules backend over reports/ into a temporary database, the compare page in
Debian's Chromium on the indicator most reports state. While extraction does not yet assign
indicators (no metric has one), the composed reports of the tests (tests/support/comparabledb.py) are
shown instead, and the script says so.

    python scripts/compare_screenshot.py      # from the repository root; needs chromium, playwright

A CJK font must be installed for the text to show (apt-get install fonts-droid-fallback).
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from llm_extract.review.app import ReviewServer
from llm_extract.store.database import Store
from tests.support import browser, comparabledb, reviewdb


def database(folder: Path) -> Path:
    db = reviewdb.build(folder)
    with Store(db) as store:  # migrated
        stated = store.query("SELECT count(*) AS n FROM indicator_values")[0]["n"]
    if stated:
        return db
    print("no metric of reports/ has an indicator yet: showing the tests' composed reports", file=sys.stderr)
    return comparabledb.build(folder)


def main(target: Path) -> None:
    why = browser.missing()
    if why:
        sys.exit(f"cannot take the screenshot: {why}")
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory() as tmp:
        server = ReviewServer(database(Path(tmp)), "reviewer")
        server.start()
        try:
            with sync_playwright() as p:
                chromium = browser.launch(p)
                page = chromium.new_page(viewport={"width": 1100, "height": 640})
                page.goto(f"{server.url}compare")
                page.wait_for_selector("svg.areas")
                page.hover("svg.bars a.point >> nth=1")
                target.parent.mkdir(parents=True, exist_ok=True)
                page.screenshot(path=str(target), full_page=True)
                chromium.close()
        finally:
            server.stop()
    print(target)


if __name__ == "__main__":
    main(ROOT / "docs" / "compare.png")
