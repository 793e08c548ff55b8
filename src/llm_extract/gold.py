"""The gold-set file format: one hand-labelled JSON per report (see gold/GUIDE.md)."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from .schemas import IssuerLevel, MetricCategory, ProblemCategory, SectionCategory


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

    @property
    def char_end(self) -> int:
        return self.char_start + len(self.quote)


class GoldProblem(_Strict):
    quote: str = Field(min_length=1)
    char_start: int = Field(ge=0)
    summary: str
    category: ProblemCategory

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
