"""The review page in a real headless Chromium (Debian's, driven by Playwright) against a real
server and database: highlights sit on the stored characters; accept, correct a name, reject,
add a missed metric by selecting text, accept the rest, all with the keyboard; then the reviews
rows, the reviewed views and the exported gold file are what the reviewer did. The static report
shows every item highlighted. Artefacts (screenshots, timings) go to build/review-test/."""

from __future__ import annotations

import subprocess
import sys
import time

import pytest

from llm_extract.evaluate.gold import integrity_errors, load_gold
from llm_extract.review.app import ReviewServer
from llm_extract.review.decisions import ItemKey
from llm_extract.store.database import Store
from tests.support import browser, reviewdb
from tests.support.paths import REPORTS, ROOT

pytestmark = pytest.mark.browser
ARTEFACTS = ROOT / "build" / "review-test"  # git-ignored
DOC = "002_f3ad0f8b935bdfdd.txt"  # 35 metrics, 4 problems, and the guide's borderline 五类 to add


@pytest.fixture(scope="module")
def chromium():
    why = browser.missing()
    if why:
        pytest.skip(why)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = browser.launch(p)
        yield b
        b.close()


@pytest.fixture()
def served(tmp_path):
    db = reviewdb.build(tmp_path)
    with Store(db):
        pass
    server = ReviewServer(db, "browser-test")
    server.start()
    yield server, db
    server.stop()


def uid(row: dict, kind: str = "metric") -> str:
    return ItemKey(kind=kind, char_start=row["char_start"], char_end=row["char_end"],
                   value=row["value"] if kind == "metric" else None).uid


