"""A real database for the review tests: the five reports extracted by the rules backend (no
model), built once per session through the CLI and copied for each test that writes."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

from tests.support.paths import REPORTS

# 10 metrics, 3 problems, and numbers the rules exclude that a reviewer may add back.
DOC_NAME = "001_68665389685953dc.txt"


def build(folder: Path) -> Path:
    db = folder / "rules.duckdb"
    done = subprocess.run([sys.executable, "-m", "llm_extract", "run", str(REPORTS), "--backend", "rules",
                           "--db", str(db)], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return db


def copy(db: Path, folder: Path) -> Path:
    target = folder / "review.duckdb"
    shutil.copy(db, target)
    return target
