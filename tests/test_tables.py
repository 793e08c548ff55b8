"""Comparable tables on a real DuckDB file: the area/indicator columns (migration 009), the
reviewed views applying review decisions on them, `indicator_values`, and `llm-extract table`
(one row per document, one column per indicator, first mention kept, conflicts counted), through
the library and the CLI. The scale test inserts 10,000 documents by SQL and checks that the
table costs grow with the corpus no faster than linearly (a ratio, not a timing)."""

from __future__ import annotations

import csv
import io
import json
import time

import duckdb
import pytest

from llm_extract.errors import ReviewError, StoreError
from llm_extract.review import decisions, goldexport
from llm_extract.review.decisions import DecisionIn, ItemKey
from llm_extract.store.database import Store
from llm_extract.store.migrations import MIGRATIONS
from llm_extract.store.tables import (
    choose_indicators,
    indicator_table,
    open_for_tables,
    output_format,
    write_table,
)
from tests.support import comparabledb
from tests.support.clihelp import cli

RECONSIDERATION = "disputes.reconsideration_cases"
# The README's query: 行政复议 cases by county and year, one value per report (its first mention).
BY_COUNTY_AND_YEAR = f"""
    SELECT county, year, sum(value) AS cases, count(*) AS reports FROM (
        SELECT * FROM indicator_values WHERE indicator = '{RECONSIDERATION}'
        QUALIFY row_number() OVER (PARTITION BY doc_id ORDER BY char_start) = 1)
    GROUP BY county, year ORDER BY county, year"""


@pytest.fixture()
def db(tmp_path):
    return comparabledb.build(tmp_path)


def doc(name: str) -> str:
    return comparabledb.doc_id(name)


def test_labels_are_stored_and_read_back(db):
    with Store(db, read_only=True) as store:
        columns = {(r["table_name"], r["column_name"]) for r in store.query(
            "SELECT table_name, column_name FROM information_schema.columns")}
        for column in ("area", "area_source", "indicator", "indicator_source"):
            assert ("metrics", column) in columns and ("metrics_reviewed", column) in columns
        assert {("problems", "area"), ("problems", "area_source"), ("problems_reviewed", "area")} <= columns
        back = store.load_extraction(doc("a_county_justice_2022.txt"))
    saved = comparabledb.extraction(comparabledb.REPORTS[0])
    assert back is not None
    assert [(m.area, m.indicator, m.indicator_source) for m in back.metrics] == \
        [(m.area, m.indicator, m.indicator_source) for m in saved.metrics]
    assert [p.area for p in back.problems] == ["publicity"]


def test_migration_adds_the_columns_to_a_database_from_before(tmp_path):
    db = tmp_path / "old.duckdb"
    con = duckdb.connect(str(db))
    con.execute("CREATE TABLE migrations (name VARCHAR PRIMARY KEY, applied_at TIMESTAMP)")
    for name, sql in MIGRATIONS:
        if name == "009_areas_and_indicators":
            break
        con.execute(sql)
        con.execute("INSERT INTO migrations VALUES (?, now())", [name])
    con.execute("INSERT INTO documents (doc_id, path, n_chars, text) VALUES ('d', 'r.txt', 1, 'x')")
    con.execute("INSERT INTO metrics (doc_id, metric_id, name, value, unit, approx, category, quote, char_start, "
                "char_end) VALUES ('d', 0, 'n', 1, '件', false, 'other', 'x', 0, 1)")
    con.close()
    with open_for_tables(db) as store:  # migrates, then reads
        assert store.query("SELECT area, indicator FROM metrics_reviewed") == [{"area": None, "indicator": None}]
        assert indicator_table(store).rows[0][:2] == ("d", "r.txt")


def test_indicator_values_answers_reconsideration_cases_by_county_and_year(db):
    with Store(db, read_only=True) as store:
        rows = store.query(BY_COUNTY_AND_YEAR)
    # 甲县 2023 states 15, 15 again, then 16: its first mention counts; the sub-unit's 3 has no indicator.
    assert [(r["county"], r["year"], r["cases"], r["reports"]) for r in rows] == [
        ("乙县", 2023, 40.0, 1), ("甲县", 2022, 12.0, 1), ("甲县", 2023, 15.0, 1)]


