"""Core record types. These never import the client, the store or the CLI."""

from __future__ import annotations

from datetime import date
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
AlignmentStatus = Literal["exact", "normalised", "ungrounded"]


class ReportMeta(BaseModel):
    township: str | None = None
    county: str | None = None
    year: int | None = None
    issuer: str | None = None
    report_date: date | None = None


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
    alignment: AlignmentStatus = "exact"


class ProblemRecord(BaseModel):
    problem_id: int
    section_id: int | None
    summary: str
    category: ProblemCategory
    quote: str
    char_start: int
    char_end: int
    alignment: AlignmentStatus = "exact"


class Usage(BaseModel):
    calls: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0

    def add(self, other: Usage) -> None:
        self.calls += other.calls
        self.prompt_tokens += other.prompt_tokens
        self.completion_tokens += other.completion_tokens


class Extraction(BaseModel):
    """Everything extracted from one document, grounded, ready to store or score."""

    doc_id: str
    path: str
    title: str | None = None
    meta: ReportMeta = Field(default_factory=ReportMeta)
    sections: list[SectionRecord] = Field(default_factory=list)
    metrics: list[MetricRecord] = Field(default_factory=list)
    problems: list[ProblemRecord] = Field(default_factory=list)
    dropped: int = 0  # items the model proposed that could not be grounded
    failed_steps: list[str] = Field(default_factory=list)  # steps that failed after re-asks
    usage: Usage = Field(default_factory=Usage)
    seconds: float = 0.0

    @property
    def status(self) -> str:
        return "partial" if self.failed_steps else "ok"
