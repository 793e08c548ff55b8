"""Throughput versus --concurrency against a remote-like server: `python scripts/bench_concurrency.py`.

The embedded model answers two small reports once, one request at a time, through a recording
proxy (kept in the cache folder per extraction version, so later invocations skip it). Then a
replay server on 127.0.0.1 answers those requests from the recording, many at once, each after a
fixed latency (default 0.5 s, like a remote GPU server), and `llm-extract run --concurrency C`
(a subprocess, this tree's code) extracts DOCS documents (the reports with k trailing newlines:
other files, the same requests) at each concurrency. Printed per concurrency: documents per
minute, requests per second, the server's peak of requests held at once, and the ratio to
concurrency 1. Times are the run's own (`runs.started_at` to `finished_at` in its database:
documents only, not the process start). `--against REV` runs a git revision's code the same way
afterwards (its requests must be the recorded ones: same prompts and deciding code).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import duckdb

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from llm_extract.config import LOCAL_MODEL_NAME, Settings  # noqa: E402
from llm_extract.label.labellers import extraction_version  # noqa: E402
from llm_extract.label.prompts import Prompts  # noqa: E402
from tests.support import replayserver  # noqa: E402
from tests.support.faultproxy import FaultProxy  # noqa: E402
from tests.support.replayserver import Answers, ReplayServer  # noqa: E402

REPORTS = ROOT / "reports"
RECORDED = ("004_264309198007c7ae.txt", "001_68665389685953dc.txt")


def record(into: Path) -> tuple[Answers, Answers]:
    """The embedded model's answers to every request of the recorded reports."""
    from llm_extract.model.local import LocalServer
    from llm_extract.run.pipeline import run

    folder = Path(tempfile.mkdtemp(prefix="llm-extract-record-"))
    for name in RECORDED:
        (folder / name).write_bytes((REPORTS / name).read_bytes())
    server = LocalServer(Settings(_env_file=None))  # type: ignore[call-arg]  # pydantic-settings init kwarg
    server.start()
    try:
        server.share_prefix(Prompts().render("system"))
        proxy = FaultProxy(server.base_url, [], record=True)
        with proxy.running():
            settings = Settings(_env_file=None, base_url=proxy.base_url, model=LOCAL_MODEL_NAME,  # type: ignore[call-arg]
                                db=folder / "model.duckdb", concurrency=1, timeout=600)
            summary = run([folder], settings)
    finally:
        server.stop()
    if summary.exit_code != 0:
        raise SystemExit(f"recording failed: {summary.failed or summary.partial or summary.aborted}")
    replayserver.save(into, proxy.recorded, proxy.recorded_gets)
    return proxy.recorded, proxy.recorded_gets


def documents(folder: Path, n: int) -> Path:
    folder.mkdir(parents=True)
    for i in range(n):
        name = RECORDED[i % len(RECORDED)]
        (folder / f"{i // len(RECORDED)}_{name}").write_bytes((REPORTS / name).read_bytes() + b"\n" * (i // len(RECORDED)))
    return folder


def run_at(concurrency: int, folder: Path, db: Path, answers: Answers, gets: Answers, latency: float,
           tree: Path = ROOT) -> tuple[float, int, int, int]:
    """(seconds, documents, requests answered, peak in flight) of one run at this concurrency."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LLM_EXTRACT_", "OPENAI_"))}
    env["PYTHONPATH"] = str(tree / "src")
    env["LLM_EXTRACT_PROMPTS"] = str(tree / "prompts")
    replay = ReplayServer(answers, gets, latency=latency)
    with replay.running():
        env |= {"LLM_EXTRACT_BASE_URL": replay.base_url, "LLM_EXTRACT_MODEL": LOCAL_MODEL_NAME}
        done = subprocess.run([sys.executable, "-m", "llm_extract", "run", str(folder), "--db", str(db),
                               "--concurrency", str(concurrency)], env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0 or replay.unknown:
        raise SystemExit(f"concurrency {concurrency}: exit {done.returncode}, {replay.unknown} unknown requests\n"
                         f"{done.stderr[-2000:]}")
    con = duckdb.connect(str(db), read_only=True)
    try:
        wall = con.execute("SELECT epoch(finished_at - started_at) FROM runs").fetchone()
        docs = con.execute("SELECT count(*) FROM documents").fetchone()
    finally:
        con.close()
    assert wall is not None and docs is not None
    return float(wall[0]), int(docs[0]), replay.answered, replay.peak


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--docs", type=int, default=64, help="documents per run [64]")
    parser.add_argument("--latency", type=float, default=0.5, help="seconds the server takes per request [0.5]")
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 2, 4, 8, 16, 32])
    parser.add_argument("--against", help="also run this git revision's code (e.g. main)")
    parser.add_argument("--recording", type=Path, help="a recording to use (default: recorded once per "
                        "extraction version in the cache folder)")
    args = parser.parse_args(argv)
    settings = Settings(_env_file=None)  # type: ignore[call-arg]  # pydantic-settings init kwarg
    path = args.recording or settings.cache_dir / f"replay-{extraction_version(Prompts())}.json"
    if path.exists():
        answers, gets = replayserver.load(path)
        print(f"recording: {path} ({len(answers)} answers)")
    else:
        print(f"recording the embedded model's answers to {', '.join(RECORDED)} into {path} …", flush=True)
        path.parent.mkdir(parents=True, exist_ok=True)
        answers, gets = record(path)
    work = Path(tempfile.mkdtemp(prefix="llm-extract-bench-concurrency-"))
    folder = documents(work / "in", args.docs)
    print(f"{args.docs} documents, {args.latency} s per request at the server; cores: {os.cpu_count()}")
    trees = {"this tree": ROOT}
    if args.against:
        from llm_extract.evaluate.bench import export_revision

        trees[args.against] = export_revision(args.against, work / "against")
    for i, (label, tree) in enumerate(trees.items()):
        print(f"\n{label}:\n{'concurrency':>11}{'seconds':>9}{'docs/min':>10}{'req/s':>8}{'peak':>6}{'ratio':>7}")
        base = None
        for c in args.concurrency:
            seconds, docs, requests, peak = run_at(c, folder, work / f"{i}-c{c}.duckdb", answers, gets,
                                                   args.latency, tree)
            per_minute = docs / seconds * 60
            base = base or per_minute
            print(f"{c:>11}{seconds:>9.1f}{per_minute:>10.1f}{requests / seconds:>8.2f}{peak:>6}"
                  f"{per_minute / base:>6.2f}x", flush=True)
    print("\nratio: documents per minute over those at the first concurrency; peak: the server's most requests at once")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
