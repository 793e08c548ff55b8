"""`llm-extract review --export-gold DIR`: fully reviewed documents in the gold/ format.

Each document becomes DIR/<report>.json (gold.GoldDocument, split "reviewed": labelled by
correcting an extraction, not blind) and DIR/reports/<report> (its stored text, UTF-8), so
`llm-extract eval --gold DIR --reports DIR/reports` scores against it. Items come from the
reviewed views, the SQL users' truth. A file is written only if it passes the gold set's own
integrity checks (gold.integrity_errors) against the text as `load` reads it back.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from llm_extract.ingest.documents import load as load_document
from llm_extract.errors import ReviewError
from llm_extract.evaluate.gold import (
    GoldDocument,
    GoldMetric,
    GoldProblem,
    GoldSection,
    integrity_errors,
    unexplained_numbers,
)
from llm_extract.store.database import Store
from llm_extract.review.decisions import documents


@dataclass
class GoldExport:
    written: list[Path] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (report, why)
    notes: list[tuple[str, str]] = field(default_factory=list)  # (report, what the reviewer should know)


def export_gold(store: Store, folder: Path) -> GoldExport:
    if not store.has_table("reviews"):
        raise ReviewError(f"{store.path} has no reviews yet: run `llm-extract review` first")
    result = GoldExport()
    reviewed = {r["doc_id"] for r in store.query("SELECT DISTINCT doc_id FROM reviews")}
    names: set[str] = set()
    for doc in documents(store):
        if doc["doc_id"] not in reviewed:
            continue
        name = _unique_name(os.path.basename(doc["path"]), doc["doc_id"], names)
        if doc["unreviewed"]:
            result.skipped.append((name, f"{doc['unreviewed']} items still undecided (press A to accept the rest)"))
            continue
        gold = _gold_document(store, doc["doc_id"], name)
        text = store.query("SELECT text FROM documents WHERE doc_id = ?", [doc["doc_id"]])[0]["text"]
        report, target = folder / "reports" / name, folder / f"{Path(name).stem}.json"
        try:
            report.parent.mkdir(parents=True, exist_ok=True)
            report.write_text(text, encoding="utf-8")
            errors = integrity_errors(gold, load_document(report).text)  # as the evals will read it
            if errors:
                report.unlink()
                result.skipped.append((name, f"fails the gold checks: {errors[0]}"))
                continue
            target.write_text(gold.model_dump_json(indent=2) + "\n", encoding="utf-8")
        except OSError as exc:
            raise ReviewError(f"cannot write into {folder}: {exc.strerror or exc}") from exc
        result.written.append(target)
        left = unexplained_numbers(gold, text)
        if left:
            note = (f"{len(left)} count-like numbers neither labelled nor excluded by a rule "
                    f"(rejected by the reviewer): {', '.join(left[:3])}")
            result.notes.append((name, note))
    return result


def _unique_name(name: str, doc_id: str, taken: set[str]) -> str:
    if name in taken:  # two reports with one file name in different folders
        stem, dot, suffix = name.rpartition(".")
        name = f"{stem}_{doc_id[:8]}.{suffix}" if dot else f"{name}_{doc_id[:8]}"
    taken.add(name)
    return name


def _gold_document(store: Store, doc_id: str, name: str) -> GoldDocument:
    d = store.query("SELECT * FROM documents WHERE doc_id = ?", [doc_id])[0]
    sections = store.query("SELECT * FROM sections WHERE doc_id = ? ORDER BY char_start", [doc_id])
    metrics = store.query("SELECT * FROM metrics_reviewed WHERE doc_id = ? ORDER BY char_start, value", [doc_id])
    problems = store.query("SELECT * FROM problems_reviewed WHERE doc_id = ? ORDER BY char_start", [doc_id])
    return GoldDocument(
        doc=name, township=d["township"], county=d["county"], year=d["year"], issuer=d["issuer"],
        report_date=d["report_date"], issuer_level=d["issuer_level"], split="reviewed",
        sections=[GoldSection(number=s["number"], title=s["title"], level=s["level"], category=s["category"],
                              char_start=s["char_start"]) for s in sections],
        metrics=[GoldMetric(quote=m["quote"], char_start=m["char_start"], name=m["name"], value=m["value"],
                            value_max=m["value_max"], unit=m["unit"], approx=m["approx"], category=m["category"],
                            area=m["area"], indicator=m["indicator"])
                 for m in metrics],
        problems=[GoldProblem(quote=p["quote"], char_start=p["char_start"], summary=p["summary"],
                              category=p["category"], area=p["area"]) for p in problems],
    )
