"""Where the test inputs are: defined once for tests/, evals/ and the root conftest."""

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
REPORTS = ROOT / "reports"
GOLD = ROOT / "gold"
# 1 metric, 3 problems: a handful of model calls.
SMALL = REPORTS / "004_264309198007c7ae.txt"
