"""The commands a user runs, offline: `eval` applies the thresholds and exits by them, `export`
writes every table readable by DuckDB, and the one evaluation path names its cache safely."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import duckdb
import pytest
from typer.testing import CliRunner

from llm_extract.cli.app import app
from llm_extract.config import Settings
from llm_extract.evaluate.scoreboard import cache_db, evaluate
from tests.support.paths import GOLD, REPORTS, ROOT
from tests.support.scripted import ScriptedBackend

runner = CliRunner()


def _thresholds(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "t.toml"
    path.write_text(body, encoding="utf-8")
    return path


def _eval(tmp_path: Path, thresholds: Path):
    return runner.invoke(app, ["eval", "--rules-only", "--reports", str(REPORTS), "--gold", str(GOLD),
                               "--results", str(tmp_path / "results"), "--thresholds", str(thresholds)])


def test_eval_exits_1_and_names_each_score_below_its_threshold(tmp_path, clean_env):
    """Defect: `llm-extract eval` never applied evals/thresholds.toml and exited 0 on a regression."""
    result = _eval(tmp_path, _thresholds(tmp_path, '[rules]\n"metrics.f1" = 1.01\n"grounding.rate" = 1.0\n'))
    assert result.exit_code == 1
    assert "below threshold: rules metrics.f1 = 1.000 < 1.01" in result.output
    assert "grounding.rate" not in result.output.split("below threshold")[-1]


def test_eval_exits_0_when_every_score_meets_its_threshold(tmp_path, clean_env):
    result = _eval(tmp_path, ROOT / "evals" / "thresholds.toml")
    assert result.exit_code == 0, result.output
    board = json.loads((tmp_path / "results" / "latest.json").read_text(encoding="utf-8"))
    assert [r["backend"] for r in board["runs"]] == ["rules"]


def test_eval_with_a_missing_report_is_one_line_exit_2(tmp_path, clean_env):
    reports = tmp_path / "reports"
    reports.mkdir()
    result = runner.invoke(app, ["eval", "--rules-only", "--reports", str(reports), "--gold", str(GOLD),
                                 "--results", str(tmp_path / "r"), "--thresholds", str(ROOT / "evals" / "thresholds.toml")])
    assert result.exit_code == 2 and "gold reports missing" in result.output


def test_the_eval_cache_is_named_safely_for_any_model_name(tmp_path, clean_env, monkeypatch):
    """Defect: the cache path was built twice, differently; `qwen2.5:7b` opened a missing file."""
    settings = Settings(_env_file=None, base_url="http://127.0.0.1:9/v1", model="qwen2.5:7b")  # type: ignore[call-arg]
    assert cache_db(tmp_path, "llm", settings).name == "extractions-qwen2.5_7b.duckdb"
    board = evaluate(settings, REPORTS, GOLD, tmp_path / "results", tmp_path / "cache",
                     ROOT / "evals" / "thresholds.toml", backends=("llm",), model_backend=ScriptedBackend())
    llm = board.results["llm"]
    assert llm.model == "qwen2.5:7b" and set(llm.extractions) == set(llm.golds)
    assert (tmp_path / "cache" / "extractions-qwen2.5_7b.duckdb").is_file()


@pytest.mark.parametrize("fmt", ["parquet", "csv", "jsonl"])
def test_export_writes_every_table_with_every_row(tmp_path, clean_env, fmt):
    db = tmp_path / "x.duckdb"
    assert runner.invoke(app, ["run", str(REPORTS), "--backend", "rules", "--db", str(db)]).exit_code == 0
    result = runner.invoke(app, ["export", str(tmp_path / "out"), "--db", str(db), "--format", fmt])
    assert result.exit_code == 0, result.output
    con = duckdb.connect(str(db), read_only=True)
    reader = {"parquet": "read_parquet", "csv": "read_csv_auto", "jsonl": "read_json_auto"}[fmt]
    for table in ("documents", "sections", "metrics", "problems", "runs"):
        path = tmp_path / "out" / f"{table}.{fmt}"
        expected = con.execute(f"SELECT count(*) FROM {table}").fetchone()
        assert duckdb.execute(f"SELECT count(*) FROM {reader}('{path}')").fetchone() == expected, table
    con.close()


def test_run_prints_one_line_per_document_and_a_summary(tmp_path, clean_env):
    folder = tmp_path / "in"
    shutil.copytree(REPORTS, folder)
    result = runner.invoke(app, ["run", str(folder), "--backend", "rules", "--db", str(tmp_path / "x.duckdb")])
    assert result.exit_code == 0
    assert result.output.count("ok  ") == 5 and "5 extracted (0 partial), 0 skipped, 0 failed" in result.output


def test_partitioned_parquet_reads_back_every_row_under_its_documents_keys(tmp_path, clean_env):
    db = tmp_path / "x.duckdb"
    assert runner.invoke(app, ["run", str(REPORTS), "--backend", "rules", "--db", str(db)]).exit_code == 0
    out = tmp_path / "out"
    for _ in range(2):  # a second export replaces the first: no row twice
        result = runner.invoke(app, ["export", str(out), "--db", str(db), "--partition-by", "year,county"])
        assert result.exit_code == 0, result.output
    con = duckdb.connect(str(db), read_only=True)
    for table in ("documents", "sections", "metrics", "problems", "pages", "runs"):
        read = f"read_parquet('{out / table}/**/*.parquet', hive_partitioning = true)"
        assert duckdb.execute(f"SELECT count(*) FROM {read}").fetchone() == \
            con.execute(f"SELECT count(*) FROM {table}").fetchone(), table
    exported = duckdb.execute(
        f"SELECT year, county, doc_id, metric_id, quote FROM read_parquet('{out}/metrics/**/*.parquet', "
        "hive_partitioning = true) ORDER BY ALL").fetchall()
    stored = con.execute("SELECT d.year, d.county, m.doc_id, m.metric_id, m.quote FROM metrics m "
                         "JOIN documents d USING (doc_id) ORDER BY ALL").fetchall()
    assert exported == stored and {row[0] for row in stored} >= {2021, 2023, 2024}
    assert any(row[1] is None for row in stored)  # a document without a county reads back as NULL
    con.close()
    assert {p.name for p in (out / "metrics").iterdir()} == {"year=2021", "year=2023", "year=2024"}


def test_partitioned_export_empties_only_folders_it_wrote(tmp_path, clean_env):
    db = tmp_path / "x.duckdb"
    assert runner.invoke(app, ["run", str(REPORTS), "--backend", "rules", "--db", str(db)]).exit_code == 0
    (tmp_path / "out" / "metrics").mkdir(parents=True)
    (tmp_path / "out" / "metrics" / "notes.txt").write_text("mine")
    result = runner.invoke(app, ["export", str(tmp_path / "out"), "--db", str(db), "--partition-by", "year"])
    assert result.exit_code != 0 and "notes.txt" in result.output
    assert (tmp_path / "out" / "metrics" / "notes.txt").read_text() == "mine"
    inside = tmp_path / "metrics" / "x.duckdb"
    inside.parent.mkdir()
    shutil.copy(db, inside)
    result = runner.invoke(app, ["export", str(tmp_path), "--db", str(inside), "--partition-by", "year"])
    assert result.exit_code != 0 and "write over the database" in result.output and inside.exists()
    result = runner.invoke(app, ["export", str(tmp_path / "o2"), "--db", str(db), "--partition-by", "year,nope"])
    assert result.exit_code != 0 and "year, county, township" in result.output
