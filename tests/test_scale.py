"""A corpus of reports on the code-only path (1,000 by default; CI gives `--scale-reports 10000`), into one real DuckDB file: every document
stored once with every row its extraction has, every quote at its offsets, memory bounded, and a
re-run that skips them all. Speed is measured by scripts/bench_scale.py, not asserted here.
"""

from __future__ import annotations

import gc
import hashlib
import os
import random
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pytest

from llm_extract.config import Settings
from llm_extract.ingest.documents import load
from llm_extract.run.extract import extract_document
from llm_extract.label.labellers import RulesLabeller
from llm_extract.run.pipeline import DocDone, Event, RunSummary, run
from llm_extract.store.database import Store

from tests.support.variants import write_variants

# /proc/self/status and clear_refs are Linux's; CI is Linux.
pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads peak memory from /proc (Linux)")]
# What the run may add to the process's peak resident memory. Python's share stays flat (checked
# by object counts); DuckDB's checkpoints peak higher as the file grows (~250 MB at 10,000
# reports). Holding 10,000 reports' texts and extractions would add well over a gigabyte.
PEAK_GROWTH_MB = 600


def _status_mb(field: str) -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1]) / 1024
    raise AssertionError(f"no {field} in /proc/self/status")


def _reset_peak() -> float:
    """Reset this process's peak resident memory (Linux: clear_refs 5), so the peak read after
    the run is the run's, not that of a test before it; the resident memory now."""
    Path("/proc/self/clear_refs").write_text("5")
    return _status_mb("VmRSS")


def _run(corpus: Path, db: Path) -> subprocess.CompletedProcess[str]:
    """`llm-extract run --backend rules` in its own process, as a user runs it."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LLM_EXTRACT_", "OPENAI_"))}
    return subprocess.run([sys.executable, "-m", "llm_extract", "run", str(corpus), "--backend", "rules",
                           "--db", str(db)], env=env, capture_output=True, text=True, timeout=1800)


@dataclass
class FirstRun:
    folder: Path
    db: Path
    files: list[Path]
    summary: RunSummary
    objects: dict[int, int]  # documents done -> Python objects alive then
    peak_growth_mb: float


@pytest.fixture(scope="module")
def first_run(tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest) -> FirstRun:
    """The corpus written and run once, in this process; each test below starts from it."""
    n = int(request.config.getoption("--scale-reports"))
    root = tmp_path_factory.mktemp("corpus")
    folder, db = root / "reports", root / "corpus.duckdb"
    files = write_variants(folder, n)
    marks = (n // 10, n)
    objects: dict[int, int] = {}
    done = 0

    def on_event(event: Event) -> None:
        nonlocal done
        if isinstance(event, DocDone):
            done += 1
            if done in marks:
                objects[done] = len(gc.get_objects())

    before = _reset_peak()
    summary = run([folder], Settings(_env_file=None, db=db), backend="rules", on_event=on_event)  # type: ignore[call-arg]
    return FirstRun(folder, db, files, summary, objects, _status_mb("VmHWM") - before)


def test_every_report_is_stored_whole_with_bounded_memory(first_run: FirstRun) -> None:
    db, files, summary = first_run.db, first_run.files, first_run.summary
    n = len(files)
    assert summary.exit_code == 0 and len(summary.ok) == n and not summary.failed
    assert first_run.peak_growth_mb < PEAK_GROWTH_MB, f"peak grew {first_run.peak_growth_mb:.0f} MB"
    # Python objects alive after a tenth of the documents and after all: the same, give or take a
    # few (nothing per document is kept: texts and extractions go once saved).
    early, last = sorted(first_run.objects)
    assert abs(first_run.objects[last] - first_run.objects[early]) < 500, first_run.objects
    said_metrics = summary.metrics
    con = duckdb.connect(str(db), read_only=True)
    try:
        assert con.execute("SELECT count(*), count(DISTINCT path) FROM documents").fetchone() == (n, n)
        assert con.execute("SELECT count(*) FROM metrics").fetchone() == (said_metrics,)
        for table in ("metrics", "problems"):
            misplaced = con.execute(
                f"SELECT count(*) FROM {table} t JOIN documents d USING (doc_id) "
                "WHERE substr(d.text, t.char_start + 1, t.char_end - t.char_start) <> t.quote").fetchone()
            assert misplaced == (0,), table
        assert con.execute("SELECT n_docs, n_ok, n_failed, status FROM runs").fetchall() == [(n, n, 0, "finished")]
    finally:
        con.close()
    # A sample, extracted again in this process: what is stored is exactly what was extracted.
    with Store(db, read_only=True) as store:
        for path in random.Random(7).sample(files, 12):
            doc = load(path)
            assert doc.doc_id == hashlib.sha256(path.read_bytes()).hexdigest()
            stored = store.load_extraction(doc.doc_id)
            fresh = extract_document(doc, RulesLabeller())
            assert stored is not None and stored.path == str(path.resolve())
            assert [m.model_dump() for m in stored.metrics] == [m.model_dump() for m in fresh.metrics]
            assert [p.model_dump() for p in stored.problems] == [p.model_dump() for p in fresh.problems]
            assert [s.model_dump() for s in stored.sections] == [s.model_dump() for s in fresh.sections]


def test_a_second_run_over_the_unchanged_corpus_skips_every_report(first_run: FirstRun) -> None:
    folder, db, n = first_run.folder, first_run.db, len(first_run.files)
    again = _run(folder, db)
    assert again.returncode == 0, again.stderr[-2000:]
    assert f"0 extracted (0 partial), {n} skipped, 0 failed" in again.stderr
    con = duckdb.connect(str(db), read_only=True)
    try:
        assert con.execute("SELECT count(*) FROM documents").fetchone() == (n,)
        assert con.execute("SELECT count(*) FROM runs").fetchone() == (1,)  # nothing to do: no run recorded
    finally:
        con.close()
