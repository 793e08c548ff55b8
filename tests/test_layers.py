"""The layers hold at run time as well as in the import graph (lint-imports checks that in CI):
a code-only run and `eval --rules-only` never import the model client."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.support.paths import REPORTS, ROOT

PROBE = """
import sys
from typer.testing import CliRunner
from llm_extract.cli.app import app
result = CliRunner().invoke(app, sys.argv[1:], catch_exceptions=False)
loaded = sorted(m for m in ("instructor", "openai", "llm_extract.model.client") if m in sys.modules)
print("LOADED", ",".join(loaded))
print("EXIT", result.exit_code)
"""


def run_probe(tmp_path: Path, *args: str) -> tuple[str, int]:
    done = subprocess.run([sys.executable, "-c", PROBE, *args], capture_output=True, text=True,
                          cwd=tmp_path, timeout=600)
    lines = dict(line.split(" ", 1) if " " in line else (line, "") for line in done.stdout.splitlines()
                 if line.startswith(("LOADED", "EXIT")))
    assert "EXIT" in lines, done.stdout[-2000:] + done.stderr[-2000:]
    return lines.get("LOADED", "").strip(), int(lines["EXIT"])


def test_a_rules_run_imports_no_model_client(tmp_path: Path) -> None:
    loaded, code = run_probe(tmp_path, "run", str(REPORTS / "004_264309198007c7ae.txt"),
                             "--backend", "rules", "--db", str(tmp_path / "r.duckdb"))
    assert code == 0
    assert loaded == ""


def test_eval_rules_only_imports_no_model_client(tmp_path: Path) -> None:
    loaded, code = run_probe(tmp_path, "eval", "--rules-only", "--reports", str(REPORTS),
                             "--gold", str(ROOT / "gold"), "--results", str(tmp_path / "evals" / "results"),
                             "--thresholds", str(ROOT / "evals" / "thresholds.toml"))
    assert code in (0, 1)  # scores below a threshold are exit 1; the question here is imports
    assert loaded == ""


def test_the_probe_sees_a_client_when_one_is_imported(tmp_path: Path) -> None:
    """The probe can fail: a command that uses the model client shows it as loaded."""
    loaded, _ = run_probe(tmp_path, "batch", "status", "nope", "--base-url", "http://127.0.0.1:9/v1")
    assert "llm_extract.model.client" in loaded
