"""Who labels what code proposed: the model (through a Backend) or rules alone (the baseline).

Both answer the same four questions, so the pipeline, the store and the scoreboard treat them
the same way and every model is compared with what code alone achieves. Every model label is
checked against its own item; one that fails is re-asked once, then replaced by code's label and
counted as a fallback.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from llm_extract import version
from llm_extract.label.answers import (
    NO_INDICATOR,
    MetadataAnswer,
    MetricBatchAnswer,
    MetricLabel,
    ProblemLabel,
    answers_in_order,
    choice_item,
    choices,
    numbered,
    schema_version,
)
from llm_extract.label import catalogue
from llm_extract.label.catalogue import assign as catalogue_assign
from llm_extract.label.catalogue.assign import Decision
from llm_extract.label.categories import settled_category
from llm_extract.label.issuers import model_can_add, read_metadata, settle
from llm_extract.label.prompts import Prompts
from llm_extract.label.proposals import MetricBatch, MetricCandidate, ProblemItem
from llm_extract.schemas import (
    Area,
    DecisionSource,
    LabelSource,
    ModelLabel,
    MetricCategory,
    Namer,
    ProblemCategory,
    ReportMeta,
    SectionCategory,
    Usage,
)
from llm_extract.propose.segment import SectionSpan

if TYPE_CHECKING:  # the client (instructor, openai) is imported only by runs that use a model
    from llm_extract.label.backend import Backend

HEAD_CHARS = 400
SUMMARY_CHARS = 25
TAIL_CHARS = 200


# What the model is asked for besides what code settles, field by field: each must earn its
# place against code alone on the gold set (docs/evaluation.md). Code decides the rest. Area,
# indicator and problem area are code's until the model is measured to beat it on them.
DEFAULT_MODEL_LABELS: tuple[ModelLabel, ...] = ("category",)


def extraction_version(prompts: Prompts, names: Namer = "code",
                       asks: tuple[ModelLabel, ...] | frozenset[ModelLabel] = DEFAULT_MODEL_LABELS) -> str:
    """What decides a model extraction besides the model (see `llm_extract.version`), with who
    names metrics and which labels the model is asked for."""
    return version.extraction_version(prompts.version, schema_version(), f"{names}:asks={','.join(sorted(asks))}")


@dataclass(frozen=True)
class MetricName:
    """A metric's label and where it came from."""

    name: str
    category: MetricCategory
    source: LabelSource
    area: Area | None = None
    area_source: DecisionSource | None = None
    indicator: str | None = None
    indicator_source: DecisionSource | None = None


@dataclass(frozen=True)
class MetadataResult:
    meta: ReportMeta
    rejected: list[str]  # model answers that did not occur in the text


class Labeller(Protocol):
    name: str
    version: str

    def section_categories(self, spans: list[SectionSpan]) -> tuple[dict[int, SectionCategory], Usage]:
        """Categories for level-1 headings that code could not settle."""
        ...
    def metadata(self, text: str) -> tuple[MetadataResult, Usage]: ...
    def metric_labels(self, batch: MetricBatch) -> tuple[list[MetricName], Usage]: ...
    def problem_labels(self, items: list[ProblemItem]) -> tuple[list[ProblemLabel], Usage]: ...


