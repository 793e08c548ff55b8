"""The gold-set file format: one hand-labelled JSON per report (see gold/GUIDE.md)."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from .candidates import find_candidates
from .numbers import find_quantities, values_equal
from .schemas import Area, IssuerLevel, MetricCategory, ProblemCategory, SectionCategory


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class GoldSection(_Strict):
    number: str
    title: str
    level: int = Field(ge=1, le=3)
    category: SectionCategory | None = None
    char_start: int = Field(ge=0)


class GoldMetric(_Strict):
    quote: str = Field(min_length=1)
    char_start: int = Field(ge=0)
    name: str
    value: float
    value_max: float | None = None
    unit: str
    approx: bool
    category: MetricCategory
    # Comparable labels (gold/GUIDE.md, "Areas and indicators"); None in files labelled before them.
    area: Area | None = None
    indicator: str | None = None  # an indicator id, or None: not one of its quantities for the whole body and year

    @property
    def char_end(self) -> int:
        return self.char_start + len(self.quote)


class GoldProblem(_Strict):
    quote: str = Field(min_length=1)
    char_start: int = Field(ge=0)
    summary: str
    category: ProblemCategory
    area: Area | None = None

    @property
    def char_end(self) -> int:
        return self.char_start + len(self.quote)


class GoldDocument(_Strict):
    doc: str
    township: str | None
    county: str | None
    year: int | None
    issuer: str | None
    report_date: date | None
    issuer_level: IssuerLevel | None = None
    split: str = "gold"  # "validation" for reports labelled after the rules were written
    sections: list[GoldSection]
    metrics: list[GoldMetric]
    problems: list[GoldProblem]


def load_gold(path: Path) -> GoldDocument:
    return GoldDocument.model_validate(json.loads(path.read_text(encoding="utf-8")))


def load_gold_dir(folder: Path) -> dict[str, GoldDocument]:
    """Gold documents keyed by report file name."""
    docs = {}
    for path in sorted(folder.glob("*.json")):
        gold = load_gold(path)
        docs[gold.doc] = gold
    return docs


def integrity_errors(gold: GoldDocument, text: str) -> list[str]:
    """What tests/test_gold.py would refuse in a gold document over its report text: a quote not
    at its offset, a section not starting at its numeral, a label the number parser disagrees
    with (value, range, approx, unit). Empty when the document is sound."""
    errors = []
    items: list[GoldMetric | GoldProblem] = [*gold.metrics, *gold.problems]
    for item in items:
        if text[item.char_start:item.char_start + len(item.quote)] != item.quote:
            errors.append(f"{item.quote!r} is not the text at {item.char_start}")
    for section in gold.sections:
        if section.char_start >= len(text) or text[section.char_start] not in "（(" + section.number[0]:
            errors.append(f"section {section.number} {section.title!r} does not start at {section.char_start}")
    for metric in gold.metrics:
        same = [q for q in find_quantities(metric.quote) if values_equal(q.value, metric.value)]
        if not same:
            errors.append(f"{metric.quote!r}: labelled {metric.value:g}, which the parser does not read")
            continue
        q = same[0]
        if not values_equal(q.value_max, metric.value_max) or q.approx != metric.approx or q.unit != metric.unit:
            errors.append(f"{metric.quote!r}: labelled {metric.unit}/approx={metric.approx}/max={metric.value_max}, "
                          f"the parser reads {q.unit}/approx={q.approx}/max={q.value_max}")
    return errors


def unexplained_numbers(gold: GoldDocument, text: str) -> list[str]:
    """Count-like numbers of the text that are neither labelled nor excluded by a rule of the
    guide (test_gold's completeness check): in a reviewed document, what the reviewer rejected."""
    labelled = [(m.char_start, m.char_end, m.value) for m in gold.metrics]
    found = []
    for c in find_candidates(text):
        q = c.quantity
        if c.exclusion is None and not any(s <= q.num_start < e and values_equal(v, q.value) for s, e, v in labelled):
            found.append(text[max(0, q.start - 10):q.end])
    return found
