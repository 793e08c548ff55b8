"""Benchmark the pipeline on the embedded model: `python -m llm_extract.bench reports/`.

Prints per report: characters, model calls, prompt and completion tokens, seconds, and the floor
the hardware allows, i.e. the tokens the server actually evaluated (from its log; cached prompt
prefixes are free) divided by the speeds measured on this machine at start. The ratio
seconds / floor is the pipeline's overhead. Also the server's peak memory (VmHWM).
"""

from __future__ import annotations

import re
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import openai

from .config import LOCAL_MODEL_NAME, Settings
from .documents import load
from .local import LocalServer
from .pipeline import DocDone, DocStarted, Event, run

PROMPT_EVAL = re.compile(r"prompt eval time =\s+([\d.]+) ms /\s+(\d+) tokens")
GEN_EVAL = re.compile(r"\n[^\n]*?\beval time =\s+([\d.]+) ms /\s+(\d+) runs")


@dataclass
class Speeds:
    prompt_tps: float
    gen_tps: float


def log_tokens(chunk: str) -> tuple[int, int]:
    """(prompt tokens evaluated, tokens generated) in a slice of the llama.cpp server log."""
    prompt = sum(int(n) for _, n in PROMPT_EVAL.findall(chunk))
    gen = sum(int(n) for _, n in GEN_EVAL.findall(chunk))
    return prompt, gen


def calibrate(base_url: str, log: Path, sample: str) -> Speeds:
    """Measure raw prompt and generation speed with two plain requests.

    The prompt is real report text: a repetitive filler evaluates implausibly fast.
    """
    client = openai.OpenAI(base_url=base_url, api_key="none")
    start = log.stat().st_size
    client.chat.completions.create(model=LOCAL_MODEL_NAME, messages=[{"role": "user", "content": sample}], max_tokens=1)
    client.chat.completions.create(model=LOCAL_MODEL_NAME, max_tokens=128, temperature=0,
                                   messages=[{"role": "user", "content": "用中文写一段两百字的说明，介绍乡镇法治宣传工作。"}])
    time.sleep(0.2)
    chunk = log.read_text(errors="replace")[start:]
    prompts = [(float(ms), int(n)) for ms, n in PROMPT_EVAL.findall(chunk)]
    gens = [(float(ms), int(n)) for ms, n in GEN_EVAL.findall(chunk)]
    big = max(prompts, key=lambda t: t[1])
    longest = max(gens, key=lambda t: t[1])
    return Speeds(prompt_tps=big[1] / big[0] * 1000, gen_tps=longest[1] / longest[0] * 1000)


def peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def main(argv: list[str]) -> int:
    reports = Path(argv[0]) if argv else Path("reports")
    settings = Settings()
    log = Path(tempfile.mkdtemp(prefix="llm-extract-bench-")) / "server.log"
    server = LocalServer(settings, log_path=log)
    started = time.monotonic()
    server.start()
    print(f"server ready in {time.monotonic() - started:.1f} s; threads {settings.n_threads}")
    try:
        sample = next(p for p in sorted(reports.glob("*.txt")) if p.is_file()) if reports.is_dir() else reports
        speeds = calibrate(server.base_url, log, sample.read_text(encoding="utf-8", errors="replace")[:2500])
        print(f"measured: prompt {speeds.prompt_tps:.0f} tok/s, generation {speeds.gen_tps:.1f} tok/s\n")
        marks: dict[str, int] = {}
        rows = []

        def on_event(event: Event) -> None:
            if isinstance(event, DocStarted):
                marks["start"] = log.stat().st_size
            elif isinstance(event, DocDone):
                extraction = event.extraction
                time.sleep(0.1)
                evaluated, generated = log_tokens(log.read_text(errors="replace")[marks["start"]:])
                floor = evaluated / speeds.prompt_tps + generated / speeds.gen_tps
                naive = extraction.usage.prompt_tokens / speeds.prompt_tps + extraction.usage.completion_tokens / speeds.gen_tps
                rows.append((Path(event.path).name, extraction, evaluated, generated, floor, naive))

        db = log.parent / "bench.duckdb"
        run_settings = settings.model_copy(update={"base_url": server.base_url, "model": LOCAL_MODEL_NAME, "db": db})
        summary = run([reports], run_settings, force=True, on_event=on_event)
        print(f"{'report':<28}{'chars':>7}{'calls':>6}{'prompt':>8}{'(eval)':>8}{'compl':>7}{'seconds':>9}"
              f"{'floor':>8}{'ratio':>7}{'floor*':>8}{'ratio*':>7}{'metrics':>8}")
        totals = [0.0] * 10
        for name, e, evaluated, generated, floor, naive in rows:
            values = (_chars(reports, name), e.usage.calls, e.usage.prompt_tokens, evaluated, e.usage.completion_tokens,
                      e.seconds, floor, naive, len(e.metrics))
            _print_row(name, *values)
            for i, v in enumerate(values):
                totals[i] += v
        n = max(len(rows), 1)
        _print_row("mean per report", *(t / n for t in totals[:9]))
        print("floor  = server-evaluated prompt tokens / prompt speed + completion tokens / generation speed")
        print("floor* = all prompt tokens (as if nothing were cached) / prompt speed + completion / generation speed")
        gen_share = sum(r[3] for r in rows) / speeds.gen_tps / max(sum(r[4] for r in rows), 1e-9)
        print(f"\nrun wall time {summary.seconds:.1f} s for {len(rows)} reports; generation is {gen_share:.0%} of the floor")
        print(f"peak memory: model server {peak_rss_mb(server.process.pid) if server.process else float('nan'):.0f} MB, "
              f"this process {_self_peak_mb():.0f} MB")
    finally:
        server.stop()
    return 0


def _print_row(name: str, chars: float, calls: float, prompt: float, evaluated: float, completion: float,
               seconds: float, floor: float, naive: float, metrics: float) -> None:
    print(f"{name:<28}{chars:>7.0f}{calls:>6.1f}{prompt:>8.0f}{evaluated:>8.0f}{completion:>7.0f}{seconds:>9.1f}"
          f"{floor:>8.1f}{seconds / max(floor, 1e-9):>7.2f}{naive:>8.1f}{seconds / max(naive, 1e-9):>7.2f}{metrics:>8.0f}")


def _chars(reports: Path, name: str) -> int:
    path = reports / name if reports.is_dir() else reports
    return len(load(path).text)


def _self_peak_mb() -> float:
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
