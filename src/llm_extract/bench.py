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
from .local import LocalServer
from .pipeline import run

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


def calibrate(base_url: str, log: Path) -> Speeds:
    """Measure raw prompt and generation speed with two plain requests."""
    client = openai.OpenAI(base_url=base_url, api_key="none")
    start = log.stat().st_size
    filler = "法治政府建设工作报告，开展普法宣传活动，化解矛盾纠纷。" * 40
    client.chat.completions.create(model=LOCAL_MODEL_NAME, messages=[{"role": "user", "content": filler}], max_tokens=1)
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
        speeds = calibrate(server.base_url, log)
        print(f"measured: prompt {speeds.prompt_tps:.0f} tok/s, generation {speeds.gen_tps:.1f} tok/s\n")
        marks: dict[str, int] = {}
        rows = []

        def on_event(kind: str, data: dict[str, object]) -> None:
            if kind == "doc":
                marks["start"] = log.stat().st_size
            elif kind == "done":
                extraction = data["extraction"]
                time.sleep(0.1)
                evaluated, generated = log_tokens(log.read_text(errors="replace")[marks["start"]:])
                floor = evaluated / speeds.prompt_tps + generated / speeds.gen_tps
                rows.append((Path(str(data["path"])).name, extraction, evaluated, generated, floor))

        db = log.parent / "bench.duckdb"
        run_settings = settings.model_copy(update={"base_url": server.base_url, "model": LOCAL_MODEL_NAME, "db": db})
        summary = run([reports], run_settings, force=True, on_event=on_event)
        header = f"{'report':<28}{'chars':>7}{'calls':>6}{'prompt':>8}{'(eval)':>8}{'compl':>7}{'seconds':>9}{'floor':>8}{'ratio':>7}{'metrics':>8}"
        print(header)
        totals = [0, 0, 0, 0, 0, 0.0, 0.0, 0]
        for name, e, evaluated, generated, floor in rows:
            chars = _chars(reports, name)
            print(f"{name:<28}{chars:>7}{e.usage.calls:>6}{e.usage.prompt_tokens:>8}{evaluated:>8}"
                  f"{e.usage.completion_tokens:>7}{e.seconds:>9.1f}{floor:>8.1f}{e.seconds / floor:>7.2f}{len(e.metrics):>8}")
            for i, v in enumerate((chars, e.usage.calls, e.usage.prompt_tokens, evaluated, e.usage.completion_tokens, e.seconds, floor, len(e.metrics))):
                totals[i] += v
        n = max(len(rows), 1)
        print(f"{'mean per report':<28}{totals[0] / n:>7.0f}{totals[1] / n:>6.1f}{totals[2] / n:>8.0f}{totals[3] / n:>8.0f}"
              f"{totals[4] / n:>7.0f}{totals[5] / n:>9.1f}{totals[6] / n:>8.1f}{totals[5] / max(totals[6], 1e-9):>7.2f}{totals[7] / n:>8.1f}")
        gen_share = sum(r[3] for r in rows) / speeds.gen_tps / max(totals[6], 1e-9)
        print(f"\nrun wall time {summary.seconds:.1f} s for {len(rows)} reports; generation is {gen_share:.0%} of the floor")
        print(f"peak memory: model server {peak_rss_mb(server.process.pid) if server.process else float('nan'):.0f} MB, "
              f"this process {_self_peak_mb():.0f} MB")
    finally:
        server.stop()
    return 0


def _chars(reports: Path, name: str) -> int:
    path = reports / name if reports.is_dir() else reports
    from .documents import load

    return len(load(path).text)


def _self_peak_mb() -> float:
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