def test_table_one_row_per_document_first_mention_and_conflicts(db):
    with Store(db, read_only=True) as store:
        result = indicator_table(store)
    rows = [dict(zip(result.columns, row)) for row in result.rows]
    assert [r["path"].rsplit("/", 1)[-1] for r in rows] == [r.name for r in comparabledb.REPORTS]
    assert result.columns[:7] == ["doc_id", "path", "issuer", "issuer_level", "county", "township", "year"]
    # Catalogue order, only what some report states.
    assert result.indicators == ["study.collective_sessions", "disputes.mediated", RECONSIDERATION,
                                 "disputes.litigation_cases", "publicity.events", "publicity.materials"]
    by_name = {r["path"].rsplit("/", 1)[-1]: r for r in rows}
    second = by_name["a_county_justice_2023.txt"]
    assert (second[RECONSIDERATION], second[RECONSIDERATION + "__conflicts"]) == (15.0, 1)  # 15, 15, 16: not 46
    first = by_name["a_county_justice_2022.txt"]
    assert (first[RECONSIDERATION], first[RECONSIDERATION + "__conflicts"]) == (12.0, 0)  # the sub-unit's 3 is not it
    town = by_name["c_town_2023.txt"]
    assert (town[RECONSIDERATION], town[RECONSIDERATION + "__conflicts"], town["township"]) == (None, 0, "丙镇")


def test_table_applies_review_decisions(db):
    with Store(db) as store:
        doc_id = doc("a_county_justice_2023.txt")
        rows = store.query("SELECT * FROM metrics WHERE doc_id = ? ORDER BY char_start", [doc_id])
        key = ItemKey(kind="metric", char_start=rows[0]["char_start"], char_end=rows[0]["char_end"], value=rows[0]["value"])
        decisions.decide(store, doc_id, DecisionIn(decision="reject", key=key), "t")
        table = {r[1]: r for r in indicator_table(store, RECONSIDERATION).rows}
    # The first 15 rejected: the second 15 is now the first mention, and 16 still conflicts.
    assert table["/reports/a_county_justice_2023.txt"][7:] == (15.0, 1)


def test_choose_indicators_refuses_unknown_ids(db):
    with Store(db, read_only=True) as store:
        assert choose_indicators(store, f" {RECONSIDERATION},disputes.mediated ,") == [RECONSIDERATION, "disputes.mediated"]
        assert choose_indicators(store, "legal_services.legal_aid") == ["legal_services.legal_aid"]  # known, unstated
        for spec in ("disputes.nonsense", "x; DROP TABLE metrics", ","):
            with pytest.raises(StoreError, match="unknown indicator"):
                choose_indicators(store, spec)


def test_output_format_rules(tmp_path):
    assert output_format(None, None) == "table"
    assert output_format(None, tmp_path / "t.CSV") == "csv"
    with pytest.raises(StoreError, match="cannot tell the format"):
        output_format(None, tmp_path / "t.txt")
    with pytest.raises(StoreError, match="Parquet is a file"):
        output_format("parquet", None)


def test_write_refuses_the_database_and_existing_files(db, tmp_path):
    for target in (db, db.with_name(db.name + ".wal")):
        with pytest.raises(StoreError, match="write over the database"):
            write_table(db, target, "csv", replace=True)
    target = tmp_path / "t.csv"
    target.write_text("keep me", encoding="utf-8")
    with pytest.raises(StoreError, match="--replace"):
        write_table(db, target, "csv")
    assert target.read_text(encoding="utf-8") == "keep me"
    with pytest.raises(StoreError, match="unknown indicator"):  # a failed write leaves it too
        write_table(db, target, "csv", "nope.nope", replace=True)
    assert target.read_text(encoding="utf-8") == "keep me"
    written = write_table(db, target, "csv", RECONSIDERATION, replace=True)
    assert written.rows == 4
    assert next(iter(csv.reader(io.StringIO(target.read_text(encoding="utf-8")))))[-2:] == \
        [RECONSIDERATION, RECONSIDERATION + "__conflicts"]
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".t.csv")] == []  # no temporary left


def test_cli_table_formats(db, tmp_path):
    def run_cli(args):
        return cli(*args, cwd=tmp_path)

    done = run_cli(["table", "--db", str(db), "--format", "csv", "--indicators", RECONSIDERATION])
    assert done.returncode == 0, done.stderr
    rows = list(csv.DictReader(io.StringIO(done.stdout)))
    assert [(r["county"], r["year"], r[RECONSIDERATION], r[RECONSIDERATION + "__conflicts"]) for r in rows] == [
        ("甲县", "2022", "12.0", "0"), ("甲县", "2023", "15.0", "1"), ("乙县", "2023", "40.0", "0"), ("乙县", "2023", "", "0")]
    done = run_cli(["table", "--db", str(db), "--format", "json"])
    assert done.returncode == 0 and len(json.loads(done.stdout)) == 4
    printed = run_cli(["table", "--db", str(db)])
    assert printed.returncode == 0 and "c_town_2023.txt" in printed.stdout and "conflicts" in printed.stdout
    target = tmp_path / "out" / "t.parquet"
    done = run_cli(["table", "--db", str(db), "-o", str(target)])
    assert done.returncode == 0, done.stderr
    assert "4 documents × 6 indicators" in done.stderr
    assert duckdb.sql(f"SELECT count(*) FROM '{target}'").fetchall() == [(4,)]
    again = run_cli(["table", "--db", str(db), "-o", str(target)])
    assert again.returncode == 2 and "--replace" in again.stderr
    bad = run_cli(["table", "--db", str(db), "--indicators", "disputes.x"])
    assert bad.returncode == 2 and bad.stderr.count("\n") == 1 and "unknown indicator" in bad.stderr
    missing = run_cli(["table", "--db", str(tmp_path / "none.duckdb")])
    assert missing.returncode == 2 and "no database" in missing.stderr