class LLMLabeller:
    """Asks the model, through prompts/ templates, for what needs language."""

    def __init__(self, backend: Backend, prompts: Prompts, model: str, reasks: int = 1,
                 names: Namer = "code", asks: tuple[ModelLabel, ...] = DEFAULT_MODEL_LABELS) -> None:
        self.backend = backend
        self.prompts = prompts
        self.name = model
        self.names = names
        self.asks = frozenset(asks)
        self.version = extraction_version(prompts, names, self.asks)
        self.reasks = reasks  # how many times the backend re-asks an invalid answer

    def section_categories(self, spans: list[SectionSpan]) -> tuple[dict[int, SectionCategory], Usage]:
        if not spans:
            return {}, Usage()
        listed = [{"id": i + 1, "title": s.title} for i, s in enumerate(spans)]
        answer, usage = self.backend.complete(
            numbered("Sections", SectionCategory, len(listed)),
            self.prompts.messages("sections", sections=listed),
        )
        categories = answers_in_order(answer, len(spans))
        return {s.index: category for s, category in zip(spans, categories)}, usage

    def metadata(self, text: str) -> tuple[MetadataResult, Usage]:
        code = read_metadata(text)
        if not model_can_add(code):
            return MetadataResult(code, []), Usage()
        stripped = text.strip()
        context: dict[str, Any] = {"source": text}
        answer, usage = self.backend.complete(
            MetadataAnswer,
            self.prompts.messages("metadata", head=stripped[:HEAD_CHARS], tail=stripped[-TAIL_CHARS:]),
            context=context,
        )
        rejected: list[str] = list(context.get("rejected", []))  # filled by the validator
        said = ReportMeta(township=answer.township, county=answer.county, year=answer.year,
                          issuer=answer.issuer, report_date=answer.parsed_date())
        return MetadataResult(settle(code, said), rejected), usage

    def metric_labels(self, batch: MetricBatch) -> tuple[list[MetricName], Usage]:
        if self.names == "code":
            return self._metric_categories(batch)
        return self._metric_names(batch)

    def _metric_categories(self, batch: MetricBatch) -> tuple[list[MetricName], Usage]:
        """Code names every item and settles what its words settle; the model chooses, among
        code's shortlist, only what is left open (category, area, indicator), in one request."""
        labels = [code_label(item) for item in batch.items]
        asked = [(k, self._open_fields(item)) for k, item in enumerate(batch.items)]
        asked = [(k, fields) for k, fields in asked if any(fields)]
        if not asked:
            return labels, Usage()
        shown = [{"id": n + 1, "shown": batch.items[k].shown, "areas": _described_areas(areas),
                  "indicators": _described_indicators(indicators)}
                 for n, (k, (_, areas, indicators)) in enumerate(asked)]
        context: dict[str, Any] = {
            "kinds": [_kind(batch.items[k]) for k, _ in asked],
            "areas": [None if areas else labels[k].area for k, (_, areas, _) in asked],
            "reasks": self.reasks,
        }
        answer, usage = self.backend.complete(
            choices("MetricCategories", tuple(choice_item(*fields) for _, fields in asked)),
            self.prompts.messages("metric_categories", candidates=shown),
            context=context,
        )
        refused = set(context.get("refused", []))
        for n, ((k, (category, areas, indicators)), choice) in enumerate(zip(asked, answers_in_order(answer, len(asked)))):
            label = labels[k]
            updates: dict[str, Any] = {}
            if category is not None:
                updates["category"] = choice.category
            if areas:
                updates |= {"area": choice.area, "area_source": "model"}
            if indicators:
                chosen = None if n in refused or choice.indicator == NO_INDICATOR else choice.indicator
                updates |= {"indicator": chosen, "indicator_source": "fallback" if n in refused else "model"}
            labels[k] = dataclasses.replace(label, **updates)
        return labels, usage

    def _open_fields(self, item: MetricCandidate) -> tuple[object | None, tuple[str, ...], tuple[str, ...]]:
        """What code left open for the model, among what it is asked for: the category type (or
        None), the area shortlist and the indicator shortlist (empty when settled)."""
        category = MetricCategory if "category" in self.asks and settled_category(item.context) is None else None
        a = item.assignment
        if a is None:
            return category, (), ()
        areas = a.area.shortlist if "area" in self.asks and not a.area.settled and len(a.area.shortlist) > 1 else ()
        indicators = a.indicator.shortlist if "indicator" in self.asks and not a.indicator.settled else ()
        return category, areas, indicators

    def _metric_names(self, batch: MetricBatch) -> tuple[list[MetricName], Usage]:
        """The model names and categorises every item; names are checked against their own item."""
        items = batch.items
        context: dict[str, Any] = {"contexts": [i.context for i in items], "reasks": self.reasks}
        answer, usage = self.backend.complete(
            numbered("Metrics", MetricLabel, len(items), MetricBatchAnswer),
            self.prompts.messages("metrics", candidates=items),
            context=context,
        )
        labels: list[MetricLabel] = answers_in_order(answer, len(items))
        fallback = set(context.get("misaligned", []))
        return [code_label(item, "fallback") if k in fallback
                else dataclasses.replace(code_label(item), name=label.name,
                                         category=settled_category(item.context) or label.category, source="model")
                for k, (item, label) in enumerate(zip(items, labels))], usage

    def problem_labels(self, items: list[ProblemItem]) -> tuple[list[ProblemLabel], Usage]:
        """Code summarises every item (the model's summaries scored below code's and cost most of
        the tokens it generated); the model categorises them and chooses the area among code's
        shortlist where the first sentence does not settle it."""
        open_areas = [_problem_shortlist(item) if "problem_area" in self.asks else () for item in items]
        shown = [{"id": item.id, "quote": item.quote, "areas": _described_areas(areas)}
                 for item, areas in zip(items, open_areas)]
        answer, usage = self.backend.complete(
            choices("ProblemCategories", tuple(choice_item(ProblemCategory, areas) for areas in open_areas)),
            self.prompts.messages("problem_categories", items=shown),
        )
        labels = []
        for item, areas, choice in zip(items, open_areas, answers_in_order(answer, len(items))):
            label = code_problem_label(item, choice.category)
            if areas:
                label = label.model_copy(update={"area": choice.area, "area_source": "model"})
            labels.append(label)
        return labels, usage


