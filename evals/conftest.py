"""The eval harness runs offline: deepeval's telemetry, update check and .env loading are
switched off here, before deepeval is imported (its pytest plugin is disabled in pyproject so
that it cannot load first)."""

from __future__ import annotations

import os

os.environ["DEEPEVAL_TELEMETRY_OPT_OUT"] = "1"
os.environ["DEEPEVAL_UPDATE_WARNING_OPT_IN"] = "0"
os.environ["DEEPEVAL_DISABLE_DOTENV"] = "1"
os.environ.setdefault("DEEPEVAL_RESULTS_FOLDER", "")

from pathlib import Path  # noqa: E402

import pytest  # noqa: E402

from llm_extract.config import Settings  # noqa: E402
from llm_extract.evaluate.scoreboard import Board, evaluate  # noqa: E402

EVALS = Path(__file__).resolve().parent
ROOT = EVALS.parent
RESULTS = EVALS / "results"
CACHE = EVALS / ".cache"
THRESHOLDS = EVALS / "thresholds.toml"


@pytest.fixture(scope="session")
def board() -> Board:
    """Both backends scored once per session through the one evaluation path (the same call as
    `llm-extract eval`): the configured endpoint, or the embedded model started when a report
    is not in the cache; recorded in eval_runs and written to results/."""
    return evaluate(Settings(), ROOT / "reports", ROOT / "gold", RESULTS, CACHE, THRESHOLDS)


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    latest = RESULTS / "latest.md"
    if latest.exists() and any("evals" in str(a) for a in terminalreporter.config.args):
        terminalreporter.section("eval scoreboard (evals/results/latest.md)")
        terminalreporter.write(latest.read_text(encoding="utf-8"))
