"""The compare page and the area/indicator editor in a real headless Chromium (Debian's, driven
by Playwright) against a real server and a real database of composed reports: the bars are the
first mentions, sorted, each linked to its quote; the area bars split each report's items; a
reviewer's indicator decisions in the editor change what the compare page draws. Nothing is
fetched from anywhere but the review server."""

from __future__ import annotations

import pytest

from llm_extract.label.indicator_ids import indicators
from llm_extract.review.app import ReviewServer
from llm_extract.store.database import Store
from tests.support import browser, comparabledb
from tests.support.paths import ROOT

pytestmark = pytest.mark.browser
ARTEFACTS = ROOT / "build" / "review-test"  # git-ignored
RECONSIDERATION = "disputes.reconsideration_cases"


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
    db = comparabledb.build(tmp_path)
    server = ReviewServer(db, "browser-test")
    server.start()
    yield server, db
    server.stop()


def bars(page) -> list[tuple[str, str, str]]:
    """(label, value text, href) of each bar, top to bottom."""
    return page.eval_on_selector_all(
        "svg.bars a.point", "els => els.map(a => [a.querySelector('text.label').textContent, "
        "a.querySelector('text.value').textContent, a.getAttribute('href')])")


def test_compare_an_indicator_across_reports_in_the_browser(chromium, served):
    server, db = served
    ARTEFACTS.mkdir(parents=True, exist_ok=True)
    page = chromium.new_page(viewport={"width": 1200, "height": 900})
    errors: list[str] = []
    foreign: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("request", lambda request: None if request.url.startswith(server.url) else foreign.append(request.url))

    page.goto(server.url)
    page.click("a.compare-link")
    page.wait_for_selector("svg.bars")
    # The indicator most reports state is shown first: largest first, each report's first mention.
    assert page.eval_on_selector("#indicator", "el => el.value") == RECONSIDERATION
    shown = bars(page)
    assert [(label, value) for label, value, _ in shown] == [
        ("乙县人民政府 2023", "40 件"), ("甲县司法局 2023", "15 件 ≠1"), ("甲县司法局 2022", "12 件")]
    assert page.eval_on_selector_all("svg.bars rect.bar", "els => els.map(e => e.classList.contains('conflict'))") == \
        [False, True, False]
    widths = page.eval_on_selector_all("svg.bars rect.bar", "els => els.map(e => e.getBBox().width)")
    assert widths[0] > widths[1] > widths[2] > 0 and abs(widths[1] / widths[0] - 15 / 40) < 0.01

    # Items by area: one stacked bar per report, its segments in proportion to its metrics.
    with Store(db, read_only=True) as store:
        expected = {(r["doc_id"], r["area"]): r["n"] for r in store.query(
            "SELECT doc_id, area, count(*) AS n FROM metrics_reviewed GROUP BY ALL")}
    segments = page.eval_on_selector_all("svg.areas rect.segment", "els => els.map(e => "
                                         "[e.dataset.area, e.getBBox().width, e.querySelector('title').textContent])")
    assert len(segments) == len(expected)
    town = [s for s in segments if s[2].startswith("丙镇人民政府 2023")]
    assert sorted((s[0], round(s[1])) for s in town) == [("disputes", 260), ("publicity", 260)]  # 1 and 1 of 2

    # Another indicator, chosen in the list (the page submits itself).
    page.select_option("#indicator", "disputes.mediated")
    page.wait_for_url("**indicator=disputes.mediated**")
    assert [(label, value) for label, value, _ in bars(page)] == [("乙县人民政府 2023", "210 起"), ("丙镇人民政府 2023", "35 起")]
    page.screenshot(path=str(ARTEFACTS / "compare.png"), full_page=True)

    # A bar leads to its quote in its report's review page, selected.
    page.goto(f"{server.url}compare?indicator={RECONSIDERATION}")
    page.click('svg.bars a.point >> nth=1')
    page.wait_for_selector("#text mark.selected")
    assert page.eval_on_selector_all("#text mark.selected", "els => els.map(e => e.textContent).join('')") == \
        "全年受理行政复议案件15件"
    assert page.eval_on_selector("li.item.selected .indicator", "el => el.textContent") == \
        indicators()[RECONSIDERATION].label

    # In the 2022 report: the reviewer takes the indicator off the 12 and gives it to the
    # sub-unit's 3 (choosing the indicator in the editor chooses its area).
    doc_2022 = comparabledb.doc_id("a_county_justice_2022.txt")
    page.goto(f"{server.url}doc/{doc_2022}")
    page.wait_for_selector("#text mark")
    page.click('#text mark:has-text("全年受理行政复议案件12件")')
    page.keyboard.press("e")
    page.wait_for_selector("#editor:not([hidden])")
    page.select_option("#editor select[name=indicator]", "")
    page.click("#editor button[type=submit]")
    page.wait_for_selector("#editor", state="hidden")
    page.wait_for_selector('li.item.st-correct .indicator.none')
    page.click('#text mark:has-text("其中城关所受理行政复议案件3件")')
    page.keyboard.press("e")
    page.wait_for_selector("#editor:not([hidden])")
    page.select_option("#editor select[name=area]", "other")
    page.select_option("#editor select[name=indicator]", RECONSIDERATION)
    assert page.eval_on_selector("#editor select[name=area]", "el => el.value") == "disputes"
    page.click("#editor button[type=submit]")
    page.wait_for_selector("#editor", state="hidden")
    with Store(db, read_only=True) as store:
        rows = store.query("SELECT value, indicator, indicator_source FROM metrics_reviewed WHERE doc_id = ? "
                           "AND unit = '件' ORDER BY char_start", [doc_2022])
    assert rows == [{"value": 12.0, "indicator": None, "indicator_source": "review"},
                    {"value": 5.0, "indicator": "disputes.litigation_cases", "indicator_source": "code"},
                    {"value": 3.0, "indicator": RECONSIDERATION, "indicator_source": "review"}]
    page.goto(f"{server.url}compare?indicator={RECONSIDERATION}")
    assert [(label, value) for label, value, _ in bars(page)][-1] == ("甲县司法局 2022", "3 件")

    assert errors == [] and foreign == []
