"""Findings in a real DuckDB file: written by `run`, recomputed for a series when another year
of the same township arrives, listed by `llm-extract checks`, marked by `show`, put first by the
review queue, shown by the static report, and dismissed as a review decision that survives
re-extraction."""

from __future__ import annotations

import json
import random
from pathlib import Path

from typer.testing import CliRunner

from llm_extract.review.decisions import decide_finding
from llm_extract.store.checkstore import findings, refresh_series
from llm_extract.cli.app import app
from llm_extract.config import load_settings
from llm_extract.run.pipeline import run
from llm_extract.review import decisions, queue
from llm_extract.store.database import Store
from tests.support.paths import REPORTS
from tests.support.variants import next_year

QINGLONG = next(REPORTS.glob("002_*.txt"))
# Quantities both years state, as the indicator catalogue would name them (set here: the areas
# work assigns them), and the one whose number the later year has ten times over.
INDICATORS = {"理论学习中心组学习": "study.collective_sessions", "法律咨询": "legal_services.consultations",
              "普法宣传标语": "publicity.materials", "配备网格员": "disputes.mediators",
              "切实做好": "enforcement.certified_officers"}
JUMPED = "配备网格员"


def two_years(folder: Path) -> tuple[Path, Path]:
    text = QINGLONG.read_text(encoding="utf-8")
    at = text.index(JUMPED) + len(JUMPED)  # the number right after it
    earlier = folder / "qinglong_2023.txt"
    earlier.write_text(next_year(text, -1, random.Random(7), scale_at=(at,)), encoding="utf-8")
    later = folder / "qinglong_2024.txt"
    later.write_text(text, encoding="utf-8")
    return earlier, later


def label(db: Path) -> None:
    with Store(db) as store:
        # Only these indicators, whatever code assigned: the series is about them alone.
        store.con.execute("UPDATE metrics SET indicator = NULL")
        for cue, indicator in INDICATORS.items():
            store.con.execute("UPDATE metrics SET indicator = ? WHERE quote LIKE ?", [indicator, f"%{cue}%"])
        counts = store.query("SELECT doc_id, count(*) n FROM metrics WHERE indicator IS NOT NULL GROUP BY doc_id")
        assert [r["n"] for r in counts] == [len(INDICATORS)] * 2  # each cue names one metric per year


def test_a_series_with_one_number_ten_times_over(tmp_path: Path) -> None:
    db = tmp_path / "x.duckdb"
    earlier, later = two_years(tmp_path)
    settings = load_settings(db=db)
    assert run([earlier], settings, backend="rules").series_findings == 0
    summary = run([later], settings, backend="rules")
    assert summary.exit_code == 0 and summary.series_findings == 0  # no indicators yet
    label(db)
    with Store(db) as store:
        assert refresh_series(store) == 1
        every = findings(store)
        rows = [r for r in every if r["check_name"] == "series_jump"]
        docs = {Path(r["path"]).name: r["doc_id"] for r in store.query("SELECT doc_id, path FROM documents")}
    assert len(rows) == 1
    (row,) = rows
    assert row["doc_id"] == docs[later.name] and row["other_doc_id"] == docs[earlier.name]
    assert "disputes.mediators" in row["message"] and "2023" in row["message"]
    # No other finding on the later year than the original report has on its own.
    others = {r["check_id"] for r in every if r["doc_id"] == docs[later.name]} - {row["check_id"]}
    assert others == set()  # 002 is complete and on time


def test_the_same_year_twice_is_not_a_series(tmp_path: Path) -> None:
    db = tmp_path / "x.duckdb"
    text = QINGLONG.read_text(encoding="utf-8")
    at = text.index(JUMPED) + len(JUMPED)
    (tmp_path / "a.txt").write_text(next_year(text, 0, random.Random(1), scale_at=(at,)), encoding="utf-8")
    (tmp_path / "b.txt").write_text(text, encoding="utf-8")
    run([tmp_path / "a.txt", tmp_path / "b.txt"], load_settings(db=db), backend="rules")
    label(db)
    with Store(db) as store:
        assert refresh_series(store) == 0


