"""A busy machine slows a run down and never empties it: `llm-extract run` of a real-length
report with the embedded model (started by the run, as a user gets it) while two CPU-bound
processes take the cores. The document is stored, and no request is retried because of the
load (the run prints a line for every retry). One report: each of its model calls is a request
under load, and the busy/quiet ratio itself is measured by scripts/bench_busy.py, not here."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from tests.support.busyload import burners, long_reports

pytestmark = pytest.mark.llm


def test_a_run_beside_two_cpu_burners_stores_every_document_without_retries(tmp_path: Path):
    reports = tmp_path / "reports"
    reports.mkdir()
    long_reports(reports, 1)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LLM_EXTRACT_", "OPENAI_"))}
    with burners(2):
        result = subprocess.run([sys.executable, "-m", "llm_extract", "run", str(reports), "--db", "out.duckdb"],
                                env=env, cwd=tmp_path, capture_output=True, text=True, timeout=3600)
    assert "retrying" not in result.stderr, result.stderr
    assert result.returncode in (0, 1), result.stderr  # 1: a document partial (a model answer dropped)
    assert "1 extracted" in result.stderr, result.stderr
    with duckdb.connect(str(tmp_path / "out.duckdb"), read_only=True) as con:
        stored = con.execute("SELECT count(*) FROM documents WHERE status IN ('ok', 'partial')").fetchone()
    assert stored == (1,)
