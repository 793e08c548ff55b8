"""`llm-extract sql` can read and nothing else (issue 10, case 1), through the real CLI over a real
database file; plus its output cases: markup, JSON numbers, empty queries, Ctrl-C."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pytest

from tests.support.clihelp import (
    as_if_in_a_terminal,
    cli_env,
    copy_db,
    invoke,
    one_line_error,
    rules_db,
)

# The probe's statements: each wrote the database, its WAL or a file, or changed the session.
COPY_ONTO_DB = "COPY (SELECT 1 AS x) TO 'x.duckdb' (FORMAT csv, USE_TMP_FILE false)"
REFUSED = [
    ("copy-onto-db", COPY_ONTO_DB),
    ("set-log-query-path", "SET log_query_path='x.duckdb'; SELECT 1"),
    ("set-log-query-path-alone", "SET log_query_path='x.duckdb'"),
    ("copy-onto-wal", "COPY (SELECT 1 AS x) TO 'x.duckdb.wal' (FORMAT csv, USE_TMP_FILE false)"),
    ("multi-statement-write-second", f"SELECT 1; {COPY_ONTO_DB}"),
    ("multi-statement-reads", "SELECT 1; SELECT 2"),
    ("block-comment-before-copy", f"/* only a comment */ {COPY_ONTO_DB}"),
    ("semicolon-in-comment", "SELECT 1 /* ; */; DROP TABLE metrics"),
    ("cte-with-delete", "WITH d AS (DELETE FROM metrics RETURNING *) SELECT count(*) FROM d"),
    ("temp-table", "CREATE TEMP TABLE t AS SELECT 1 AS x"),
    ("temp-view", "CREATE TEMP VIEW v AS SELECT 1 AS x"),
    ("temp-macro", "CREATE TEMP MACRO m() AS 1"),
    ("reset", "RESET threads"),
    ("set", "SET threads = 1"),
    ("set-variable", "SET VARIABLE x = 1"),
    ("pragma-profiling-output", "PRAGMA profiling_output='x.duckdb'"),
    ("pragma-enable-profiling", "PRAGMA enable_profiling"),
    ("pragma-assignment", "PRAGMA threads=1"),
    ("call-checkpoint", "CALL checkpoint()"),
    ("checkpoint", "CHECKPOINT"),
    ("force-checkpoint", "FORCE CHECKPOINT"),
    ("load", "LOAD json"),
    ("install", "INSTALL json"),
    ("attach", "ATTACH 'y.duckdb' AS y"),
    ("detach", "DETACH x"),
    ("use", "USE memory"),
    ("export-database", "EXPORT DATABASE 'dump'"),
    ("vacuum", "VACUUM"),
    ("begin", "BEGIN TRANSACTION"),
    ("prepare", "PREPARE p AS SELECT 1"),
    ("explain-analyze-copy", f"EXPLAIN ANALYZE {COPY_ONTO_DB}"),
    ("explain-copy", f"EXPLAIN {COPY_ONTO_DB}"),
    ("drop", "DROP TABLE metrics"),
    ("delete", "DELETE FROM metrics"),
    ("insert", "INSERT INTO runs (run_id, started_at) VALUES ('x', now())"),
    ("update", "UPDATE documents SET path = 'x'"),
    ("alter", "ALTER TABLE metrics ADD COLUMN y INTEGER"),
    ("comment-on", "COMMENT ON TABLE metrics IS 'x'"),
    ("copy-to-file", "COPY metrics TO 'out.csv'"),
    ("copy-from-file", "COPY metrics FROM 'in.csv'"),
    ("read-outside-file", "SELECT * FROM read_csv('/etc/passwd')"),
    ("empty", ""),
    ("only-whitespace-and-semicolons", "  ;  ; "),
    ("only-a-comment", "/* nothing */"),
    ("syntax-error", "SELEC 1"),
]
ALLOWED = [
    ("select", "SELECT count(*) AS n FROM documents", "5"),
    ("select-trailing-semicolon", "SELECT count(*) AS n FROM documents;", "5"),
    ("leading-comment", "/* how many */ SELECT count(*) AS n FROM documents", "5"),
    ("trailing-comment", "SELECT count(*) AS n FROM documents -- how many", "5"),
    ("with-select", "WITH a AS (SELECT 7 AS x) SELECT x FROM a", "7"),
    ("from-first", "FROM documents SELECT count(*) AS n", "5"),
    ("describe", "DESCRIBE metrics", "quote"),
    ("show-tables", "SHOW TABLES", "problems"),
    ("summarize", "SUMMARIZE SELECT value FROM metrics", "value"),
    ("explain", "EXPLAIN SELECT * FROM metrics", "physical_plan"),
    ("explain-analyze-select", "EXPLAIN ANALYZE SELECT count(*) FROM metrics", "analyzed_plan"),
    ("pragma-table-info", "PRAGMA table_info('metrics')", "char_start"),
    ("pragma-show-tables", "PRAGMA show_tables", "documents"),
    ("pragma-version", "PRAGMA version", "library_version"),
]


@pytest.fixture(scope="module")
def built_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return rules_db(tmp_path_factory.mktemp("sqldb"))


@pytest.fixture()
def db(built_db: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh copy of the database, in the current folder (the statements above name it relative)."""
    monkeypatch.chdir(tmp_path)
    return copy_db(built_db, tmp_path)


