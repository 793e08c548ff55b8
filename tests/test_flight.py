"""Many requests in flight across documents, and HTTP 429 storms, against a real HTTP server that
answers what the embedded model answered.

The embedded model is run once (two small reports, one request at a time) through a recording
proxy; then a replay server on 127.0.0.1 serves those answers to many requests at once, with a
latency per request (like a remote GPU server) and scripted 429s. Every report is run six times
over as documents of their own (k trailing newlines: new bytes, the same requests), so a run has
enough requests to fill every worker. Assertions are on what the server saw (its peak of requests
held at once) and what the real DuckDB file holds, never on wall time.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pytest

from llm_extract.config import LOCAL_MODEL_NAME, Settings
from llm_extract.run.pipeline import Throughput, run
from tests.support.clihelp import cli
from tests.support.faultproxy import FaultProxy
from tests.support.paths import REPORTS
from tests.support.replayserver import Answers, ReplayServer

pytestmark = pytest.mark.llm

RECORDED = ("004_264309198007c7ae.txt", "001_68665389685953dc.txt")  # 3 and 2 model calls
COPIES = 6
LATENCY = 0.5  # seconds per request, as a remote server might take
# Columns that differ between runs of the same documents by design.
PER_RUN = {"run_id", "seconds", "extracted_at", "path"}


@dataclass(frozen=True)
class Recording:
    answers: Answers
    gets: Answers
    rows: dict[str, list[tuple[object, ...]]]  # the embedded model's own run, table -> rows


def _settings(base_url: str, db: Path, **extra: object) -> Settings:
    values: dict[str, object] = {"base_url": base_url, "model": LOCAL_MODEL_NAME, "db": db, "timeout": 60}
    values.update(extra)
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]  # pydantic-settings init kwarg


def _rows(db: Path, doc_ids: set[str] | None = None) -> dict[str, list[tuple[object, ...]]]:
    """Every stored row of every document table, without the columns that say which run made it."""
    con = duckdb.connect(str(db), read_only=True)
    try:
        found = {}
        for table in ("documents", "sections", "metrics", "problems", "pages"):
            columns = [c[0] for c in con.execute(f"DESCRIBE {table}").fetchall() if c[0] not in PER_RUN]
            rows = con.execute(f"SELECT {', '.join(columns)} FROM {table} ORDER BY ALL").fetchall()
            found[table] = [r for r in rows if doc_ids is None or r[columns.index("doc_id")] in doc_ids]
        return found
    finally:
        con.close()


def _counts(db: Path) -> tuple[int, int, int]:
    """(documents, distinct documents, duplicated metric rows)."""
    con = duckdb.connect(str(db), read_only=True)
    try:
        docs = con.execute("SELECT count(*), count(DISTINCT doc_id) FROM documents").fetchone()
        dup = con.execute("SELECT count(*) - count(DISTINCT (doc_id, metric_id)) FROM metrics").fetchone()
        assert docs is not None and dup is not None
        return int(docs[0]), int(docs[1]), int(dup[0])
    finally:
        con.close()


@pytest.fixture(scope="module")
def recording(local_server: str, tmp_path_factory: pytest.TempPathFactory) -> Recording:
    folder = tmp_path_factory.mktemp("recorded")
    for name in RECORDED:
        (folder / name).write_bytes((REPORTS / name).read_bytes())
    proxy = FaultProxy(local_server, [], record=True)
    with proxy.running():
        summary = run([folder], _settings(proxy.base_url, folder / "model.duckdb", concurrency=1))
    assert summary.exit_code == 0, summary
    assert len(proxy.recorded) == summary.usage.calls  # every request differs from every other
    return Recording(proxy.recorded, proxy.recorded_gets, _rows(folder / "model.duckdb"))


@pytest.fixture(scope="module")
def copies(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Each recorded report COPIES times, as different files (k trailing newlines) whose requests
    are the recorded ones (the model sees the text stripped, the items and headings only)."""
    folder = tmp_path_factory.mktemp("copies")
    for name in RECORDED:
        for k in range(COPIES):
            (folder / f"{k}_{name}").write_bytes((REPORTS / name).read_bytes() + b"\n" * k)
    return folder


@pytest.fixture(scope="module")
def one_at_a_time(recording: Recording, copies: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, list[tuple[object, ...]]]:
    """The copies run one request at a time against the replay server: what every run must store."""
    db = tmp_path_factory.mktemp("one") / "one.duckdb"
    replay = ReplayServer(recording.answers, recording.gets)
    with replay.running():
        summary = run([copies], _settings(replay.base_url, db, concurrency=1))
    assert summary.exit_code == 0 and replay.unknown == 0 and replay.peak == 1
    rows = _rows(db)
    assert len(rows["documents"]) == len(RECORDED) * COPIES
    # The originals (k = 0) are stored exactly as the embedded model's own run stored them.
    originals = {str(r[0]) for r in recording.rows["documents"]}
    assert _rows(db, originals) == recording.rows
    return rows


@pytest.mark.parametrize("concurrency", [3, 8])
def test_concurrency_n_keeps_n_requests_in_flight_across_documents(recording, copies, one_at_a_time, tmp_path,
                                                                   concurrency):
    """Documents have 2-3 calls each: only requests of several documents at once reach N."""
    replay = ReplayServer(recording.answers, recording.gets, latency=LATENCY)
    with replay.running():
        result = cli("run", str(copies), "--db", "n.duckdb", "--concurrency", str(concurrency), cwd=tmp_path,
                     timeout=300, LLM_EXTRACT_BASE_URL=replay.base_url, LLM_EXTRACT_MODEL=LOCAL_MODEL_NAME)
    assert result.returncode == 0, result.stderr
    assert replay.peak == concurrency
    assert replay.unknown == 0 and replay.answered == replay.requests
    assert f"{len(RECORDED) * COPIES} extracted" in result.stderr
    assert re.search(r"[\d.]+ docs/min, [\d.]+ req/s", result.stderr), result.stderr  # the progress line
    assert _counts(tmp_path / "n.duckdb") == (12, 12, 0)
    assert _rows(tmp_path / "n.duckdb") == one_at_a_time


