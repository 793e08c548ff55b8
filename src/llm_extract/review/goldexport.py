"""`llm-extract review --export-gold DIR`: fully reviewed documents in the gold/ format.

Each document becomes DIR/<report>.json (gold.GoldDocument, split "reviewed": labelled by
correcting an extraction, not blind) and DIR/reports/<report> (its stored text, UTF-8; a Word,
PDF or web page's text as <report>.txt), so
`llm-extract eval --gold DIR --reports DIR/reports` scores against it. Items come from the
reviewed views, the SQL users' truth. A file is written only if it passes the gold set's own
integrity checks (gold.integrity_errors) against the text as `load` reads it back.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from llm_extract.errors import InputError, ReviewError
from llm_extract.evaluate.gold import (
    GoldDocument,
    GoldMetric,
    GoldProblem,
    GoldSection,
    integrity_errors,
    unexplained_numbers,
)
from llm_extract.ingest.documents import load as load_document
from llm_extract.review.decisions import documents
from llm_extract.store.database import Store
from llm_extract.store.outpaths import Ledger, check_output


@dataclass
class GoldExport:
    written: list[Path] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (report, why)
    notes: list[tuple[str, str]] = field(default_factory=list)  # (report, what the reviewer should know)


LEDGER = ".llm-extract-gold"  # what earlier exports wrote here: the only files they may replace
TEXT_SUFFIXES = (".txt", ".md")


def export_gold(store: Store, folder: Path) -> GoldExport:
    """Write every fully reviewed document; files of an earlier export into the same folder are
    replaced, any other existing file, the database and the stored documents' files never."""
    if not store.has_table("reviews"):
        raise ReviewError(f"{store.path} has no reviews yet: run `llm-extract review` first")
    result = GoldExport()
    todo = _to_write(store, folder, result)
    ledger = Ledger(folder, LEDGER)
    targets = [path for item in todo for path in (item.report, item.target)]
    inputs = store.document_paths()
    for path in [*targets, ledger.path]:
        check_output(path, db=store.path, inputs=inputs, what="gold export file", flag="--export-gold")
    ledger.check(targets, "llm-extract review --export-gold")
    try:
        ledger.record(targets)
    except OSError as exc:
        raise ReviewError(f"cannot write into {folder}: {exc.strerror or exc}") from exc
    for item in todo:
        _write(item, result, folder)
    return result


@dataclass(frozen=True)
class _Item:
    name: str  # the report's file name in DIR/reports: the gold document's `doc`
    report: Path
    target: Path
    gold: GoldDocument
    text: str


def _to_write(store: Store, folder: Path, result: GoldExport) -> list[_Item]:
    reviewed = {r["doc_id"] for r in store.query("SELECT DISTINCT doc_id FROM reviews")}
    names: set[str] = set()
    stems: set[str] = set()
    todo = []
    for doc in documents(store):
        if doc["doc_id"] not in reviewed:
            continue
        name = _unique_name(_report_name(os.path.basename(doc["path"])), doc["doc_id"], names)
        if doc["unreviewed"]:
            result.skipped.append((name, f"{doc['unreviewed']} items still undecided (press A to accept the rest)"))
            continue
        # same.txt and same.md: two gold files, not one written twice.
        stem = Path(name).stem if Path(name).stem not in stems else name
        stems.add(stem)
        text = store.query("SELECT text FROM documents WHERE doc_id = ?", [doc["doc_id"]])[0]["text"]
        todo.append(_Item(name, folder / "reports" / name, folder / f"{stem}.json",
                          _gold_document(store, doc["doc_id"], name), text))
    return todo


def _report_name(name: str) -> str:
    """The stored text is plain text whatever the source was: a Word, PDF or web page's text is
    written as NAME.txt (report.docx.txt), so the evals read it back as the text it is."""
    return name if Path(name).suffix.lower() in TEXT_SUFFIXES else f"{name}.txt"


def _write(item: _Item, result: GoldExport, folder: Path) -> None:
    try:
        item.report.parent.mkdir(parents=True, exist_ok=True)
        item.report.write_text(item.text, encoding="utf-8")
        try:
            errors = integrity_errors(item.gold, load_document(item.report).text)  # as the evals will read it
        except InputError as exc:
            errors = [f"its text cannot be read back ({exc})"]
        if errors:
            item.report.unlink()
            result.skipped.append((item.name, f"fails the gold checks: {errors[0]}"))
            return
        item.target.write_text(item.gold.model_dump_json(indent=2) + "\n", encoding="utf-8")
    except OSError as exc:
        raise ReviewError(f"cannot write into {folder}: {exc.strerror or exc}") from exc
    result.written.append(item.target)
    left = unexplained_numbers(item.gold, item.text)
    if left:
        note = (f"{len(left)} count-like numbers neither labelled nor excluded by a rule "
                f"(rejected by the reviewer): {', '.join(left[:3])}")
        result.notes.append((item.name, note))


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