def _files(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in folder.iterdir() if p.is_file()}


def _counts(db: Path) -> tuple[int, int]:
    con = duckdb.connect(str(db), read_only=True)
    try:
        return con.execute("SELECT (SELECT count(*) FROM documents), (SELECT count(*) FROM metrics)").fetchone()  # type: ignore[return-value]
    finally:
        con.close()


@pytest.mark.parametrize(("sql",), [(sql,) for _, sql in REFUSED], ids=[case for case, _ in REFUSED])
def test_sql_refuses_everything_but_reading(db: Path, sql: str):
    before = _files(db.parent)
    result = invoke("sql", sql, "--db", str(db))
    assert result.exit_code == 2, result.stdout
    line = one_line_error(result.stderr)
    assert line.startswith("error: ") and ("refused" in line or "empty" in line or "syntax" in line.lower()), line
    assert _files(db.parent) == before  # nothing written: not the database, its WAL, nor any other file
    assert _counts(db) == (5, 105)


@pytest.mark.parametrize(("sql", "expected"), [(sql, out) for _, sql, out in ALLOWED], ids=[case for case, _, _ in ALLOWED])
def test_sql_allows_reading(db: Path, sql: str, expected: str):
    before = _files(db.parent)
    result = invoke("sql", sql, "--db", str(db), "--format", "csv")
    assert result.exit_code == 0, result.stderr
    assert expected in result.stdout
    assert _files(db.parent) == before


def test_copy_onto_the_wal_after_a_kill_cannot_erase_committed_rows(db: Path):
    # A writer killed before its checkpoint leaves committed rows only in the WAL.
    subprocess.run([sys.executable, "-c", "import duckdb, os; c = duckdb.connect('x.duckdb'); "
                    "c.execute('CREATE TABLE kept AS SELECT 42 AS x'); os._exit(0)"], check=True, cwd=db.parent)
    assert (db.parent / "x.duckdb.wal").exists()
    result = invoke("sql", "COPY (SELECT 1 AS x) TO 'x.duckdb.wal' (FORMAT csv, USE_TMP_FILE false)", "--db", str(db))
    assert result.exit_code == 2
    con = duckdb.connect(str(db))
    try:
        assert con.execute("SELECT x FROM kept").fetchall() == [(42,)]
    finally:
        con.close()


def test_sql_prints_values_as_they_are_not_as_markup(db: Path):
    result = invoke("sql", "SELECT 'a[bold]b' AS \"[red]c\", '[/i]' AS d", "--db", str(db))
    assert result.exit_code == 0, result.stderr
    assert "a[bold]b" in result.stdout and "[red]c" in result.stdout and "[/i]" in result.stdout


def test_sql_json_is_strict_json(db: Path):
    result = invoke("sql", "SELECT 'nan'::DOUBLE AS a, 'inf'::DOUBLE AS b, '-inf'::DOUBLE AS c, 1.5::DOUBLE AS d, "
                    "repeat('长', 300) AS e", "--db", str(db), "--format", "json")
    assert result.exit_code == 0, result.stderr

    def refuse(name: str) -> None:
        raise ValueError(f"bare {name} is not JSON")

    rows = json.loads(result.stdout, parse_constant=refuse)
    assert rows == [{"a": None, "b": None, "c": None, "d": 1.5, "e": "长" * 300}]


def _opened(pid: int, path: Path) -> bool:
    try:
        return any(os.path.realpath(f"/proc/{pid}/fd/{fd}") == str(path.resolve()) for fd in os.listdir(f"/proc/{pid}/fd"))
    except OSError:
        return False


@pytest.mark.skipif(not Path("/proc/self/fd").exists(), reason="needs /proc to see when the query runs")
def test_ctrl_c_during_a_query_says_interrupted_and_exits_130(db: Path):
    proc = subprocess.Popen([sys.executable, "-m", "llm_extract", "sql", "--db", str(db),
                             "SELECT count(*) FROM range(1000000000000) a, range(1000) b"],
                            env=cli_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            preexec_fn=as_if_in_a_terminal)
    deadline = time.monotonic() + 30
    while not _opened(proc.pid, db) and time.monotonic() < deadline:  # the query runs once the file is open
        time.sleep(0.05)
    time.sleep(0.5)
    proc.send_signal(signal.SIGINT)
    try:
        _, stderr = proc.communicate(timeout=60)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
        pytest.fail("Ctrl-C did not stop the query")
    assert proc.returncode == 130, stderr
    assert "interrupted" in one_line_error(stderr)
