"""The compare page's data and charts on a real database of composed reports, and its route over
real HTTP: first mentions and conflicts, escaping of document text, refusals."""

from __future__ import annotations

import httpx
import pytest

from llm_extract.review import charts, compare
from llm_extract.review.app import ReviewServer
from llm_extract.store.database import Store
from tests.support import comparabledb


@pytest.fixture()
def db(tmp_path):
    return comparabledb.build(tmp_path)


def test_points_are_first_mentions_with_conflicts(db):
    with Store(db, read_only=True) as store:
        points = compare.points(store, "disputes.reconsideration_cases")
        stated = {ind.id: n for ind, n in compare.stated(store)}
        spreads = {s.label: s.counts for s in compare.spreads(store, "problems")}
    assert [(p.label, p.value, p.conflicts, p.quote) for p in points] == [
        ("乙县人民政府 2023", 40.0, 0, "办理行政复议案件40件"),
        ("甲县司法局 2023", 15.0, 1, "全年受理行政复议案件15件"),
        ("甲县司法局 2022", 12.0, 0, "全年受理行政复议案件12件")]
    assert stated["disputes.reconsideration_cases"] == 3 and stated["legal_services.legal_aid"] == 0
    assert spreads == {"甲县司法局 2022": {"publicity": 1}, "甲县司法局 2023": {}, "乙县人民政府 2023": {"enforcement": 1},
                       "丙镇人民政府 2023": {}}


def test_charts_escape_document_text_and_cap_rows():
    hostile = compare.Point("a" * 64, "<script>x</script>", 3.0, None, "件", False, '"><img src=x>', "m0-1_3.0", 0)
    svg = str(charts.value_bars([hostile]))
    assert "<script>" not in svg and "<img" not in svg and "&lt;script&gt;" in svg
    many = [compare.Point("b" * 64, f"r{i}", float(i), None, "件", False, "q", f"m{i}-{i + 1}_{float(i)!r}", 0)
            for i in range(charts.MAX_ROWS + 5)]
    assert str(charts.value_bars(many)).count('class="point"') == charts.MAX_ROWS


def test_compare_route(db):
    server = ReviewServer(db, "t")
    server.start()
    try:
        page = httpx.get(f"{server.url}compare")
        assert page.status_code == 200 and page.text.count('class="point"') == 3
        assert page.headers["content-security-policy"].startswith("default-src 'self'")
        assert httpx.get(f"{server.url}compare?indicator=x.y").status_code == 400
        assert httpx.get(f"{server.url}compare?what=sections").status_code == 400
        problems = httpx.get(f"{server.url}compare?what=problems&indicator=disputes.mediated")
        assert problems.status_code == 200 and problems.text.count('class="segment') == 2
        assert 'href="/compare"' in httpx.get(server.url).text  # the document list links to it
    finally:
        server.stop()
