"""Make docs/review.png, the README's picture of `llm-extract review`: the rules backend over
reports/ into a temporary database, the review page in Debian's Chromium, a few decisions taken
with the keyboard, and the editor open on an added metric.

    python scripts/review_screenshot.py      # from the repository root; needs chromium, playwright

A CJK font must be installed for the text to show (apt-get install fonts-droid-fallback).
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from llm_extract.review.app import ReviewServer
from llm_extract.review.decisions import ItemKey
from llm_extract.store.database import Store
from tests.support import browser, reviewdb

DOC = "002_f3ad0f8b935bdfdd.txt"


def main(target: Path) -> None:
    why = browser.missing()
    if why:
        sys.exit(f"cannot take the screenshot: {why}")
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory() as tmp:
        db = reviewdb.build(Path(tmp))
        with Store(db) as store:
            [(doc_id, _)] = store.find_documents(DOC)
            text = store.query("SELECT text FROM documents WHERE doc_id = ?", [doc_id])[0]["text"]
            metrics = store.query("SELECT * FROM metrics WHERE doc_id = ? ORDER BY char_start", [doc_id])
        server = ReviewServer(db, "reviewer")
        server.start()
        try:
            with sync_playwright() as p:
                chromium = browser.launch(p)
                page = chromium.new_page(viewport={"width": 1400, "height": 820})
                page.goto(f"{server.url}doc/{doc_id}")
                for row, key in ((metrics[3], "a"), (metrics[5], "r"), (metrics[6], "a")):
                    uid = ItemKey(kind="metric", char_start=row["char_start"], char_end=row["char_end"],
                                  value=row["value"]).uid
                    page.click(f'#text mark[data-uid="{uid}"]')
                    page.keyboard.press(key)
                    page.wait_for_selector(f'li.item[data-uid="{uid}"]:not(.st-unreviewed)')
                start = text.index("摸排辖区五类")
                page.evaluate(browser.SELECT_JS, [start, start + 6])
                page.keyboard.press("m")
                page.wait_for_selector("#editor:not([hidden])")
                page.fill("#editor input[name=name]", "摸排普法重点人员类别")
                page.eval_on_selector("#text", "el => el.scrollTo(0, 180)")
                target.parent.mkdir(parents=True, exist_ok=True)
                page.screenshot(path=str(target))
                chromium.close()
        finally:
            server.stop()
    print(target)


if __name__ == "__main__":
    main(ROOT / "docs" / "review.png")
