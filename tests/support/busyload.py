"""What the busy-machine test and benchmark share: real-length reports longer than any single
one in reports/ (whole reports joined, so every sentence is real), and CPU burners beside the run
(separate processes, each bounded in time, stopped by whoever started them)."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tests.support.paths import REPORTS

MIN_CHARS = 4000
# A burner spins for at most this long even if nobody stops it.
BURN_SECONDS = 3600


def long_reports(folder: Path, n: int = 3, min_chars: int = MIN_CHARS) -> list[Path]:
    """`n` reports of at least `min_chars` characters, each whole reports from reports/ joined in
    order (a report already that long stands alone), written to `folder`."""
    texts = [p.read_text(encoding="utf-8") for p in sorted(REPORTS.glob("*.txt"))]
    made: list[Path] = []
    current: list[str] = []
    for text in texts + texts:  # wrap around if the reports run out
        current.append(text.strip())
        if sum(len(t) for t in current) >= min_chars:
            path = folder / f"long_{len(made) + 1}.txt"
            path.write_text("\n\n".join(current) + "\n", encoding="utf-8")
            made.append(path)
            current = []
            if len(made) == n:
                return made
    raise AssertionError("reports/ is too small to make the long reports")


@contextmanager
def burners(n: int = 2) -> Iterator[list[subprocess.Popen[bytes]]]:
    """`n` processes that each keep one core busy, stopped when the block ends."""
    code = f"import time\nend = time.monotonic() + {BURN_SECONDS}\nwhile time.monotonic() < end:\n    pass\n"
    procs = [subprocess.Popen([sys.executable, "-c", code]) for _ in range(n)]
    try:
        yield procs
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
