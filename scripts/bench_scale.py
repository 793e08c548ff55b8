"""Corpus scale on the code-only path: reports per minute and peak memory of `llm-extract run
--backend rules` over generated report variants (tests/support/variants.py), and the time a re-run over
the same unchanged files takes to decide "skip" for all of them.

    python scripts/bench_scale.py --sizes 1000,10000 [--against REV]

Each run is its own process (`python -m llm_extract run …`) into a fresh DuckDB file; peak memory
is that process's maximum resident set size. With --against, the same corpus is run by the
version at REV (checked out into a temporary git worktree) in the same invocation, and the
ratios are printed: figures from one machine at one time, never compared across machines.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.support.variants import write_variants


@dataclass
class Figures:
    seconds: float
    peak_mb: float
    exit_code: int


def timed_run(src: Path, corpus: Path, db: Path) -> Figures:
    """One `run --backend rules` in its own process: wall seconds, peak RSS, exit code."""
    env = os.environ | {"PYTHONPATH": str(src)}
    env = {k: v for k, v in env.items() if not k.startswith(("LLM_EXTRACT_", "OPENAI_"))}
    started = time.monotonic()
    proc = subprocess.Popen([sys.executable, "-m", "llm_extract", "run", str(corpus), "--backend", "rules",
                             "--db", str(db)], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _, status, usage = os.wait4(proc.pid, 0)
    seconds = time.monotonic() - started
    return Figures(seconds, usage.ru_maxrss / 1024, os.waitstatus_to_exitcode(status))


@contextmanager
def version_at(rev: str) -> Iterator[Path]:
    with tempfile.TemporaryDirectory(prefix="bench-scale-") as tmp:
        tree = Path(tmp) / "tree"
        subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "--detach", "-q", str(tree), rev], check=True)
        try:
            yield tree / "src"
        finally:
            subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(tree)], check=False)


def bench(label: str, src: Path, corpus: Path, n: int, work: Path) -> tuple[Figures, Figures]:
    work.mkdir(parents=True, exist_ok=True)
    db = work / f"{label.replace(' ', '-')}.duckdb"
    first = timed_run(src, corpus, db)
    again = timed_run(src, corpus, db)
    print(f"| {n:,} | {label} | {n / first.seconds * 60:,.0f} | {first.seconds:.1f} | {first.peak_mb:.0f} | "
          f"{again.seconds:.1f} | {first.exit_code}/{again.exit_code} |", flush=True)
    return first, again


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="1000,10000", help="corpus sizes, comma-separated")
    parser.add_argument("--against", help="a git revision to run on the same corpora, for before/after ratios")
    parser.add_argument("--work", type=Path, help="folder for corpora and databases (default: a temporary one)")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    with tempfile.TemporaryDirectory(prefix="bench-scale-") as tmp:
        work = args.work or Path(tmp)
        print(f"machine: {os.cpu_count()} cores; python {sys.version.split()[0]}")
        print("| reports | version | reports/min | s | peak MB | re-run s (all skipped) | exit |")
        print("|---|---|---|---|---|---|---|")
        with version_at(args.against) if args.against else _nothing() as old_src:
            for n in sizes:
                corpus = work / f"corpus-{n}"
                if not corpus.exists():
                    write_variants(corpus, n)
                new, new_again = bench("this tree", ROOT / "src", corpus, n, work / f"db-{n}")
                if old_src is not None:
                    old, old_again = bench(args.against, old_src, corpus, n, work / f"db-{n}")
                    print(f"| {n:,} | ratio | {old.seconds / new.seconds:.2f}× faster | | "
                          f"{new.peak_mb / old.peak_mb:.2f}× memory | {old_again.seconds / new_again.seconds:.2f}× faster | |",
                          flush=True)


@contextmanager
def _nothing() -> Iterator[None]:
    yield None


if __name__ == "__main__":
    main()
