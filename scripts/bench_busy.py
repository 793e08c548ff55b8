"""Seconds per real-length report with the embedded model, quiet and beside CPU burners:
`python scripts/bench_busy.py [--burners 2] [--reports 3]`.

Three reports of 4,000+ characters (whole reports from reports/ joined, see tests/support/busyload.py)
are extracted by `llm_extract.run.pipeline.run` with the embedded model (its own server started per
run, as `llm-extract run` does), once on the machine as it is and once with N processes each
keeping a core busy. Timed from the first document started to the last one done (the server's
start is not a report's cost). Printed: s/report quiet, s/report busy, busy/quiet, the retries
each run printed, and the caps the load governor set. Run it under `flock /tmp/model.lock`
where other jobs share the model.
"""

from __future__ import annotations

import argparse
import logging
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "src"))

from llm_extract.config import Settings  # noqa: E402
from llm_extract.run.pipeline import DocDone, DocStarted, Event, Failed, Throughput, run  # noqa: E402
from tests.support.busyload import burners, long_reports  # noqa: E402


class _Retries(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.count = 0

    def emit(self, record: logging.LogRecord) -> None:
        if "retrying" in record.getMessage():
            self.count += 1


def one_run(folder: Path, db: Path) -> tuple[float, int, int, list[int | None]]:
    """(seconds from first start to last done, documents stored, retries, the caps the load
    governor set in turn, as the progress events showed them; None: no cap)."""
    marks: dict[str, float] = {}
    failed: list[str] = []
    caps: list[int | None] = [None]

    def on_event(event: Event) -> None:
        now = time.monotonic()
        if isinstance(event, DocStarted):
            marks.setdefault("first", now)
        elif isinstance(event, DocDone):
            marks["last"] = now
        elif isinstance(event, Failed):
            failed.append(f"{event.path}: {event.reason}")
        elif isinstance(event, Throughput) and event.slowed != caps[-1]:
            caps.append(event.slowed)

    retries = _Retries()
    logging.getLogger("llm_extract").addHandler(retries)
    try:
        summary = run([folder], Settings(_env_file=None, db=db), force=True, on_event=on_event)  # type: ignore[call-arg]
    finally:
        logging.getLogger("llm_extract").removeHandler(retries)
    for line in failed:
        print(f"  failed: {line}")
    return marks.get("last", 0.0) - marks.get("first", 0.0), len(summary.ok) + len(summary.partial), retries.count, caps[1:]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--burners", type=int, default=2)
    parser.add_argument("--reports", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-busy-") as tmp:
        work = Path(tmp)
        folder = work / "reports"
        folder.mkdir()
        paths = long_reports(folder, args.reports)
        print(f"{len(paths)} reports, {', '.join(str(len(p.read_text(encoding='utf-8'))) for p in paths)} characters")
        quiet = one_run(folder, work / "quiet.duckdb")
        print(f"quiet: {quiet[0] / len(paths):.1f} s/report, {quiet[1]} stored, {quiet[2]} retries, caps {quiet[3]}")
        with burners(args.burners):
            busy = one_run(folder, work / "busy.duckdb")
        print(f"busy ({args.burners} burners): {busy[0] / len(paths):.1f} s/report, {busy[1]} stored, "
              f"{busy[2]} retries, caps {busy[3]}")
        print(f"busy/quiet: {busy[0] / max(quiet[0], 1e-9):.2f}")


if __name__ == "__main__":
    main()
