"""Core record types. These never import the client, the store or the CLI."""

from __future__ import annotations

from datetime import date
from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, Field

SectionCategory = Literal[
    "achievements", "duties", "problems", "plans", "court_judgments", "suggestions", "other"
]
MetricCategory = Literal[
    "study_training", "publicity", "enforcement", "disputes_petitions",
    "transparency_supervision", "safety", "legal_services", "community_correction",
    "grid_governance", "other",
]
ProblemCategory = Literal[
    "legal_awareness", "publicity", "personnel", "enforcement", "decision_making",
    "disputes", "efficiency", "other",
]
# Who issued the report: decided by code from the issuer's own words (see `issuers`).
IssuerLevel = Literal["township", "county_department", "county_government", "other"]
# Where a stored metric name came from: the model's answer; code's, after the model's failed its
# check against its own item (a fallback, counted); or code's by design (see Settings.names).
LabelSource = Literal["model", "fallback", "code"]
# The areas of the national framework (《法治政府建设实施纲要（2021—2025年）》 chapters 二 to 十, plus
# 普法 and 公共法律服务): the comparable class of every metric and problem, decided by what is
# counted (a problem: by what its first sentence says is lacking). Definitions live as data in
# `catalogue`; `category` stays for compatibility and means the older township scheme.
Area = Literal[
    "leadership", "study", "functions_services", "rules", "decisions", "enforcement",
    "emergency", "disputes", "oversight", "digital", "publicity", "legal_services", "other",
]
# Who decided an area or an indicator: code alone, the model among code's shortlist, code's choice
# after the model's failed its check (a fallback, counted), or a reviewer.
DecisionSource = Literal["code", "model", "fallback", "review"]
# Who names metrics: code (the default: measured better than the embedded model, see README) or
# the model, every name checked against its own item.
Namer = Literal["code", "model"]
# What the model may be asked to choose, among code's shortlist, where code's words leave it open:
# a metric's category, area and indicator, a problem's area (a problem's category is always asked).
ModelLabel = Literal["category", "area", "indicator", "problem_area"]


class Alignment(StrEnum):
    """How a stored quote was located in the source; the one vocabulary for grounding."""

    # Every stored quote is the source's characters at offsets code computed where it found the
    # item; the column stays so that another way of locating quotes would have to say so.
    EXACT = "exact"


class ReportMeta(BaseModel):
    township: str | None = None
    county: str | None = None
    year: int | None = None
    issuer: str | None = None
    report_date: date | None = None
    issuer_level: IssuerLevel | None = None


class SectionRecord(BaseModel):
    section_id: int
    parent_id: int | None
    level: int
    number: str
    title: str
    category: SectionCategory | None = None
    char_start: int
    char_end: int


class MetricRecord(BaseModel):
    metric_id: int
    section_id: int | None
    name: str
    value: float
    value_max: float | None = None
    unit: str
    approx: bool
    category: MetricCategory
    quote: str
    char_start: int
    char_end: int
    alignment: Alignment = Alignment.EXACT
    label_source: LabelSource = "model"
    # Comparable labels (see `Area` and the indicator catalogue): NULL indicator = not one of the
    # catalogue's quantities for the whole reporting body and year.
    area: Area | None = None
    area_source: DecisionSource | None = None
    indicator: str | None = None
    indicator_source: DecisionSource | None = None


class ProblemRecord(BaseModel):
    problem_id: int
    section_id: int | None
    summary: str
    category: ProblemCategory
    quote: str
    char_start: int
    char_end: int
    alignment: Alignment = Alignment.EXACT
    area: Area | None = None
    area_source: DecisionSource | None = None


class PageRecord(BaseModel):
    """Characters [char_start, char_end) of a document's text are on page `page` (1-based), for
    formats that have pages (PDF)."""

    page: int
    char_start: int
    char_end: int


class Usage(BaseModel):
    calls: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0

    def add(self, other: Usage) -> None:
        self.calls += other.calls
        self.prompt_tokens += other.prompt_tokens
        self.completion_tokens += other.completion_tokens


class Extraction(BaseModel):
    """Everything extracted from one document, grounded, with its text and provenance: what
    `Store.save` needs, in one value."""

    doc_id: str
    path: str
    text: str = ""  # the decoded (or converted) source every offset points into
    source_format: str = "txt"  # txt, md, docx, pdf, html, doc, wps
    converter: str | None = None  # what made `text` from the file's bytes, with its version
    pages: list[PageRecord] = Field(default_factory=list)
    model: str = ""
    prompt_version: str = ""
    run_id: str | None = None
    base_url: str | None = None
    title: str | None = None
    meta: ReportMeta = Field(default_factory=ReportMeta)
    sections: list[SectionRecord] = Field(default_factory=list)
    metrics: list[MetricRecord] = Field(default_factory=list)
    problems: list[ProblemRecord] = Field(default_factory=list)
    dropped: int = 0  # items that could not be grounded: the model's, and numbers split by a line break
    fallbacks: int = 0  # model labels that failed their check against their own item; code's used
    failed_steps: list[str] = Field(default_factory=list)  # steps that failed after re-asks
    usage: Usage = Field(default_factory=Usage)
    seconds: float = 0.0

    @property
    def status(self) -> str:
        return "partial" if self.failed_steps else "ok"

    def page_at(self, offset: int) -> int | None:
        """The page a character is on, when the source had pages."""
        for page in self.pages:
            if page.char_start <= offset < page.char_end:
                return page.page
        return None