def test_review_a_report_in_the_browser(chromium, served, tmp_path):
    server, db = served
    ARTEFACTS.mkdir(parents=True, exist_ok=True)
    with Store(db, read_only=True) as store:
        [(doc_id, _)] = store.find_documents(DOC)
        text = store.query("SELECT text FROM documents WHERE doc_id = ?", [doc_id])[0]["text"]
        metrics = store.query("SELECT * FROM metrics WHERE doc_id = ? ORDER BY char_start", [doc_id])
        problems = store.query("SELECT * FROM problems WHERE doc_id = ? ORDER BY char_start", [doc_id])
    page = chromium.new_page(viewport={"width": 1400, "height": 900})
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("dialog", lambda dialog: dialog.accept())  # the confirm of A (accept the rest)

    started = time.monotonic()
    page.goto(server.url)
    page.click(f'a[href="/doc/{doc_id}"] >> nth=0')
    page.wait_for_selector("#text mark")

    # Highlights: the page's text is the stored text, and each item's marks hold its quote.
    assert page.eval_on_selector("#text", "el => el.textContent") == text
    marked = page.evaluate(browser.MARKED_JS)
    expected = {uid(m): m["quote"] for m in metrics} | {uid(p, "problem"): p["quote"] for p in problems}
    assert marked == expected

    accepted, renamed, rejected = metrics[3], metrics[4], metrics[5]

    def act(row: dict, key: str, state: str) -> None:
        page.click(f'#text mark[data-uid="{uid(row)}"]')
        assert page.get_attribute(f'li.item[data-uid="{uid(row)}"]', "class").split().count("selected") == 1
        page.keyboard.press(key)
        page.wait_for_selector(f'li.item.st-{state}[data-uid="{uid(row)}"]')

    act(accepted, "a", "accept")
    # j/k move through the list; the selection follows in the text.
    page.click(f'#text mark[data-uid="{uid(renamed)}"]')
    page.keyboard.press("j")
    page.keyboard.press("k")
    assert "selected" in page.get_attribute(f'#text mark[data-uid="{uid(renamed)}"]', "class")
    page.keyboard.press("e")
    page.wait_for_selector("#editor:not([hidden])")
    page.fill("#editor input[name=name]", "法治宣传活动场次")
    page.keyboard.press("Enter")
    page.wait_for_selector(f'li.item.st-correct[data-uid="{uid(renamed)}"]')
    act(rejected, "r", "reject")

    # Add the missed metric: select its characters, press m, name it, Enter.
    start = text.index("摸排辖区五类")
    assert page.evaluate(browser.SELECT_JS, [start, start + 6]) == "摸排辖区五类"
    page.keyboard.press("m")
    page.wait_for_selector("#editor:not([hidden])")
    assert page.input_value("#editor select[name=reading]") == "0"
    page.fill("#editor input[name=name]", "摸排普法重点人员类别")
    page.select_option("#editor select[name=metric_category]", "publicity")
    page.keyboard.press("Enter")
    added = ItemKey(kind="metric", char_start=start, char_end=start + 6, value=5.0).uid
    page.wait_for_selector(f'li.item.st-add[data-uid="{added}"]')
    assert page.eval_on_selector(f'#text mark[data-uid="{added}"]', "el => el.textContent") == "摸排辖区五类"

    page.screenshot(path=str(ARTEFACTS / "review.png"))

    # A value that does not parse from its selection is refused on the page, with one line.
    page.evaluate(browser.SELECT_JS, [start, start + 4])  # 摸排辖区: no number
    page.keyboard.press("m")
    page.wait_for_selector("#editor:not([hidden])")
    page.fill("#editor input[name=name]", "摸排")
    page.keyboard.press("Enter")
    page.wait_for_selector("#status.error")
    assert "must parse from its quote" in page.inner_text("#status")
    page.keyboard.press("Escape")
    page.wait_for_selector("#editor", state="hidden")
    page.keyboard.press("A")
    page.wait_for_function("() => !document.querySelector('li.item.st-unreviewed')")
    seconds = time.monotonic() - started
    (ARTEFACTS / "timing.txt").write_text(f"review of {DOC} by keyboard in the browser test: {seconds:.1f} s\n")
    assert errors == []

    with Store(db, read_only=True) as store:
        rows = store.query("SELECT * FROM reviews ORDER BY review_id")
        view = store.query("SELECT * FROM metrics_reviewed WHERE doc_id = ?", [doc_id])
    first = [(r["decision"], r["char_start"]) for r in rows[:4]]
    assert first == [("accept", accepted["char_start"]), ("correct", renamed["char_start"]),
                     ("reject", rejected["char_start"]), ("add", start)]
    assert {r["reviewer"] for r in rows} == {"browser-test"}
    assert len(rows) == 4 + len(metrics) + len(problems) - 3  # the rest accepted, one row each
    by_start = {v["char_start"]: v for v in view}
    assert len(view) == len(metrics) - 1 + 1
    assert rejected["char_start"] not in by_start
    assert by_start[renamed["char_start"]]["name"] == "法治宣传活动场次"
    assert (by_start[start]["quote"], by_start[start]["value"], by_start[start]["unit"]) == ("摸排辖区五类", 5, "类")

    # Export: the reviewed document is a gold file the gold set's own checks accept.
    out = tmp_path / "gold"
    done = subprocess.run([sys.executable, "-m", "llm_extract", "review", "--db", str(db), "--export-gold", str(out)],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    gold = load_gold(out / DOC.replace(".txt", ".json"))
    original = (REPORTS / DOC).read_text(encoding="utf-8")
    assert integrity_errors(gold, original) == []
    for m in gold.metrics:  # test_gold's own assertion, spelled out
        assert original[m.char_start:m.char_start + len(m.quote)] == m.quote
    assert len(gold.metrics) == len(metrics) and "法治宣传活动场次" in [m.name for m in gold.metrics]
    assert rejected["quote"][-4:] in done.stderr  # the rejected count is reported as unexplained


def test_static_report_shows_every_item(chromium, tmp_path):
    db = reviewdb.build(tmp_path)
    target = tmp_path / "report.html"
    done = subprocess.run([sys.executable, "-m", "llm_extract", "report", DOC, "-o", str(target), "--db", str(db)],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    with Store(db, read_only=True) as store:
        [(doc_id, _)] = store.find_documents(DOC)
        metrics = store.query("SELECT * FROM metrics WHERE doc_id = ?", [doc_id])
        problems = store.query("SELECT * FROM problems WHERE doc_id = ?", [doc_id])
    context = chromium.new_context(offline=True)  # self-contained: nothing to fetch
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto(target.as_uri())
    marked = page.evaluate(browser.MARKED_JS)
    assert marked == {uid(m): m["quote"] for m in metrics} | {uid(p, "problem"): p["quote"] for p in problems}
    page.keyboard.press("j")  # read-only keys work; nothing to write
    assert page.locator("li.item.selected").count() == 1 and page.locator("#editor").is_hidden()
    page.screenshot(path=str(ARTEFACTS / "report.png"))
    assert errors == []
    context.close()