def test_review_decides_area_and_indicator(db):
    with Store(db) as store:
        doc_id = doc("a_county_justice_2022.txt")
        rows = store.query("SELECT * FROM metrics WHERE doc_id = ? ORDER BY char_start", [doc_id])
        sub_unit = rows[3]  # 其中城关所受理行政复议案件3件: a sub-unit's figure, no indicator
        key = ItemKey(kind="metric", char_start=sub_unit["char_start"], char_end=sub_unit["char_end"],
                      value=sub_unit["value"])
        for change, why in (({"indicator": "disputes.nope"}, "unknown indicator"),
                            ({"indicator": "publicity.events"}, "indicator of publicity, not disputes"),
                            ({"indicator": "disputes.mediation_success_rate"}, "counts rate"),
                            ({"area": None}, "choose an area")):
            with pytest.raises(ReviewError, match=why):
                decisions.decide(store, doc_id, DecisionIn.model_validate(
                    {"decision": "correct", "key": key.model_dump(), "change": change}), "t")
        with pytest.raises(ValueError):
            DecisionIn.model_validate({"decision": "correct", "key": key.model_dump(), "change": {"area": "weather"}})
        # A reviewer who judges it the body's own figure gives it the indicator...
        decisions.decide(store, doc_id, DecisionIn.model_validate(
            {"decision": "correct", "key": key.model_dump(), "change": {"indicator": RECONSIDERATION}}), "ann")
        [row] = store.query("SELECT * FROM metrics_reviewed WHERE doc_id = ? AND char_start = ?",
                            [doc_id, sub_unit["char_start"]])
        assert (row["indicator"], row["indicator_source"], row["area"], row["area_source"]) == \
            (RECONSIDERATION, "review", "disputes", "code")
        assert len(store.query("SELECT * FROM indicator_values WHERE doc_id = ? AND indicator = ?",
                               [doc_id, RECONSIDERATION])) == 2
        # ...and a change of area must clear an indicator of the old area.
        first = rows[0]
        first_key = ItemKey(kind="metric", char_start=first["char_start"], char_end=first["char_end"], value=first["value"])
        with pytest.raises(ReviewError, match="indicator of disputes, not oversight"):
            decisions.decide(store, doc_id, DecisionIn.model_validate(
                {"decision": "correct", "key": first_key.model_dump(), "change": {"area": "oversight"}}), "ann")
        decisions.decide(store, doc_id, DecisionIn.model_validate(
            {"decision": "correct", "key": first_key.model_dump(), "change": {"area": "oversight", "indicator": None}}),
            "ann")
        [row] = store.query("SELECT * FROM metrics_reviewed WHERE doc_id = ? AND char_start = ?",
                            [doc_id, first["char_start"]])
        assert (row["area"], row["area_source"], row["indicator"], row["indicator_source"]) == \
            ("oversight", "review", None, "review")
        # A problem: its area, and no indicator.
        [problem] = store.query("SELECT * FROM problems WHERE doc_id = ?", [doc_id])
        pkey = ItemKey(kind="problem", char_start=problem["char_start"], char_end=problem["char_end"])
        with pytest.raises(ReviewError, match="no indicator"):
            decisions.decide(store, doc_id, DecisionIn.model_validate(
                {"decision": "correct", "key": pkey.model_dump(), "change": {"indicator": None}}), "ann")
        decisions.decide(store, doc_id, DecisionIn.model_validate(
            {"decision": "correct", "key": pkey.model_dump(), "change": {"area": "study"}}), "ann")
        [row] = store.query("SELECT area, area_source FROM problems_reviewed WHERE doc_id = ?", [doc_id])
        assert row == {"area": "study", "area_source": "review"}
        # The page shows what the views apply.
        review = decisions.load(store, doc_id)
        shown = {item.key: item.current for item in review.items}
        assert shown[key]["indicator"] == RECONSIDERATION and shown[first_key]["area"] == "oversight"


