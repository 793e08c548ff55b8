"""Who labels what code proposed: the model (through a Backend) or rules alone (the baseline).

Both answer the same four questions, so the pipeline, the store and the scoreboard treat them
the same way and every model is compared with what code alone achieves.
"""

from __future__ import annotations

import hashlib
from typing import Any, Protocol

from .answers import MetadataAnswer, MetricLabel, ProblemLabel, answers_in_order, numbered, schema_version
from .llm import Backend
from .prompts import Prompts
from .proposals import MetricBatch, ProblemItem
from .schemas import ReportMeta, SectionCategory, Usage
from .segment import SectionSpan

HEAD_CHARS = 400


def extraction_version(prompts: Prompts) -> str:
    """What decides an extraction besides the model: the prompt templates and answer schemas."""
    return hashlib.sha256(f"{prompts.version}:{schema_version()}".encode()).hexdigest()[:16]
TAIL_CHARS = 200


class Labeller(Protocol):
    name: str
    version: str

    def section_categories(self, spans: list[SectionSpan]) -> tuple[dict[int, SectionCategory], Usage]:
        """Categories for level-1 headings that code could not settle."""
        ...
    def metadata(self, text: str) -> tuple[ReportMeta, list[str], Usage]: ...
    def metric_labels(self, batch: MetricBatch) -> tuple[list[MetricLabel], Usage]: ...
    def problem_labels(self, items: list[ProblemItem]) -> tuple[list[ProblemLabel], Usage]: ...


class LLMLabeller:
    """Asks the model, through prompts/ templates, for what needs language."""

    def __init__(self, backend: Backend, prompts: Prompts, model: str) -> None:
        self.backend = backend
        self.prompts = prompts
        self.name = model
        self.version = extraction_version(prompts)

    def section_categories(self, spans: list[SectionSpan]) -> tuple[dict[int, SectionCategory], Usage]:
        level1 = spans
        if not level1:
            return {}, Usage()
        listed = [{"id": i + 1, "title": s.title} for i, s in enumerate(level1)]
        answer, usage = self.backend.complete(
            numbered("Sections", SectionCategory, len(listed)),
            self.prompts.messages("sections", sections=listed),
        )
        categories = answers_in_order(answer, len(level1))
        return {s.index: category for s, category in zip(level1, categories)}, usage

    def metadata(self, text: str) -> tuple[ReportMeta, list[str], Usage]:
        stripped = text.strip()
        context: dict[str, Any] = {"source": text}
        answer, usage = self.backend.complete(
            MetadataAnswer,
            self.prompts.messages("metadata", head=stripped[:HEAD_CHARS], tail=stripped[-TAIL_CHARS:]),
            context=context,
        )
        rejected: list[str] = list(context.get("rejected", []))  # filled by the validator
        meta = ReportMeta(township=answer.township, county=answer.county, year=answer.year,
                          issuer=answer.issuer, report_date=answer.parsed_date())
        return meta, rejected, usage

    def metric_labels(self, batch: MetricBatch) -> tuple[list[MetricLabel], Usage]:
        answer, usage = self.backend.complete(
            numbered("Metrics", MetricLabel, len(batch.items)),
            self.prompts.messages("metrics", candidates=batch.items),
        )
        return answers_in_order(answer, len(batch.items)), usage

    def problem_labels(self, items: list[ProblemItem]) -> tuple[list[ProblemLabel], Usage]:
        answer, usage = self.backend.complete(
            numbered("Problems", ProblemLabel, len(items)), self.prompts.messages("problems", items=items),
        )
        return answers_in_order(answer, len(items)), usage


class RulesLabeller:
    """Code alone: names cut from the quote, no categories, no metadata. The baseline."""

    name = "rules"
    version = "rules-2"

    def section_categories(self, spans: list[SectionSpan]) -> tuple[dict[int, SectionCategory], Usage]:
        return {}, Usage()

    def metadata(self, text: str) -> tuple[ReportMeta, list[str], Usage]:
        return ReportMeta(), [], Usage()

    def metric_labels(self, batch: MetricBatch) -> tuple[list[MetricLabel], Usage]:
        labels = [MetricLabel(name=item.code_name or item.candidate.quantity.unit, category="other")
                  for item in batch.items]
        return labels, Usage()

    def problem_labels(self, items: list[ProblemItem]) -> tuple[list[ProblemLabel], Usage]:
        return [ProblemLabel(summary=i.quote[:25], category="other") for i in items], Usage()