def code_label(item: MetricCandidate, source: LabelSource = "code") -> MetricName:
    """What code alone calls the item (names.code_name); the category its words settle, else
    other; code's area and indicator (catalogue.assign), decided by code."""
    name = item.code_name or item.candidate.quantity.unit
    label = MetricName(name=name, category=settled_category(item.context) or "other", source=source)
    if item.assignment is None:
        return label
    return dataclasses.replace(label, area=item.assignment.area.value, area_source="code",
                               indicator=item.assignment.indicator.value, indicator_source="code")


def code_problem_label(item: ProblemItem, category: ProblemCategory = "other") -> ProblemLabel:
    """Code's summary and area (from the first sentence) for a problem item."""
    area = item.area.value if item.area is not None else None
    return ProblemLabel(summary=code_summary(item), category=category, area=area,
                        area_source="code" if area is not None else None)


def _problem_shortlist(item: ProblemItem) -> tuple[str, ...]:
    decision: Decision | None = item.area
    if decision is None or decision.settled or len(decision.shortlist) < 2:
        return ()
    return decision.shortlist


def _kind(item: MetricCandidate) -> str:
    return item.assignment.kind if item.assignment is not None else catalogue_assign.value_kind(item.candidate.quantity.unit)


def _described_areas(areas: tuple[str, ...]) -> list[dict[str, str]]:
    """Each area of a shortlist with its Chinese label, for the prompt."""
    by_id = catalogue.load().area_by_id
    return [{"id": a, "label": by_id[a].label} for a in areas]


def _described_indicators(indicators: tuple[str, ...]) -> list[dict[str, str]]:
    by_id = catalogue.load().indicator_by_id
    return [{"id": i, "label": by_id[i].label} for i in indicators]


def code_summary(item: ProblemItem) -> str:
    """The item's own opening words: an admitted shortcoming is stated first ("一是……不强")."""
    return item.quote[:SUMMARY_CHARS]


class RulesLabeller:
    """Code alone: names cut from the quote, categories where the clause's words settle them,
    metadata read from header, title and signature. The baseline every model is compared with."""

    name = "rules"

    def __init__(self) -> None:
        self.version = f"rules-{version.code_version()}"

    def section_categories(self, spans: list[SectionSpan]) -> tuple[dict[int, SectionCategory], Usage]:
        return {}, Usage()

    def metadata(self, text: str) -> tuple[MetadataResult, Usage]:
        return MetadataResult(read_metadata(text), []), Usage()

    def metric_labels(self, batch: MetricBatch) -> tuple[list[MetricName], Usage]:
        return [code_label(item) for item in batch.items], Usage()

    def problem_labels(self, items: list[ProblemItem]) -> tuple[list[ProblemLabel], Usage]:
        return [code_problem_label(i) for i in items], Usage()
