"""Reads during a run, lock messages, killed and interrupted runs (issue 10, cases 8 and 10 and the
killed-run case): real processes against one real DuckDB file."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb
import pytest

from tests.support.clihelp import (
    REPORT,
    as_if_in_a_terminal,
    cli,
    cli_env,
    copy_reports,
    one_line_error,
    rules_db,
)


def _popen_run(folder: Path, cwd: Path, *extra: str) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-m", "llm_extract", "run", str(folder), "--backend", "rules",
                             "--db", "x.duckdb", *extra], env=cli_env(), cwd=cwd, stderr=subprocess.PIPE, text=True,
                            preexec_fn=as_if_in_a_terminal)


def _wait_for_ok(proc: subprocess.Popen[str], seen: list[str]) -> None:
    assert proc.stderr is not None
    for line in proc.stderr:
        seen.append(line)
        if line.startswith("ok "):
            return
    raise AssertionError("".join(seen))


@contextmanager
def _holding(db: Path, read_only: bool, seconds: float = 2) -> Iterator[None]:
    """Another process with the database open for some seconds (as a run or a reader would)."""
    holder = subprocess.Popen([sys.executable, "-c", "import duckdb, sys, time; "
                               "c = duckdb.connect(sys.argv[1], read_only=sys.argv[2] == 'ro'); "
                               "print('held', flush=True); time.sleep(float(sys.argv[3]))",
                               str(db), "ro" if read_only else "rw", str(seconds)], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        yield
    finally:
        holder.kill()
        holder.wait()


@pytest.mark.slow
def test_sql_show_and_export_work_while_a_run_writes(tmp_path):
    folder = copy_reports(tmp_path / "in", copies=300)  # 1,500 documents: the run outlasts the reads
    rules_db(tmp_path, REPORT)
    proc = _popen_run(folder, tmp_path)
    counts = []
    try:
        _wait_for_ok(proc, [])
        # Keep reading its lines, or the run blocks on a full pipe and the reads prove nothing.
        drain = threading.Thread(target=lambda: proc.stderr and proc.stderr.read(), daemon=True)
        drain.start()
        for i in range(3):
            result = cli("sql", "SELECT count(*) AS n FROM documents", "--db", "x.duckdb", "--format", "json", cwd=tmp_path)
            assert result.returncode == 0, result.stderr
            counts.append(json.loads(result.stdout)[0]["n"])
        shown = cli("show", REPORT.name, "--db", "x.duckdb", cwd=tmp_path)
        assert shown.returncode == 0, shown.stderr
        exported = cli("export", "out", "--db", "x.duckdb", "--format", "csv", cwd=tmp_path)
        assert exported.returncode == 0, exported.stderr
        assert proc.poll() is None, "the run ended before the reads: the test proves nothing"
    finally:
        assert proc.wait(timeout=600) == 0
    assert counts == sorted(counts) and counts[-1] > counts[0]  # results arrive while the run goes on
    assert (tmp_path / "out" / "documents.csv").exists()


def test_a_reader_waits_for_the_lock_and_then_reads(tmp_path):
    db = rules_db(tmp_path, REPORT)
    with _holding(db, read_only=False):
        started = time.monotonic()
        result = cli("sql", "SELECT count(*) AS n FROM documents", "--db", "x.duckdb", "--format", "csv", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["n", "1"]
    assert time.monotonic() - started > 1  # it did wait for the holder


def test_the_lock_message_is_printed_whole_with_what_to_do(tmp_path):
    db = rules_db(tmp_path, REPORT)
    # Held until killed: a loaded machine may take seconds to start the CLI.
    with _holding(db, read_only=False, seconds=120):
        result = cli("sql", "SELECT 1", "--db", "x.duckdb", cwd=tmp_path, LLM_EXTRACT_WAIT="0.2")
    assert result.returncode == 2
    line = one_line_error(result.stderr)
    # DuckDB's whole message (it names the holder's PID), then what to do about it.
    assert "Conflicting lock is held in" in line and "See also https://duckdb.org/docs/current/connect/concurrency" in line, line
    assert "try again" in line


@pytest.mark.slow
def test_a_run_waits_for_a_reader_to_finish(tmp_path):
    db = rules_db(tmp_path, REPORT)
    folder = copy_reports(tmp_path / "in")
    with _holding(db, read_only=True, seconds=6):  # longer than the run takes to start
        result = cli("run", str(folder), "--backend", "rules", "--db", "x.duckdb", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "waiting for the database" in result.stderr
    assert "4 extracted" in result.stderr and "1 skipped" in result.stderr


def test_a_run_that_cannot_get_the_database_stops_with_one_line(tmp_path):
    db = rules_db(tmp_path, REPORT)
    folder = copy_reports(tmp_path / "in")
    with _holding(db, read_only=True, seconds=8):
        result = cli("run", str(folder), "--backend", "rules", "--db", "x.duckdb", cwd=tmp_path,
                     LLM_EXTRACT_LOCK_WAIT="0.5")
    assert result.returncode == 2
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "in use by another process" in errors[0] and "run the same command again" in errors[0]
    assert "Traceback" not in result.stderr


@pytest.mark.slow
def test_a_second_run_on_the_same_database_is_refused_while_the_first_writes(tmp_path):
    folder = copy_reports(tmp_path / "in", copies=20)
    proc = _popen_run(folder, tmp_path)
    try:
        _wait_for_ok(proc, [])
        second = cli("run", str(REPORT), "--backend", "rules", "--db", "x.duckdb", cwd=tmp_path)
        assert proc.poll() is None
    finally:
        assert proc.wait(timeout=600) == 0
    assert second.returncode == 2
    assert "another run is writing to x.duckdb" in one_line_error(second.stderr)


def _runs(db: Path) -> list[tuple[object, ...]]:
    con = duckdb.connect(str(db), read_only=True)
    try:
        return con.execute("SELECT status, finished_at IS NULL, n_ok FROM runs ORDER BY started_at").fetchall()
    finally:
        con.close()


@pytest.mark.slow
def test_a_killed_run_is_marked_interrupted_by_the_next_run(tmp_path):
    folder = copy_reports(tmp_path / "in", copies=20)
    proc = _popen_run(folder, tmp_path)
    _wait_for_ok(proc, [])
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    again = cli("run", str(folder), "--backend", "rules", "--db", "x.duckdb", cwd=tmp_path, timeout=600)
    assert again.returncode == 0, again.stderr
    (killed_status, killed_open, killed_ok), finished = _runs(tmp_path / "x.duckdb")
    assert (killed_status, killed_open) == ("interrupted", False) and killed_ok >= 1
    assert finished == ("finished", False, 100 - killed_ok)


@pytest.mark.slow
def test_ctrl_c_during_a_run_always_ends_with_the_message_and_130(tmp_path):
    # With the rules backend most of a run's time is spent in DuckDB, where Ctrl-C used to surface
    # as "RuntimeError: Query interrupted"; try several moments.
    # 1,000 documents: a rules run is fast, and the first "ok" read from the pipe may come long
    # after it was written; the run must still be going when the signal arrives.
    folder = copy_reports(tmp_path / "in", copies=200)
    for attempt in range(6):
        proc = _popen_run(folder, tmp_path, "--force")
        _wait_for_ok(proc, [])
        time.sleep(0.05 * attempt)
        proc.send_signal(signal.SIGINT)
        assert proc.stderr is not None
        rest = proc.stderr.read()
        assert proc.wait(timeout=60) == 130, rest
        assert "Traceback" not in rest and "interrupted after" in rest, rest
    statuses = {row[0] for row in _runs(tmp_path / "x.duckdb")}
    assert statuses == {"interrupted"}


def _can_read(db: Path) -> bool:
    """Whether another process can open the database right now."""
    probe = subprocess.run([sys.executable, "-c", "import duckdb, sys; duckdb.connect(sys.argv[1], read_only=True).close()",
                            str(db)], capture_output=True, text=True, timeout=60)
    return probe.returncode == 0


def test_the_writer_holds_the_file_only_while_documents_come_fast(tmp_path, monkeypatch, report_texts):
    from llm_extract.evaluate.scorers import gold_as_extraction
    from llm_extract.evaluate.gold import load_gold_dir
    from llm_extract.store.writer import Writer

    name = "000_bfd2e8a3485ea91a.txt"
    gold = load_gold_dir(Path(__file__).resolve().parents[1] / "gold")[name]
    db = tmp_path / "w.duckdb"

    def extraction(doc_id: str, seconds: float):
        return gold_as_extraction(gold, doc_id=doc_id).model_copy(
            update={"path": doc_id, "seconds": seconds, "text": report_texts[name], "run_id": "r", "model": "m",
                    "prompt_version": "v"})

    with Writer(db) as writer:
        writer.save(extraction("slow", 30.0))  # a model's document
        assert writer.store is None and _can_read(db)
        writer.save(extraction("fast1", 0.01))  # the rules backend's
        assert writer.store is not None and not _can_read(db)
        monkeypatch.setattr(Writer, "HOLD", 0.0)
        monkeypatch.setattr(Writer, "CLOSE_SHARE", 0)  # held long enough whatever the last checkpoint took
        writer.save(extraction("fast2", 0.01))  # held long enough
        assert writer.store is None and _can_read(db)
    assert _can_read(db)
