"""Across years: the reports of one issuer in different years are a series; an indicator both
years state that changed by more than a factor of five either way is a finding (a typo, a unit
slip, or a real change a reviewer should see). Pure: no I/O.

One issuer has one normal form of its name: a township by its county and township (松村镇 of
沁县, whether the report is signed by its 党委, its 人民政府 or both), a county government by its
county, any other body by its own name without 中共 and without the prefecture before its county.
A report whose county is not named joins the one series of its township, if there is one.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field

from llm_extract.label.issuers import GOVERNMENT_ORGANS, bodies, county_of, issuer_level, without_prefecture
from llm_extract.schemas import MetricRecord
from llm_extract.checks.finding import Finding
from llm_extract.checks.mentions import value_shown

FACTOR = 5.0
_ORGAN_END = re.compile(rf"(?:{GOVERNMENT_ORGANS})$")


@dataclass
class SeriesDoc:
    """What the series check needs of one stored report."""

    doc_id: str
    year: int | None
    issuer: str | None = None
    township: str | None = None
    county: str | None = None
    issuer_level: str | None = None
    metrics: list[MetricRecord] = field(default_factory=list)


def issuer_key(doc: SeriesDoc) -> tuple[str, str | None] | None:
    """(name, county) of the issuer in its one normal form; None when the report names none."""
    level = doc.issuer_level or (issuer_level(doc.issuer) if doc.issuer else None)
    county = doc.county or (county_of(doc.issuer) if doc.issuer else None)
    if doc.township and level in (None, "township"):
        return f"township:{doc.township}", county
    if not doc.issuer:
        return None
    body = without_prefecture(bodies(doc.issuer)[-1])
    if level == "county_government":
        return f"county:{county or _ORGAN_END.sub('', body)}", county
    return f"body:{body}", county


def group_series(docs: Iterable[SeriesDoc]) -> list[list[SeriesDoc]]:
    """The documents of each issuer, in year order. A document without a county joins its name's
    group when there is exactly one county for that name."""
    by_name: dict[str, dict[str | None, list[SeriesDoc]]] = {}
    for doc in docs:
        key = issuer_key(doc)
        if key is not None and doc.year is not None:
            by_name.setdefault(key[0], {}).setdefault(key[1], []).append(doc)
    groups = []
    for counties in by_name.values():
        unnamed = counties.pop(None, [])
        if unnamed and len(counties) == 1:
            next(iter(counties.values())).extend(unnamed)
        elif unnamed:
            counties[None] = unnamed
        groups += [sorted(g, key=lambda d: (d.year or 0, d.doc_id)) for g in counties.values()]
    return groups


def series_findings(docs: Iterable[SeriesDoc]) -> dict[str, list[Finding]]:
    """doc_id -> the series findings of that document: each indicator that changed by more than
    FACTOR since the issuer's previous year that states it. Reports of the same year are not
    compared (two versions of one report are not a series)."""
    out: dict[str, list[Finding]] = {}
    for group in group_series(docs):
        for doc in group:
            out.setdefault(doc.doc_id, [])
        for earlier, later in zip(group, group[1:]):
            if earlier.year == later.year:
                continue
            out[later.doc_id] += _jumps(earlier, later)
    return out


def _values(doc: SeriesDoc) -> dict[str, MetricRecord]:
    """The indicator values a report states once (an indicator stated twice with different values
    is the duplicate check's finding, not a series point)."""
    seen: dict[str, list[MetricRecord]] = {}
    for m in sorted(doc.metrics, key=lambda m: m.char_start):
        if m.indicator and m.value_max is None:
            seen.setdefault(m.indicator, []).append(m)
    return {k: v[0] for k, v in seen.items() if len({(m.value, m.unit) for m in v}) == 1}


def _jumps(earlier: SeriesDoc, later: SeriesDoc) -> list[Finding]:
    before, after = _values(earlier), _values(later)
    found = []
    for indicator in sorted(before.keys() & after.keys()):
        a, b = before[indicator], after[indicator]
        if a.unit != b.unit or a.value <= 0 or b.value <= 0:
            continue  # a change from or to zero has no factor
        factor = b.value / a.value
        if factor > FACTOR or factor < 1 / FACTOR:
            found.append(Finding(
                "series_jump", f"series_jump:{indicator}:{b.char_start}-{b.char_end}:{earlier.year}", "warning",
                f"{indicator}: «{b.quote}» in {later.year} against «{a.quote}» in {earlier.year} "
                f"({value_shown(b.value)} / {value_shown(a.value)} = ×{factor:.3g}, beyond ×{FACTOR:g} either way)",
                metric_ids=(b.metric_id,), char_start=b.char_start, char_end=b.char_end,
                other_doc_id=earlier.doc_id))
    return found