def test_findings_listed_shown_queued_reported_and_dismissed(tmp_path: Path) -> None:
    db = tmp_path / "x.duckdb"
    folder = tmp_path / "in"
    folder.mkdir()
    report = folder / "r.txt"
    body = REPORTS.joinpath("004_264309198007c7ae.txt").read_text(encoding="utf-8")
    # A contradiction composed into a copy: more concluded than received.
    report.write_text(body.replace("二是依法做好信访工作。", "二是依法做好信访工作。全年受理信访件48件，已办结52件。"),
                      encoding="utf-8")
    run([folder], load_settings(db=db), backend="rules")
    cli = CliRunner()
    listed = cli.invoke(app, ["checks", "--db", str(db), "--format", "json"])
    assert listed.exit_code == 0, listed.output
    rows = json.loads(listed.stdout)
    assert {r["check_id"].split(":")[0] for r in rows} == {"part_exceeds_whole", "missing_part", "causes_not_stated"}
    part = next(r for r in rows if r["check_name"] == "part_exceeds_whole")
    assert len(part["metric_ids"]) == 2
    table = cli.invoke(app, ["checks", "--db", str(db)])
    assert table.exit_code == 0 and "part_exceeds_whole" in table.stdout
    assert "part_exceeds_whole" in cli.invoke(app, ["checks", "--db", str(db), "--format", "csv"]).stdout
    shown = cli.invoke(app, ["show", "r.txt", "--db", str(db)])
    flat = "".join(ch for ch in shown.stdout if ch not in " \n│├└─")  # the tree wraps at the terminal's width
    assert shown.exit_code == 0 and flat.count("⚠part_exceeds_whole") == 2  # both numbers marked

    with Store(db, read_only=True) as store:
        review = decisions.load(store, part["doc_id"])
    queue.flag(review)
    assert review.items[0].flags[0] == "check" and review.items[0].item_id in part["metric_ids"]
    html = tmp_path / "r.html"
    assert cli.invoke(app, ["report", "r.txt", "-o", str(html), "--db", str(db)]).exit_code == 0
    assert "part_exceeds_whole" in html.read_text(encoding="utf-8")

    dismissed = cli.invoke(app, ["checks", "--db", str(db), "--doc", "r.txt", "--dismiss", part["check_id"],
                                 "--reason", "52 includes last year's cases", "--reviewer", "tester"])
    assert dismissed.exit_code == 0, dismissed.output
    # Re-extracted (renumbered ids, the checks table rewritten): the dismissal still holds.
    run([folder], load_settings(db=db), backend="rules", force=True)
    open_ = json.loads(cli.invoke(app, ["checks", "--db", str(db), "--format", "json"]).stdout)
    assert part["check_id"] not in {r["check_id"] for r in open_}
    every = json.loads(cli.invoke(app, ["checks", "--db", str(db), "--format", "json", "--all"]).stdout)
    again = next(r for r in every if r["check_id"] == part["check_id"])
    assert again["dismissed"] and again["reviewer"] == "tester"
    with Store(db) as store:
        decide_finding(store, part["doc_id"], part["check_id"], "restore", "tester")
        assert part["check_id"] in {r["check_id"] for r in findings(store)}


def test_refusals_are_one_line(tmp_path: Path) -> None:
    db = tmp_path / "x.duckdb"
    run([next(REPORTS.glob("000_*.txt"))], load_settings(db=db), backend="rules")
    cli = CliRunner()
    for args in (["--dismiss", "missing_part:leaders"], ["--doc", "000_", "--dismiss", "no_such:check"],
                 ["--doc", "nothing-matches", "--format", "csv"]):
        result = cli.invoke(app, ["checks", "--db", str(db), *args])
        assert result.exit_code == 2 and "error:" in result.stderr and "Traceback" not in result.output
    missing = cli.invoke(app, ["checks", "--db", str(tmp_path / "none.duckdb")])
    assert missing.exit_code == 2 and not (tmp_path / "none.duckdb").exists()