def test_a_429_storm_slows_the_run_down_and_every_document_is_stored(recording, copies, one_at_a_time, tmp_path):
    """The first 14 requests are refused, half with Retry-After and half without: the throttle
    halves the requests let through (8, 4, 2), pauses, and grows back; no document fails, even
    with max_attempts 2 (a 429 spends time, not attempts)."""
    storm = ["429", "429-no-header"] * 7
    replay = ReplayServer(recording.answers, recording.gets, latency=LATENCY, script=storm)
    with replay.running():
        result = cli("run", str(copies), "--db", "s.duckdb", "--concurrency", "8", cwd=tmp_path, timeout=600,
                     LLM_EXTRACT_BASE_URL=replay.base_url, LLM_EXTRACT_MODEL=LOCAL_MODEL_NAME,
                     LLM_EXTRACT_MAX_ATTEMPTS="2")
    assert result.returncode == 0, result.stderr
    assert replay.refused == len(storm) and replay.unknown == 0
    assert replay.answered == replay.requests - len(storm)
    assert "12 extracted (0 partial), 0 skipped, 0 failed" in result.stderr, result.stderr
    assert "Traceback" not in result.stderr
    assert _counts(tmp_path / "s.duckdb") == (12, 12, 0)
    assert _rows(tmp_path / "s.duckdb") == one_at_a_time


def test_the_throttle_reports_the_lowered_limit_while_the_server_refuses(recording, copies, tmp_path):
    """The progress events say the run was held below its concurrency after the refusals."""
    events: list[object] = []
    replay = ReplayServer(recording.answers, recording.gets, latency=LATENCY, script=["429"] * 8)
    with replay.running():
        summary = run([copies], _settings(replay.base_url, tmp_path / "t.duckdb", concurrency=8),
                      on_event=events.append)
    assert summary.exit_code == 0 and replay.refused == 8
    paces = [e for e in events if isinstance(e, Throughput)]
    assert paces and all(p.concurrency == 8 and 1 <= p.limit <= 8 for p in paces)
    assert any(p.limit < 8 for p in paces) and paces[-1].refused == 8


def test_a_server_that_keeps_refusing_aborts_with_one_line_once_its_time_is_spent(recording, copies, tmp_path):
    """429 forever: requests are retried past max_attempts (2) until they have been refused for
    max_retry_seconds, then the run stops with the existing one-line message and exit 2."""
    replay = ReplayServer(recording.answers, recording.gets, refuse_all="429-now")
    with replay.running():
        result = cli("run", str(copies), "--db", "r.duckdb", "--concurrency", "4", cwd=tmp_path, timeout=300,
                     LLM_EXTRACT_BASE_URL=replay.base_url, LLM_EXTRACT_MODEL=LOCAL_MODEL_NAME,
                     LLM_EXTRACT_MAX_ATTEMPTS="2", LLM_EXTRACT_MAX_RETRY_SECONDS="2")
    assert result.returncode == 2, result.stderr
    assert "kept rate-limiting (HTTP 429); lower --concurrency or raise LLM_EXTRACT_MAX_RETRY_SECONDS" in result.stderr
    assert replay.refused > 2 * 4  # more than max_attempts for each request in flight
    assert "Traceback" not in result.stderr
    assert _counts(tmp_path / "r.duckdb") == (0, 0, 0)


def test_an_endpoint_failure_stops_the_run_and_keeps_what_was_saved(recording, copies, one_at_a_time, tmp_path):
    """The server answers 6 requests, then fails every one with HTTP 500: the run stops (exit 2,
    run marked aborted) and the documents it saved before are stored whole."""
    replay = ReplayServer(recording.answers, recording.gets, latency=0.1, script=["answer"] * 6 + ["500"] * 10_000)
    db = tmp_path / "e.duckdb"
    with replay.running():
        summary = run([copies], _settings(replay.base_url, db, concurrency=4, max_attempts=2))
    assert summary.exit_code == 2 and "HTTP 500" in (summary.aborted or "")
    saved = _counts(db)
    assert saved == (len(summary.ok), len(summary.ok), 0) and saved[0] < len(RECORDED) * COPIES
    stored = _rows(db)
    kept = {str(r[0]) for r in stored["documents"]}
    assert stored == {t: [r for r in rows if r[0] in kept] for t, rows in one_at_a_time.items()}
    con = duckdb.connect(str(db), read_only=True)
    try:
        assert con.execute("SELECT status FROM runs").fetchall() == [("aborted",)]
    finally:
        con.close()


def test_recordings_are_answered_by_body_and_an_unknown_body_is_refused(recording):
    """The replay server is a strict stand-in: a request it has no answer for gets HTTP 404."""
    import urllib.error
    import urllib.request

    replay = ReplayServer(recording.answers, recording.gets)
    with replay.running():
        request = urllib.request.Request(replay.base_url + "/chat/completions", data=json.dumps({"x": 1}).encode(),
                                         headers={"Content-Type": "application/json"}, method="POST")
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(request, timeout=10)
    assert refused.value.code == 404 and replay.unknown == 1
