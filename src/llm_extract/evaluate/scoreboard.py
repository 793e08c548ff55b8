"""The one evaluation path: extract the gold reports with each backend, score them, apply the
thresholds, record the run and render the board.

`llm-extract eval` and `pytest evals/` both call `evaluate`; the deepeval metrics read its
result. The code-only baseline (backend "rules") is always scored beside the model, so every
board shows what the model adds; it runs first and never starts a model server.
"""

from __future__ import annotations

import json
import subprocess
import tomllib
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from llm_extract.config import Settings
from llm_extract.ingest.documents import load
from llm_extract.errors import EvalError
from llm_extract.evaluate.scorers import FIELDS, ReportScores, score_report
from llm_extract.evaluate.gold import GoldDocument, load_gold_dir
from llm_extract.label.backend import Backend
from llm_extract.run.pipeline import BackendKind, RunSummary, run
from llm_extract.schemas import Extraction
from llm_extract.store.database import Store, now


@dataclass
class EvalResult:
    backend: str
    model: str
    prompt_version: str
    per_report: dict[str, ReportScores] = field(default_factory=dict)
    total: ReportScores = field(default_factory=ReportScores)
    summary: RunSummary | None = None
    extractions: dict[str, Extraction] = field(default_factory=dict)  # by report file name
    golds: dict[str, GoldDocument] = field(default_factory=dict)

    def flat(self) -> dict[str, float | None]:
        """{'metrics.f1': …, 'problems.category_accuracy': …} over all reports (micro)."""
        return flatten(self.total)


def flatten(scores: ReportScores) -> dict[str, float | None]:
    return {f"{name}.{key}": value for name, table in scores.table().items() for key, value in table.items()}


def cache_db(cache_dir: Path, backend: BackendKind, settings: Settings) -> Path:
    """Where a backend's extractions of the gold reports are cached: one file per model, named
    safely whatever the model is called (Ollama's `qwen2.5:7b`, a path, a URL)."""
    label = "rules" if backend == "rules" else settings.resolved_model()
    safe = "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in label)
    return cache_dir / f"extractions-{safe}.duckdb"


def evaluate_backend(settings: Settings, backend: BackendKind, reports: Path, gold_dir: Path,
                     cache_dir: Path, model_backend: Backend | None = None) -> EvalResult:
    """Extract the gold reports (cached by document, model and prompt version) and score them."""
    golds = load_gold_dir(gold_dir)
    cache_settings = settings.model_copy(update={"db": cache_db(cache_dir, backend, settings)})
    missing = [name for name in golds if not (reports / name).is_file()]
    if missing:
        raise EvalError(f"gold reports missing from {reports}: {', '.join(missing)}")
    summary = run([reports / name for name in golds], cache_settings, backend=backend, model_backend=model_backend)
    if summary.aborted:
        raise EvalError(f"extraction aborted: {summary.aborted}")
    result = EvalResult(backend=backend, model=summary.model, prompt_version=summary.prompt_version,
                        summary=summary, golds=golds)
    with Store(cache_settings.db, read_only=True) as store:
        for name, gold in golds.items():
            doc = load(reports / name)
            extraction = store.load_extraction(doc.doc_id)
            if extraction is None:
                raise EvalError(f"{name} was not extracted: {dict(summary.failed).get(str(reports / name))}")
            scores = score_report(extraction, gold, doc.text)
            result.extractions[name] = extraction
            result.per_report[name] = scores
            result.total.add(scores)
    return result


Thresholds = dict[str, dict[str, float]]  # backend -> "field.score" -> minimum


def load_thresholds(path: Path) -> Thresholds:
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise EvalError(f"cannot read thresholds {path}: {exc}") from exc


def below_thresholds(results: list[EvalResult], thresholds: Thresholds) -> list[str]:
    """One line per score under its minimum (a missing score counts as under)."""
    failures = []
    for result in results:
        flat = result.flat()
        for key, minimum in thresholds.get(result.backend, {}).items():
            value = flat.get(key)
            if value is None or value < minimum:
                failures.append(f"{result.backend} {key} = {_fmt(value)} < {minimum}")
    return failures


@dataclass
class Board:
    results: dict[str, EvalResult]  # by backend
    failures: list[str]  # scores under their thresholds; empty means the board passes


def evaluate(settings: Settings, reports: Path, gold_dir: Path, results_dir: Path, cache_dir: Path,
             thresholds: Path, backends: tuple[BackendKind, ...] = ("rules", "llm"),
             model_backend: Backend | None = None) -> Board:
    """Score every backend on the gold set, record the run, write latest.{md,json}, check thresholds."""
    limits = load_thresholds(thresholds)
    board = [evaluate_backend(settings, backend, reports, gold_dir, cache_dir, model_backend) for backend in backends]
    db = results_dir / "evals.duckdb"
    results_dir.mkdir(parents=True, exist_ok=True)
    previous = {r.model: previous_scores(db, r.model) for r in board}
    for result in board:
        record(db, result)
    write_results(results_dir, board, previous)
    return Board({r.backend: r for r in board}, below_thresholds(board, limits))


