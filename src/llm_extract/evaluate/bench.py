"""Before and after in one run: `python -m llm_extract.evaluate.bench --against REV [reports/]`.

Runs `llm-extract run --force` of the git revision REV and of this working tree, one after the
other on the same machine and the same inputs, each with the embedded model as that version
starts it (so a change of server is measured too). Inputs: the reports given, and each
consecutive pair joined into one longer report (about 4-6k characters and 40-60 metrics, the size
of real county-level reports). Per version and input set it prints seconds per report (run wall
time over documents: documents overlap when the server decodes several requests at once), model
calls and tokens, and this version's floor: the prompt tokens its server actually evaluated
(cached prefixes are free) at the measured prompt speed plus the tokens it generated at the
measured generation throughput with every slot busy. Also the server's peak memory.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import os
import re
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import openai

from llm_extract.config import LOCAL_MODEL_NAME, Settings
from llm_extract.model.local import LocalServer
from llm_extract.store import dbfile

ROOT = Path(__file__).resolve().parents[3]
PROMPT_EVAL = re.compile(r"prompt eval time =\s+([\d.]+) ms /\s+(\d+) tokens")
GEN_EVAL = re.compile(r"\n[^\n]*?(?<!prompt )\beval time =\s+([\d.]+) ms /\s+(\d+) (?:runs|tokens)")
SAMPLE = "用中文写一段两百字的说明，介绍乡镇法治宣传工作。"


@dataclass
class Speeds:
    prompt_tps: float
    gen_tps: float  # with every slot generating: what batched decoding delivers
    slots: int


@dataclass
class Result:
    seconds: float  # wall time of the run, documents only (server start excluded)
    docs: int
    calls: float
    prompt: float
    completion: float
    evaluated: int  # prompt tokens the server evaluated (from its log)
    generated: int
    peak_mb: float  # the model server's peak resident memory
    reports: dict[str, tuple[float, ...]]  # name -> (own seconds, calls, prompt, completion, metrics)


class PeakMemory:
    """Samples the resident memory of the model server processes (any runtime) while a run lasts."""

    def __init__(self) -> None:
        self.mb = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def __enter__(self) -> PeakMemory:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _sample(self) -> None:
        while not self._stop.wait(0.5):
            for proc in Path("/proc").glob("[0-9]*"):
                try:
                    if b"llama" not in (proc / "cmdline").read_bytes():
                        continue
                    for line in (proc / "status").read_text().splitlines():
                        if line.startswith("VmRSS:"):
                            self.mb = max(self.mb, int(line.split()[1]) / 1024)
                except OSError:
                    continue


def log_tokens(chunk: str) -> tuple[int, int]:
    """(prompt tokens evaluated, tokens generated) in a slice of a llama.cpp server log."""
    return (sum(int(n) for _, n in PROMPT_EVAL.findall(chunk)),
            sum(int(n) for _, n in GEN_EVAL.findall(chunk)))


def calibrate(sample: str) -> Speeds:
    """This version's server: prompt speed on real report text, generation throughput with
    every slot busy (one request per slot, all at once)."""
    settings = Settings()
    server = LocalServer(settings, log_path=Path(tempfile.mkdtemp(prefix="llm-extract-bench-")) / "server.log")
    server.start()
    try:
        client = openai.OpenAI(base_url=server.base_url, api_key="none")
        started = time.monotonic()
        client.chat.completions.create(model=LOCAL_MODEL_NAME, max_tokens=1, messages=[{"role": "user", "content": sample}])
        evaluated, _ = log_tokens(server.log_path.read_text(errors="replace"))
        prompt_tps = evaluated / (time.monotonic() - started)

        def generate(k: int) -> int:
            reply = client.chat.completions.create(model=LOCAL_MODEL_NAME, max_tokens=128, temperature=0,
                                                   messages=[{"role": "user", "content": f"{SAMPLE}（{k}）"}])
            return reply.usage.completion_tokens if reply.usage else 0

        started = time.monotonic()
        with concurrent.futures.ThreadPoolExecutor(server.slots) as pool:
            generated = sum(pool.map(generate, range(server.slots)))
        return Speeds(prompt_tps, generated / (time.monotonic() - started), server.slots)
    finally:
        server.stop()


def export_revision(rev: str, into: Path) -> Path:
    """The source and prompts of a git revision, as files (no checkout of this tree changes)."""
    into.mkdir(parents=True)
    archive = subprocess.run(["git", "-C", str(ROOT), "archive", rev, "src", "prompts"], check=True,
                             capture_output=True).stdout
    subprocess.run(["tar", "-x", "-C", str(into)], input=archive, check=True)
    return into


def input_sets(reports: Path, into: Path) -> dict[str, Path]:
    files = sorted(reports.glob("*.txt")) if reports.is_dir() else [reports]
    single, joined = into / "reports", into / "joined"
    single.mkdir(parents=True)
    joined.mkdir(parents=True)
    for path in files:
        (single / path.name).write_bytes(path.read_bytes())
    for first, second in zip(files[::2], files[1::2]):
        text = first.read_text(encoding="utf-8") + "\n" + second.read_text(encoding="utf-8")
        (joined / f"joined_{first.stem[:3]}_{second.stem[:3]}.txt").write_text(text, encoding="utf-8")
    return {"reports": single, "joined": joined}


def run_version(tree: Path, folder: Path, db: Path) -> Result:
    """One `run --force` of a version's code with its own embedded model."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LLM_EXTRACT_", "OPENAI_"))}
    env |= {"PYTHONPATH": str(tree / "src"), "LLM_EXTRACT_PROMPTS": str(tree / "prompts"), "LLM_EXTRACT_TIMEOUT": "900"}
    log = Settings().cache_dir / "server.log"
    mark = log.stat().st_size if log.exists() else 0
    with PeakMemory() as peak:
        done = subprocess.run([sys.executable, "-m", "llm_extract", "run", str(folder), "--db", str(db), "--force"],
                              env=env, capture_output=True, text=True, check=False)
    if done.returncode not in (0, 1):
        raise SystemExit(f"{tree} failed: {done.stderr[-2000:]}")
    evaluated, generated = log_tokens(log.read_text(errors="replace")[mark:]) if log.exists() else (0, 0)
    con = dbfile.connect(db, read_only=True, wait=dbfile.READ_WAIT)  # no extensions, private temp folder
    try:
        # The run's wall time, documents only: the first run row starts after its server is up.
        wall = con.execute("SELECT epoch(max(finished_at) - max(started_at)) FROM runs").fetchone()
        docs = con.execute("""SELECT count(*), sum(model_calls), sum(prompt_tokens), sum(completion_tokens)
                              FROM documents""").fetchone()
        rows = con.execute("""SELECT path, seconds, model_calls, prompt_tokens, completion_tokens,
                                     (SELECT count(*) FROM metrics m WHERE m.doc_id = d.doc_id)
                              FROM documents d""").fetchall()
    finally:
        con.close()
    if wall is None or docs is None or wall[0] is None:
        raise SystemExit(f"{tree} stored no run in {db}")
    return Result(float(wall[0]), int(docs[0]), float(docs[1] or 0), float(docs[2] or 0), float(docs[3] or 0),
                  evaluated, generated, peak.mb, {Path(r[0]).name: tuple(float(x) for x in r[1:]) for r in rows})


