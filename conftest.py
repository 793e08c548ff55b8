"""Fixtures shared by tests/ and evals/."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.paths import REPORTS


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--scale-reports", default="1000",
                     help="reports in tests/test_scale.py's corpus (CI runs 10000)")


@pytest.fixture(scope="session")
def reports_dir() -> Path:
    return REPORTS


@pytest.fixture(scope="session")
def report_texts() -> dict[str, str]:
    from llm_extract.ingest.documents import load

    return {p.name: load(p).text for p in sorted(REPORTS.glob("*.txt"))}


@pytest.fixture(scope="session")
def local_server() -> Iterator[str]:
    """The embedded model on 127.0.0.1, once per test session: a real OpenAI-compatible server."""
    from llm_extract.config import Settings
    from llm_extract.model.local import LocalServer

    from llm_extract.label.prompts import Prompts

    server = LocalServer(Settings(_env_file=None))  # type: ignore[call-arg]  # pydantic-settings init kwarg
    server.start()
    server.share_prefix(Prompts().render("system"))  # as `run` does: every slot starts warm
    try:
        yield server.base_url
    finally:
        server.stop()


@pytest.fixture()
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """No endpoint settings from the machine leak into a test; runs in an empty folder."""
    for name in list(os.environ):
        if name.startswith(("LLM_EXTRACT_", "OPENAI_")):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)
    return tmp_path