def git_commit() -> str | None:
    try:
        out = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, timeout=5)
    except OSError:
        return None
    return out.stdout.strip() or None


def previous_scores(db: Path, model: str) -> dict[str, float]:
    """The last recorded run of this model: {'metrics.f1': …}."""
    if not db.exists():
        return {}
    with Store(db) as store:
        rows = store.query(
            """SELECT field || '.' || score_name AS key, score FROM eval_runs
               WHERE model = ? AND report = 'ALL' AND eval_id = (
                   SELECT eval_id FROM eval_runs WHERE model = ? ORDER BY ran_at DESC LIMIT 1)""",
            [model, model])
    return {r["key"]: r["score"] for r in rows if r["score"] is not None}


def record(db: Path, result: EvalResult) -> str:
    """Append one row per field, score and report (plus 'ALL') to eval_runs."""
    eval_id = uuid.uuid4().hex[:12]
    ran_at, commit = now(), git_commit()
    rows = []
    for report, scores in [("ALL", result.total), *result.per_report.items()]:
        for key, value in flatten(scores).items():
            name, score_name = key.split(".", 1)
            rows.append([eval_id, ran_at, result.model, result.prompt_version, commit, name, report, score_name, value])
    with Store(db) as store, store.transaction():
        store.con.executemany("INSERT INTO eval_runs VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)
    return eval_id


def _fmt(value: float | None) -> str:
    return "–" if value is None else f"{value:.3f}"


def _delta(value: float | None, before: float | None) -> str:
    if value is None or before is None:
        return ""
    diff = value - before
    return " (=)" if abs(diff) < 5e-4 else f" ({diff:+.3f})"


def render_markdown(results: list[EvalResult], previous: dict[str, dict[str, float]] | None = None) -> str:
    """A table per field: one column per backend, overall then per report."""
    previous = previous or {}
    lines = ["# Evaluation scoreboard", ""]
    lines.append(" · ".join(f"**{r.backend}**: model `{r.model}`, prompt `{r.prompt_version}`" for r in results))
    for r in results:
        if r.summary is not None:
            u = r.summary.usage
            lines.append(f"- {r.backend}: {u.calls} model calls, {u.prompt_tokens}+{u.completion_tokens} tokens, "
                         f"{r.summary.seconds:.1f} s this run ({len(r.summary.skipped)} documents from cache)")
    lines.append("")
    flats = [r.flat() for r in results]
    for name in FIELDS:
        keys = list(dict.fromkeys(k for f in flats for k in f if k.startswith(name + ".")))
        lines += [f"## {name}", "", "| score | " + " | ".join(r.backend for r in results) + " |",
                  "|---|" + "---|" * len(results)]
        for key in keys:
            cells = [_fmt(f.get(key)) + _delta(f.get(key), previous.get(r.model, {}).get(key))
                     for r, f in zip(results, flats)]
            lines.append(f"| {key.split('.', 1)[1]} | " + " | ".join(cells) + " |")
        lines.append("")
    lines += ["## per report", "", "| report | field | " + " | ".join(r.backend for r in results) + " |",
              "|---|---|" + "---|" * len(results)]
    headline = ("metrics.f1", "metrics.category_accuracy", "metrics.name_similarity", "metrics.name_defect_rate",
                "metrics.area_accuracy", "indicators.f1", "problems.f1", "problems.category_accuracy",
                "problems.area_accuracy", "sections.category_accuracy", "metadata.accuracy", "grounding.rate",
                "labels.fallback_rate")
    for report in results[0].per_report:
        per = [flatten(r.per_report[report]) for r in results]
        for key in headline:
            lines.append(f"| {report[:3]} | {key} | " + " | ".join(_fmt(p.get(key)) for p in per) + " |")
    return "\n".join(lines) + "\n"


def write_results(folder: Path, results: list[EvalResult], previous: dict[str, dict[str, float]] | None = None) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "latest.md").write_text(render_markdown(results, previous), encoding="utf-8")
    payload = {
        "ran_at": now().isoformat(), "git_commit": git_commit(),
        "runs": [{"backend": r.backend, "model": r.model, "prompt_version": r.prompt_version,
                  "total": r.flat(), "per_report": {k: flatten(v) for k, v in r.per_report.items()},
                  "usage": r.summary.usage.model_dump() if r.summary else None,
                  "seconds": r.summary.seconds if r.summary else None} for r in results],
    }
    (folder / "latest.json").write_text(json.dumps(payload, ensure_ascii=False, indent=2), encoding="utf-8")
