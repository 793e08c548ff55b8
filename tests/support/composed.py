"""The composed reports of tests/fixtures/composed (written for the checks, never taken from
reports/): their expected findings by reading, and copies with one inconsistency injected each."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from llm_extract.config import load_settings
from llm_extract.run.pipeline import run
from llm_extract.store.database import Store

COMPOSED = Path(__file__).resolve().parent.parent / "fixtures" / "composed"


@dataclass(frozen=True)
class Injection:
    file: str
    old: str
    new: str
    check: str  # the check_name that must report it


def expected() -> dict[str, list[str]]:
    data = json.loads((COMPOSED / "expected.json").read_text(encoding="utf-8"))
    return {k: v for k, v in data.items() if not k.startswith("_")}


def injections() -> list[Injection]:
    return [Injection(**d) for d in json.loads((COMPOSED / "injections.json").read_text(encoding="utf-8"))]


def findings_by_file(folder: Path, db: Path) -> dict[str, list[tuple[str, str]]]:
    """Extract every .txt of folder with the rules backend into db; file name -> (check_name, check_id)."""
    run(sorted(folder.glob("*.txt")), load_settings(db=db), backend="rules")
    with Store(db) as store:
        rows = store.query("SELECT d.path, c.check_name, c.check_id FROM checks c JOIN documents d USING (doc_id) "
                           "ORDER BY d.path, c.char_start")
    out: dict[str, list[tuple[str, str]]] = {}
    for row in rows:
        out.setdefault(Path(row["path"]).name, []).append((row["check_name"], row["check_id"]))
    return out


def measure(work: Path) -> tuple[list[str], list[str], int]:
    """(false findings on the untouched reports, injections not reported, number of injections)."""
    plain = findings_by_file(COMPOSED, work / "plain.duckdb")
    false = [f"{name}: {check_id}" for name, wanted in expected().items()
             for _, check_id in plain.get(name, []) if check_id not in wanted]
    folder = work / "injected"
    folder.mkdir()
    all_injected = injections()
    for i, inj in enumerate(all_injected):
        text = (COMPOSED / inj.file).read_text(encoding="utf-8")
        (folder / f"i{i:02d}_{inj.file}").write_text(text.replace(inj.old, inj.new, 1), encoding="utf-8")
    got = findings_by_file(folder, work / "injected.duckdb")
    missed = []
    for i, inj in enumerate(all_injected):
        before = [c for c, _ in plain.get(inj.file, [])].count(inj.check)
        after = [c for c, _ in got.get(f"i{i:02d}_{inj.file}", [])].count(inj.check)
        if after <= before:
            missed.append(f"{inj.file}: {inj.old[:20]!r} -> {inj.new[:20]!r} ({inj.check})")
    return false, missed, len(all_injected)
