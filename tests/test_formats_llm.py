"""End to end with the embedded model on a .docx report (issue 12): Word's automatic numbering,
a table, and the model's labels, stored grounded in the converted text. One small report (004:
one metric in its text, three problems), so a handful of model calls."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from llm_extract.config import LOCAL_MODEL_NAME
from llm_extract.ingest.documents import load
from tests.support import formatfixtures as ff
from tests.support.paths import SMALL

pytestmark = pytest.mark.llm


def cli(*args: str, env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "llm_extract", *args], env=env, cwd=cwd,
                          capture_output=True, text=True, timeout=1800, check=False)


def test_docx_with_the_embedded_model(local_server, tmp_path):
    (tmp_path / "report.docx").write_bytes(ff.docx_bytes(load(SMALL).text))
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LLM_EXTRACT_", "OPENAI_"))}
    env |= {"LLM_EXTRACT_BASE_URL": local_server, "LLM_EXTRACT_MODEL": LOCAL_MODEL_NAME}
    result = cli("run", "report.docx", "--db", "out.duckdb", env=env, cwd=tmp_path)
    assert result.returncode == 0, result.stderr

    def sql(query: str) -> list[dict[str, object]]:
        out = cli("sql", query, "--db", "out.duckdb", "--format", "json", env=env, cwd=tmp_path)
        assert out.returncode == 0, out.stderr
        return json.loads(out.stdout)

    (doc,) = sql("SELECT source_format, converter, status, model_calls, text FROM documents")
    assert doc["source_format"] == "docx" and doc["status"] == "ok" and doc["model_calls"] > 0
    text = str(doc["text"])
    assert "一、" in text  # the generated heading numbers are in the stored text
    levels = sql("SELECT count(*) n, count(category) c FROM sections WHERE level = 1")[0]
    assert levels["n"] == levels["c"] >= 3
    items = sql("""SELECT m.quote, m.char_start, m.char_end FROM metrics m UNION ALL
                   SELECT p.quote, p.char_start, p.char_end FROM problems p""")
    assert len(items) >= 4  # the report's metric, the table's and its problems
    for item in items:
        assert text[int(item["char_start"]):int(item["char_end"])] == item["quote"]
    problems = sql("SELECT summary, category FROM problems")
    assert len(problems) == 3 and all(p["summary"] for p in problems)