def test_an_added_metric_carries_its_labels_and_accept_keeps_them(db):
    with Store(db) as store:
        doc_id = doc("c_town_2023.txt")
        text = store.query("SELECT text FROM documents WHERE doc_id = ?", [doc_id])[0]["text"]
        rows = store.query("SELECT * FROM metrics WHERE doc_id = ? ORDER BY char_start", [doc_id])
        key = ItemKey(kind="metric", char_start=rows[0]["char_start"], char_end=rows[0]["char_end"], value=rows[0]["value"])
        decisions.decide(store, doc_id, DecisionIn(decision="accept", key=key), "ann")
        start = text.index("2000份")
        decisions.decide(store, doc_id, DecisionIn.model_validate({"decision": "add", "kind": "metric", "change": {
            "char_start": start, "char_end": start + 5, "name": "资料份数", "category": "publicity",
            "indicator": "publicity.materials"}}), "ann")
        got = store.query("SELECT area, area_source, indicator, indicator_source, review FROM metrics_reviewed "
                          "WHERE doc_id = ? ORDER BY char_start, review", [doc_id])
    assert got == [
        {"area": "disputes", "area_source": "code", "indicator": "disputes.mediated", "indicator_source": "code",
         "review": "accept"},
        {"area": "publicity", "area_source": "code", "indicator": "publicity.materials", "indicator_source": "code",
         "review": None},
        {"area": "publicity", "area_source": "review", "indicator": "publicity.materials", "indicator_source": "review",
         "review": "add"}]


def test_gold_export_carries_area_and_indicator(db, tmp_path):
    with Store(db) as store:
        doc_id = doc("b_county_gov_2023.txt")
        rows = store.query("SELECT * FROM metrics WHERE doc_id = ? ORDER BY char_start", [doc_id])
        key = ItemKey(kind="metric", char_start=rows[1]["char_start"], char_end=rows[1]["char_end"], value=rows[1]["value"])
        decisions.decide(store, doc_id, DecisionIn.model_validate(
            {"decision": "correct", "key": key.model_dump(), "change": {"indicator": None}}), "ann")
        decisions.accept_rest(store, doc_id, "ann")
        result = goldexport.export_gold(store, tmp_path / "gold")
    [path] = result.written
    gold = json.loads(path.read_text(encoding="utf-8"))
    assert [(m["area"], m["indicator"]) for m in gold["metrics"]] == [
        ("disputes", RECONSIDERATION), ("publicity", None), ("disputes", "disputes.mediated")]
    assert [p["area"] for p in gold["problems"]] == ["enforcement"]


def _synthetic(db, n_docs: int) -> None:
    """n_docs documents with 24 metrics each (half of them indicators, some stated twice), by SQL."""
    with Store(db) as store:
        store.con.execute("""
            INSERT INTO documents (doc_id, path, county, year, issuer, issuer_level, n_chars, text)
            SELECT 'd' || i, '/r/' || i || '.txt', 'county' || (i % 50), 2020 + i % 4, 'issuer' || i, 'township', 1, 'x'
            FROM range(?) t(i)""", [n_docs])
        store.con.execute("""
            INSERT INTO metrics (doc_id, metric_id, name, value, unit, approx, category, quote, char_start, char_end,
                                 area, indicator)
            SELECT 'd' || i, j, 'n', (i * 7 + j) % 100, '件', false, 'other', 'q', j * 10, j * 10 + 5, 'disputes',
                   CASE WHEN j < 12 THEN ['disputes.mediated', 'disputes.screened', 'disputes.reconsideration_cases',
                        'disputes.litigation_cases', 'publicity.events', 'study.training_sessions'][j % 6 + 1] END
            FROM range(?) t(i), range(24) s(j)""", [n_docs])


def _seconds(db) -> float:
    with Store(db, read_only=True) as store:
        started = time.perf_counter()
        result = indicator_table(store)
        took = time.perf_counter() - started
    assert len(result.rows) > 0 and len(result.indicators) == 6
    return took


def test_table_scales_linearly_to_10000_documents(tmp_path):
    small, large = tmp_path / "small.duckdb", tmp_path / "large.duckdb"
    _synthetic(small, 1000)
    _synthetic(large, 10_000)
    _seconds(small), _seconds(large)  # warm both files
    ratio = min(_seconds(large) for _ in range(3)) / min(_seconds(small) for _ in range(3))
    # Ten times the documents: ten times the work at most (and less, for the fixed costs), never a
    # per-document query (which would make the large corpus cost 10x a large constant).
    assert ratio < 15, ratio
    with Store(large, read_only=True) as store:
        result = indicator_table(store, "disputes.mediated")
        rows = [dict(zip(result.columns, r)) for r in result.rows]
    assert len(rows) == 10_000
    # Each document states disputes.mediated twice (j = 0 and j = 6) with values 6 apart: one conflict.
    assert {r["disputes.mediated__conflicts"] for r in rows} == {1}
    assert rows[0]["disputes.mediated"] == 0.0  # d0: (0 * 7 + 0) % 100, the first mention
