"""Driving the review page in a real browser: Debian's Chromium through Playwright, never a
downloaded browser. Shared by the browser test and scripts/review_screenshot.py."""

from __future__ import annotations

from pathlib import Path
from typing import Any

CHROMIUM = Path("/usr/bin/chromium")
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def missing() -> str | None:
    """Why the browser test cannot run here, or None."""
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "Playwright is not installed (pip install -e '.[browser]'; never `playwright install`)"
    if not CHROMIUM.exists():
        return f"no Chromium at {CHROMIUM} (apt-get install -y chromium)"
    return None


def launch(playwright: Any) -> Any:
    return playwright.chromium.launch(executable_path=str(CHROMIUM), args=ARGS, headless=True)


# Selects [start, end) code points of the text pane, as a mouse drag would.
SELECT_JS = """([start, end]) => {
  const root = document.getElementById('text');
  const walker = document.createTreeWalker(root, NodeFilter.SHOW_TEXT);
  let pos = 0, sNode = null, sOff = 0, eNode = null, eOff = 0;
  while (walker.nextNode()) {
    const node = walker.currentNode, cps = [...node.data], n = cps.length;
    if (sNode === null && start < pos + n) { sNode = node; sOff = cps.slice(0, start - pos).join('').length; }
    if (end <= pos + n) { eNode = node; eOff = cps.slice(0, end - pos).join('').length; break; }
    pos += n;
  }
  const range = document.createRange();
  range.setStart(sNode, sOff); range.setEnd(eNode, eOff);
  const sel = window.getSelection(); sel.removeAllRanges(); sel.addRange(range);
  return sel.toString();
}"""

# Every item's highlighted characters: the text of its mark fragments, in document order (a
# fragment is never inside another fragment of the same item).
MARKED_JS = """() => {
  const out = {};
  for (const m of document.querySelectorAll('#text mark[data-uid]')) {
    out[m.dataset.uid] = (out[m.dataset.uid] || '') + m.textContent;
  }
  return out;
}"""
