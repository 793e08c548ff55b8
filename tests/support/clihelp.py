"""Helpers for the data-safety tests: the real CLI (in-process through typer's CliRunner, or as a
subprocess where a hang, a signal or another process is part of the case) over real DuckDB files."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

from typer.testing import CliRunner, Result

ROOT = Path(__file__).resolve().parents[2]
REPORTS = ROOT / "reports"
# Report 000 has headings, metrics and problems; the rules backend finds 30 metrics in it.
REPORT = REPORTS / "000_bfd2e8a3485ea91a.txt"


def cli_env(**settings: str) -> dict[str, str]:
    """The environment for a CLI subprocess: none of this machine's endpoint settings, plus these."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LLM_EXTRACT_", "OPENAI_"))}
    return env | settings


def cli(*args: str, cwd: Path, timeout: float = 120, **settings: str) -> subprocess.CompletedProcess[str]:
    """`llm-extract ARGS` as a subprocess."""
    return subprocess.run([sys.executable, "-m", "llm_extract", *args], env=cli_env(**settings), cwd=cwd,
                          capture_output=True, text=True, timeout=timeout)


def invoke(*args: str) -> Result:
    """`llm-extract ARGS` in this process, through typer's test runner (stdout and stderr apart)."""
    from llm_extract.cli.app import app

    return CliRunner().invoke(app, list(args), catch_exceptions=False)


def rules_db(folder: Path, *reports: Path, name: str = "x.duckdb") -> Path:
    """A real database: `llm-extract run --backend rules` over these reports (default: all five)."""
    result = cli("run", *(str(r) for r in (reports or (REPORTS,))), "--backend", "rules", "--db", name, cwd=folder)
    assert result.returncode == 0, result.stderr
    return folder / name


def copy_reports(folder: Path, copies: int = 1) -> Path:
    """The five reports, each `copies` times with a distinct last line (so distinct documents)."""
    folder.mkdir(parents=True, exist_ok=True)
    for report in sorted(REPORTS.glob("*.txt")):
        text = report.read_text(encoding="utf-8")
        for i in range(copies):
            name = report.name if copies == 1 else f"{report.stem}_{i:03d}.txt"
            (folder / name).write_text(text if copies == 1 else f"{text}\n附：第 {i} 份\n", encoding="utf-8")
    return folder


def copy_db(db: Path, folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    return Path(shutil.copy(db, folder / db.name))


def one_line_error(stderr: str) -> str:
    """The single line a refused command printed; fails on a traceback or several lines."""
    assert "Traceback" not in stderr, stderr
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert len(lines) == 1, stderr
    return lines[0]


def as_if_in_a_terminal() -> None:
    """`preexec_fn` for a child the test will stop with SIGINT, as Ctrl-C in a terminal would.

    A shell running a script in the background (nohup, CI runners) starts it with SIGINT
    ignored, its children inherit that, and Python then never raises KeyboardInterrupt: the
    Ctrl-C tests would see a run that ignores the signal. The child gets SIGINT's default back.
    """
    signal.signal(signal.SIGINT, signal.SIG_DFL)
