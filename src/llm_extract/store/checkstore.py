"""Findings in the database: written when a document is saved (its own checks) and when a run
ends (the series of the issuers it touched), read by `llm-extract checks`, `show`, the review
queue and the static report; dismissed by a reviewer as an appended decision (finding_reviews).

Store methods call these with their open connection; nothing here opens a database.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any, Literal

from llm_extract.checks import Finding, SeriesDoc, document_findings, group_series, series_findings
from llm_extract.schemas import Extraction, MetricRecord

if TYPE_CHECKING:
    from llm_extract.store.database import Store

SERIES_CHECKS = ("series_jump",)
FindingDecision = Literal["dismiss", "restore"]
MAX_REASON = 500


def _now() -> datetime:
    return datetime.now(timezone.utc).replace(tzinfo=None)


def write_document_findings(store: Store, extraction: Extraction) -> list[Finding]:
    """Replace a document's own findings (not its series findings) with what its checks find
    now; inside the caller's transaction (Store.save)."""
    found = document_findings(extraction)
    store.con.execute("DELETE FROM checks WHERE doc_id = ? AND check_name NOT IN (SELECT unnest(?))",
                      [extraction.doc_id, list(SERIES_CHECKS)])
    _insert(store, extraction.doc_id, found)
    return found


def _insert(store: Store, doc_id: str, found: list[Finding]) -> None:
    if not found:
        return
    when = _now()
    store.con.executemany(
        "INSERT OR REPLACE INTO checks (doc_id, check_id, check_name, severity, metric_ids, message, char_start, "
        "char_end, other_doc_id, computed_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [[doc_id, f.check_id, f.check_name, f.severity, list(f.metric_ids), f.message, f.char_start, f.char_end,
          f.other_doc_id, when] for f in found])


def refresh_series(store: Store, doc_ids: Iterable[str] | None = None) -> int:
    """Recompute the series findings of every issuer one of doc_ids belongs to (all issuers when
    None): a new year of an issuer changes what its other years are compared with. Returns how
    many series findings there are now in those series."""
    docs = {row["doc_id"]: SeriesDoc(**row) for row in store.query(
        "SELECT doc_id, year, issuer, township, county, issuer_level FROM documents")}
    wanted = set(docs) if doc_ids is None else set(doc_ids)
    groups = [g for g in group_series(docs.values()) if any(d.doc_id in wanted for d in g)]
    members = [d.doc_id for g in groups for d in g]
    if not members:
        return 0
    # The reviewed values: an indicator a reviewer chose (or a value corrected, or a metric
    # rejected) is what the series compares, as `indicator_values` shows it.
    for row in store.query(
            "SELECT doc_id, coalesce(metric_id, -1) AS metric_id, section_id, coalesce(name, '') AS name, value, "
            "value_max, unit, coalesce(approx, false) AS approx, quote, char_start, char_end, indicator "
            "FROM metrics_reviewed WHERE indicator IS NOT NULL AND doc_id IN (SELECT unnest(?)) "
            "ORDER BY doc_id, char_start, char_end", [members]):
        doc_id = row.pop("doc_id")
        docs[doc_id].metrics.append(MetricRecord(category="other", **row))
    found = series_findings(docs[m] for m in members)
    with store.transaction():
        store.con.execute("DELETE FROM checks WHERE doc_id IN (SELECT unnest(?)) AND check_name IN (SELECT unnest(?))",
                          [members, list(SERIES_CHECKS)])
        for doc_id, findings in found.items():
            _insert(store, doc_id, findings)
    return sum(len(f) for f in found.values())


def recompute(store: Store) -> int:
    """Every document's checks and every series again (after an upgrade of the checks)."""
    n = 0
    for (doc_id,) in store.con.execute("SELECT doc_id FROM documents ORDER BY path").fetchall():
        extraction = store.load_extraction(doc_id)
        if extraction is not None:
            with store.transaction():
                n += len(write_document_findings(store, extraction))
    return n + refresh_series(store)


# --- reading --------------------------------------------------------------------------------------
def findings(store: Store, doc_id: str | None = None, include_dismissed: bool = False) -> list[dict[str, Any]]:
    """Findings with their documents' names, most severe first; [] on a database from before the
    checks (opened read-only, it cannot be migrated)."""
    if not store.has_table("findings"):
        return []
    where = ["(? IS NULL OR f.doc_id = ?)"] + ([] if include_dismissed else ["NOT f.dismissed"])
    return store.query(
        f"""SELECT f.doc_id, d.path, d.issuer, d.township, d.year, f.check_id, f.check_name, f.severity,
                   f.metric_ids, f.message, f.char_start, f.char_end, f.other_doc_id, f.dismissed,
                   f.review_reason, f.reviewer
            FROM findings f JOIN documents d USING (doc_id)
            WHERE {' AND '.join(where)}
            ORDER BY CASE f.severity WHEN 'error' THEN 0 WHEN 'warning' THEN 1 ELSE 2 END, d.path,
                     f.char_start NULLS FIRST, f.check_id""", [doc_id, doc_id])


def completeness_table(store: Store) -> list[dict[str, Any]]:
    """One row per document: each required part present (no open missing_part finding, or one a
    reviewer dismissed), the date status, and the open findings by severity."""
    if not store.has_table("findings"):
        return []
    return store.query("""
        SELECT d.doc_id, d.path, coalesce(d.issuer, d.township) AS issuer, d.year,
               NOT bool_or(f.check_id = 'missing_part:measures' AND NOT f.dismissed) IS TRUE AS measures,
               NOT bool_or(f.check_id = 'missing_part:shortcomings' AND NOT f.dismissed) IS TRUE AS shortcomings,
               NOT bool_or(f.check_id = 'missing_part:leaders' AND NOT f.dismissed) IS TRUE AS leaders,
               NOT bool_or(f.check_id = 'missing_part:plans' AND NOT f.dismissed) IS TRUE AS plans,
               CASE WHEN bool_or(f.check_id = 'signature_date:late') THEN 'late'
                    WHEN bool_or(f.check_id = 'signature_date:undated') THEN 'undated'
                    WHEN any_value(d.report_date) IS NULL THEN 'undated' ELSE 'on time' END AS date,
               count(f.check_id) FILTER (WHERE f.severity = 'error' AND NOT f.dismissed) AS errors,
               count(f.check_id) FILTER (WHERE f.severity = 'warning' AND NOT f.dismissed) AS warnings,
               count(f.check_id) FILTER (WHERE f.severity = 'info' AND NOT f.dismissed) AS infos,
               count(f.check_id) FILTER (WHERE f.dismissed) AS dismissed
        FROM documents d LEFT JOIN findings f USING (doc_id)
        GROUP BY ALL ORDER BY d.path""")


def flagged_metrics(store: Store, doc_id: str) -> dict[int, list[dict[str, Any]]]:
    """metric_id -> the open findings that name it, for one document."""
    out: dict[int, list[dict[str, Any]]] = {}
    for row in findings(store, doc_id):
        for metric_id in row["metric_ids"] or []:
            out.setdefault(int(metric_id), []).append(row)
    return out
