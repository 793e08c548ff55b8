"""End to end: `llm-extract run` on the five reports against a real OpenAI-compatible server on
127.0.0.1 (the embedded model), then the DuckDB rows are checked for grounding."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from llm_extract.config import LOCAL_MODEL_NAME
from llm_extract.propose.numbers import find_quantities, values_equal
from tests.support.paths import REPORTS

pytestmark = pytest.mark.llm


def cli(*args: str, env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "llm_extract", *args], env=env, cwd=cwd,
                          capture_output=True, text=True, timeout=1800)


@pytest.fixture(scope="module")
def extracted(local_server: str, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, str], subprocess.CompletedProcess[str]]:
    work = tmp_path_factory.mktemp("e2e")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LLM_EXTRACT_", "OPENAI_"))}
    env |= {"LLM_EXTRACT_BASE_URL": local_server, "LLM_EXTRACT_MODEL": LOCAL_MODEL_NAME}
    result = cli("run", str(REPORTS), "--db", "out.duckdb", env=env, cwd=work)
    return work, env, result


def sql(work: Path, env: dict[str, str], query: str) -> list[dict[str, object]]:
    result = cli("sql", query, "--db", "out.duckdb", "--format", "json", env=env, cwd=work)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_run_extracts_all_five(extracted):
    work, env, result = extracted
    assert result.returncode == 0, result.stderr
    assert "5 extracted (0 partial)" in result.stderr
    docs = sql(work, env, "SELECT path, status, model_calls, prompt_tokens, completion_tokens FROM documents")
    assert len(docs) == 5 and all(d["status"] == "ok" and d["model_calls"] > 0 for d in docs)


def test_every_stored_quote_is_at_its_offsets(extracted):
    work, env, _ = extracted
    rows = sql(work, env, """
        SELECT 'metric' kind, m.quote, m.char_start, m.char_end, d.text FROM metrics m JOIN documents d USING (doc_id)
        UNION ALL
        SELECT 'problem', p.quote, p.char_start, p.char_end, d.text FROM problems p JOIN documents d USING (doc_id)""")
    assert len(rows) > 100
    for row in rows:
        assert row["text"][row["char_start"]:row["char_end"]] == row["quote"], row["quote"]


def test_every_metric_value_parses_from_its_quote(extracted):
    work, env, _ = extracted
    rows = sql(work, env, "SELECT quote, value, value_max, unit, approx, name, category FROM metrics")
    assert len(rows) >= 90
    for row in rows:
        assert any(values_equal(q.value, row["value"]) and values_equal(q.value_max, row["value_max"])
                   and q.unit == row["unit"] for q in find_quantities(row["quote"])), row
        assert row["name"] and not any(ch.isdigit() for ch in row["name"]), row


def test_problems_sections_and_metadata_are_stored(extracted):
    work, env, _ = extracted
    assert sql(work, env, "SELECT count(*) n FROM problems")[0]["n"] >= 12
    levels = sql(work, env, "SELECT count(*) n, count(category) c FROM sections WHERE level = 1")[0]
    assert levels["n"] == levels["c"] > 0
    years = {r["year"] for r in sql(work, env, "SELECT year FROM documents")}
    assert years <= {2021, 2023, 2024, None} and len(years - {None}) >= 2


def test_rerun_skips_all_five_and_sql_answers(extracted):
    work, env, _ = extracted
    again = cli("run", str(REPORTS), "--db", "out.duckdb", env=env, cwd=work)
    assert again.returncode == 0, again.stderr
    assert "0 extracted (0 partial), 5 skipped" in again.stderr
    top = sql(work, env, "SELECT township, name, value, unit FROM metrics ORDER BY value DESC LIMIT 10")
    assert len(top) == 10 and top[0]["value"] == 900000
    shown = cli("show", "000_", "--db", "out.duckdb", env=env, cwd=work)
    assert shown.returncode == 0 and "强化组织领导" in shown.stdout
