"""Before and after in one run: `python -m llm_extract.benchcompare --against REV [reports/]`.

Starts the embedded model once, then runs `llm-extract run --force` of the git revision REV and
of this working tree, one after the other, against that same server on the same inputs, and
prints seconds, model calls and tokens per report for both and their ratio. The inputs are the
reports given plus, with `--joined`, each consecutive pair joined into one longer report (about
twice the characters and metrics: the size of real county-level reports).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import duckdb

from .config import LOCAL_MODEL_NAME, Settings
from .local import LocalServer

ROOT = Path(__file__).resolve().parents[2]


def export_revision(rev: str, into: Path) -> Path:
    """The source and prompts of a git revision, as files (no checkout of this tree changes)."""
    into.mkdir(parents=True)
    archive = subprocess.run(["git", "-C", str(ROOT), "archive", rev, "src", "prompts"], check=True,
                             capture_output=True).stdout
    subprocess.run(["tar", "-x", "-C", str(into)], input=archive, check=True)
    return into


def inputs(reports: Path, joined: bool, into: Path) -> Path:
    into.mkdir(parents=True)
    files = sorted(reports.glob("*.txt")) if reports.is_dir() else [reports]
    for path in files:
        (into / path.name).write_bytes(path.read_bytes())
    if joined:
        for first, second in zip(files[::2], files[1::2]):
            text = first.read_text(encoding="utf-8") + "\n" + second.read_text(encoding="utf-8")
            (into / f"joined_{first.stem[:3]}_{second.stem[:3]}.txt").write_text(text, encoding="utf-8")
    return into


def run_version(tree: Path, folder: Path, db: Path, base_url: str) -> tuple[float, dict[str, tuple[float, ...]]]:
    """Wall seconds of the whole run, and per report (seconds, calls, prompt, completion, metrics)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LLM_EXTRACT_", "OPENAI_"))}
    env |= {"PYTHONPATH": str(tree / "src"), "LLM_EXTRACT_PROMPTS": str(tree / "prompts"),
            "LLM_EXTRACT_BASE_URL": base_url, "LLM_EXTRACT_MODEL": LOCAL_MODEL_NAME,
            "LLM_EXTRACT_TIMEOUT": "600"}
    started = time.monotonic()
    done = subprocess.run([sys.executable, "-m", "llm_extract", "run", str(folder), "--db", str(db), "--force"],
                          env=env, capture_output=True, text=True)
    wall = time.monotonic() - started
    if done.returncode not in (0, 1):
        raise SystemExit(f"{tree} failed: {done.stderr[-2000:]}")
    con = duckdb.connect(str(db), read_only=True)
    rows = con.execute("""SELECT d.path, d.seconds, d.model_calls, d.prompt_tokens, d.completion_tokens,
                                 (SELECT count(*) FROM metrics m WHERE m.doc_id = d.doc_id)
                          FROM documents d""").fetchall()
    con.close()
    return wall, {Path(r[0]).name: tuple(float(x) for x in r[1:]) for r in rows}


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("reports", nargs="?", default="reports", type=Path)
    parser.add_argument("--against", required=True, help="git revision to compare with (e.g. 6ead919)")
    parser.add_argument("--joined", action="store_true", help="also run consecutive pairs joined into one report")
    args = parser.parse_args(argv)
    work = Path(tempfile.mkdtemp(prefix="llm-extract-compare-"))
    folder = inputs(args.reports, args.joined, work / "in")
    versions = {args.against: export_revision(args.against, work / "before"), "this tree": ROOT}
    server = LocalServer(Settings())
    server.start()
    try:
        results = {label: run_version(tree, folder, work / f"{i}.duckdb", server.base_url)
                   for i, (label, tree) in enumerate(versions.items())}
    finally:
        server.stop()
    (before_wall, before), (after_wall, after) = results[args.against], results["this tree"]
    print(f"{'report':<34}{'before s':>9}{'after s':>9}{'ratio':>7}{'calls':>12}{'prompt tok':>16}{'compl tok':>14}{'metrics':>10}")
    for name in sorted(before):
        b, a = before[name], after.get(name, (float("nan"),) * 5)
        print(f"{name:<34}{b[0]:>9.1f}{a[0]:>9.1f}{b[0] / max(a[0], 1e-9):>7.2f}{b[1]:>6.0f}{a[1]:>6.0f}"
              f"{b[2]:>8.0f}{a[2]:>8.0f}{b[3]:>7.0f}{a[3]:>7.0f}{b[4]:>5.0f}{a[4]:>5.0f}")
    for label, subset in (("reports", [n for n in before if not n.startswith("joined_")]),
                          ("joined", [n for n in before if n.startswith("joined_")])):
        if subset:
            mb = sum(before[n][0] for n in subset) / len(subset)
            ma = sum(after[n][0] for n in subset) / len(subset)
            print(f"mean seconds per report ({label}): before {mb:.1f}, after {ma:.1f}, {mb / max(ma, 1e-9):.2f}x faster")
    print(f"whole run: before {before_wall:.1f} s, after {after_wall:.1f} s ({before_wall / max(after_wall, 1e-9):.2f}x)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
