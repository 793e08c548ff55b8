"""What the compare page shows, read from the reviewed views: one indicator's value in every
document that states it (its first mention, as `llm-extract table` keeps it, with the count of
other mentions that differ), and how each document's items spread over the 13 areas. No web."""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any, Literal

from llm_extract.label.indicator_ids import AREAS, Indicator, indicators
from llm_extract.store.database import Store
from llm_extract.review.decisions import ItemKey

What = Literal["metrics", "problems"]


@dataclass(frozen=True)
class Point:
    doc_id: str
    label: str  # who reported, and when: what a reader recognises the document by
    value: float
    value_max: float | None
    unit: str
    approx: bool
    quote: str
    uid: str  # the item's id on its document's review page
    conflicts: int


@dataclass(frozen=True)
class Spread:
    doc_id: str
    label: str
    counts: dict[str, int]  # area -> items; "unlabelled" for items without an area yet

    @property
    def total(self) -> int:
        return sum(self.counts.values())


def document_label(row: dict[str, Any]) -> str:
    who = row.get("issuer") or row.get("township") or os.path.basename(str(row.get("path") or row["doc_id"]))
    return f"{who} {row['year']}" if row.get("year") else str(who)


def stated(store: Store) -> list[tuple[Indicator, int]]:
    """Every known indicator with the number of documents stating it, stated ones first."""
    counts = {str(r["indicator"]): int(r["n"]) for r in store.query(
        "SELECT indicator, count(DISTINCT doc_id) AS n FROM indicator_values GROUP BY ALL")}
    known = indicators()
    listed = [(ind, counts.get(ind.id, 0)) for ind in known.values()]
    extra = [(Indicator(i, i.partition(".")[0], "", i), n) for i, n in sorted(counts.items()) if i not in known]
    return sorted(listed + extra, key=lambda pair: pair[1] == 0)


def points(store: Store, indicator: str) -> list[Point]:
    """The indicator's first mention in each document that states it, largest value first."""
    rows = store.query("""
        WITH ranked AS (
            SELECT *, row_number() OVER w AS mention,
                   first_value(value) OVER w AS first_value, first_value(value_max) OVER w AS first_max
            FROM indicator_values WHERE indicator = ?
            WINDOW w AS (PARTITION BY doc_id ORDER BY char_start, char_end, value)
        )
        SELECT doc_id, any_value(path) AS path, any_value(issuer) AS issuer, any_value(township) AS township,
               any_value(year) AS year,
               any_value(value) FILTER (WHERE mention = 1) AS value,
               any_value(value_max) FILTER (WHERE mention = 1) AS value_max,
               any_value(unit) FILTER (WHERE mention = 1) AS unit,
               any_value(approx) FILTER (WHERE mention = 1) AS approx,
               any_value(quote) FILTER (WHERE mention = 1) AS quote,
               any_value(char_start) FILTER (WHERE mention = 1) AS char_start,
               any_value(char_end) FILTER (WHERE mention = 1) AS char_end,
               count(*) FILTER (WHERE mention > 1 AND (value <> first_value OR value_max IS DISTINCT FROM first_max))
                   AS conflicts
        FROM ranked GROUP BY doc_id ORDER BY value DESC, path""", [indicator])
    return [Point(r["doc_id"], document_label(r), float(r["value"]), r["value_max"], str(r["unit"]),
                  bool(r["approx"]), str(r["quote"]),
                  ItemKey(kind="metric", char_start=r["char_start"], char_end=r["char_end"], value=r["value"]).uid,
                  int(r["conflicts"]))
            for r in rows]


def spreads(store: Store, what: What = "metrics") -> list[Spread]:
    """Every document's reviewed metrics (or problems) counted by area, in path order."""
    view = "metrics_reviewed" if what == "metrics" else "problems_reviewed"
    rows = store.query(f"""
        SELECT d.doc_id, d.path, d.issuer, d.township, d.year, coalesce(v.area, 'unlabelled') AS area,
               count(v.doc_id) AS n
        FROM documents d LEFT JOIN {view} v USING (doc_id)
        GROUP BY ALL ORDER BY d.path, d.doc_id""")
    by_doc: dict[str, Spread] = {}
    for r in rows:
        spread = by_doc.setdefault(r["doc_id"], Spread(r["doc_id"], document_label(r), {}))
        if r["n"]:
            # An area outside the 13 (a database written by other means) is drawn as unlabelled,
            # not left out of the bar while counted in its total.
            area = str(r["area"]) if r["area"] in AREAS else "unlabelled"
            spread.counts[area] = spread.counts.get(area, 0) + int(r["n"])
    return list(by_doc.values())


def area_order() -> list[str]:
    return [*AREAS, "unlabelled"]
