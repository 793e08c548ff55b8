"""The eval harness runs offline: deepeval's telemetry, update check and .env loading are
switched off here, before deepeval is imported (its pytest plugin is disabled in pyproject so
that it cannot load first)."""

from __future__ import annotations

import os

os.environ["DEEPEVAL_TELEMETRY_OPT_OUT"] = "1"
os.environ["DEEPEVAL_UPDATE_WARNING_OPT_IN"] = "0"
os.environ["DEEPEVAL_DISABLE_DOTENV"] = "1"
os.environ.setdefault("DEEPEVAL_RESULTS_FOLDER", "")

from collections.abc import Iterator  # noqa: E402
from pathlib import Path  # noqa: E402

import pytest  # noqa: E402

from llm_extract.config import LOCAL_MODEL_NAME, Settings  # noqa: E402
from llm_extract.scoreboard import EvalResult, evaluate_backend, previous_scores, record, write_results  # noqa: E402

EVALS = Path(__file__).resolve().parent
ROOT = EVALS.parent
RESULTS = EVALS / "results"
CACHE = EVALS / ".cache"


@pytest.fixture(scope="session")
def eval_settings() -> Iterator[Settings]:
    """The configured endpoint, or the embedded model started for this session."""
    settings = Settings()
    if settings.base_url:
        yield settings
        return
    from llm_extract.local import LocalServer

    server = LocalServer(settings)
    server.start()
    try:
        yield settings.model_copy(update={"base_url": server.base_url, "model": LOCAL_MODEL_NAME})
    finally:
        server.stop()


@pytest.fixture(scope="session")
def results(eval_settings: Settings) -> dict[str, EvalResult]:
    """Both backends scored once per session; recorded in eval_runs and written to results/."""
    board = {
        "rules": evaluate_backend(eval_settings, "rules", ROOT / "reports", ROOT / "gold", CACHE),
        "llm": evaluate_backend(eval_settings, "llm", ROOT / "reports", ROOT / "gold", CACHE),
    }
    db = RESULTS / "evals.duckdb"
    previous = {r.model: previous_scores(db, r.model) for r in board.values()}
    for result in board.values():
        record(db, result)
    write_results(RESULTS, list(board.values()), previous)
    return board


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    latest = RESULTS / "latest.md"
    if latest.exists() and any("evals" in str(a) for a in terminalreporter.config.args):
        terminalreporter.section("eval scoreboard (evals/results/latest.md)")
        terminalreporter.write(latest.read_text(encoding="utf-8"))