def floor(result: Result, speeds: Speeds) -> float:
    return result.evaluated / speeds.prompt_tps + result.generated / speeds.gen_tps


def print_reports(results: dict[tuple[str, str], Result], labels: list[str]) -> None:
    """Per report, both versions: each document's own seconds (they overlap when documents run
    together, so the means above are wall time over documents), calls, tokens, metrics."""
    before, after = labels
    print(f"{'report':<26}{'s before':>9}{'s after':>9}{'calls':>9}{'prompt tok':>14}{'compl tok':>12}{'metrics':>9}")
    for name in ("reports", "joined"):
        b_all, a_all = results[(before, name)].reports, results[(after, name)].reports
        for report in sorted(b_all):
            b, a = b_all[report], a_all.get(report, (float("nan"),) * 5)
            print(f"{report[:25]:<26}{b[0]:>9.1f}{a[0]:>9.1f}{b[1]:>4.0f}→{a[1]:<4.0f}{b[2]:>7.0f}→{a[2]:<6.0f}"
                  f"{b[3]:>5.0f}→{a[3]:<6.0f}{b[4]:>4.0f}→{a[4]:<4.0f}")
    print()


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("reports", nargs="?", default="reports", type=Path)
    parser.add_argument("--against", required=True, help="git revision to compare with (e.g. f673cd3)")
    args = parser.parse_args(argv)
    work = Path(tempfile.mkdtemp(prefix="llm-extract-bench-"))
    sets = input_sets(args.reports, work / "in")
    sample = next(iter(sorted(sets["reports"].glob("*.txt")))).read_text(encoding="utf-8")[:2500]
    speeds = calibrate(sample)
    print(f"this version's server: {speeds.slots} slots; prompt {speeds.prompt_tps:.0f} tok/s, "
          f"generation {speeds.gen_tps:.1f} tok/s with every slot busy")
    versions = {args.against: export_revision(args.against, work / "before"), "this tree": ROOT}
    results = {(label, name): run_version(tree, folder, work / f"{i}-{name}.duckdb")
               for i, (label, tree) in enumerate(versions.items()) for name, folder in sets.items()}
    print(f"\n{'inputs':<9}{'version':<11}{'docs':>5}{'s/report':>10}{'calls':>7}{'prompt':>8}{'(eval)':>8}"
          f"{'compl':>7}{'peak MB':>8}{'floor':>7}{'ratio':>7}")
    for name in sets:
        for label in versions:
            r = results[(label, name)]
            n = max(r.docs, 1)
            per = r.seconds / n
            line = (f"{name:<9}{label[:10]:<11}{r.docs:>5}{per:>10.1f}{r.calls / n:>7.1f}{r.prompt / n:>8.0f}"
                    f"{r.evaluated / n:>8.0f}{r.completion / n:>7.0f}{r.peak_mb:>8.0f}")
            if label == "this tree":
                fl = floor(r, speeds) / n
                line += f"{fl:>7.1f}{per / max(fl, 1e-9):>7.2f}"
            print(line)
        before, after = results[(args.against, name)], results[("this tree", name)]
        speedup = (before.seconds / max(before.docs, 1)) / max(after.seconds / max(after.docs, 1), 1e-9)
        print(f"{name}: {speedup:.2f}x faster per report than {args.against}\n")
    print_reports(results, list(versions))
    print("floor = prompt tokens the server evaluated / prompt speed + generated tokens / generation throughput")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
