"""Who labels what code proposed: the model (through a Backend) or rules alone (the baseline).

Both answer the same four questions, so the pipeline, the store and the scoreboard treat them
the same way and every model is compared with what code alone achieves. Every model label is
checked against its own item; one that fails is re-asked once, then replaced by code's label and
counted as a fallback.
"""

from __future__ import annotations

import functools
import hashlib
import inspect
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from . import (
    answers,
    candidates,
    categories,
    issuers,
    labelcheck,
    lexicon,
    namequality,
    names,
    numbers,
    proposals,
    segment,
    words,
)
from .answers import (
    MetadataAnswer,
    MetricBatchAnswer,
    MetricLabel,
    ProblemLabel,
    answers_in_order,
    numbered,
    schema_version,
)
from .categories import settled_category
from .issuers import model_can_add, read_metadata, settle
from .prompts import Prompts
from .proposals import MetricBatch, MetricCandidate, ProblemItem
from .schemas import (
    LabelSource,
    MetricCategory,
    Namer,
    ProblemCategory,
    ReportMeta,
    SectionCategory,
    Usage,
)
from .segment import SectionSpan

if TYPE_CHECKING:  # the client (instructor, openai) is imported only by runs that use a model
    from .llm import Backend

HEAD_CHARS = 400
SUMMARY_CHARS = 25
TAIL_CHARS = 200


# The modules whose code decides what is proposed, how it is named and what is accepted: a change
# to any of them is a new extraction, so cached and stored results are redone, never mixed.
DECIDING_MODULES = (numbers, lexicon, candidates, names, namequality, words, proposals, segment, categories,
                    issuers, answers, labelcheck)


@functools.cache
def code_version() -> str:
    """A content hash of the deciding code (fixed for the life of a process: computed once)."""
    digest = hashlib.sha256()
    # The segmenter's dictionary decides word boundaries as much as our code does.
    digest.update(words.segmenter_version().encode())
    for module in DECIDING_MODULES:
        digest.update(inspect.getsource(module).encode())
    return digest.hexdigest()[:16]


def extraction_version(prompts: Prompts, names: Namer = "code") -> str:
    """What decides a model extraction besides the model: prompt templates, answer schemas, the
    deciding code and who names metrics, as one content hash."""
    key = f"{prompts.version}:{schema_version()}:{code_version()}:names={names}"
    return hashlib.sha256(key.encode()).hexdigest()[:16]


@dataclass(frozen=True)
class MetricName:
    """A metric's label and where it came from."""

    name: str
    category: MetricCategory
    source: LabelSource


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
                 names: Namer = "code") -> None:
        self.backend = backend
        self.prompts = prompts
        self.name = model
        self.names = names
        self.version = extraction_version(prompts, names)
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
        """Code names every item; the model categorises only the items whose words settle no category."""
        labels = [code_label(item) for item in batch.items]
        open_items = [k for k, item in enumerate(batch.items) if settled_category(item.context) is None]
        if not open_items:
            return labels, Usage()
        shown = [{"id": n + 1, "shown": batch.items[k].shown} for n, k in enumerate(open_items)]
        answer, usage = self.backend.complete(
            numbered("MetricCategories", MetricCategory, len(shown)),
            self.prompts.messages("metric_categories", candidates=shown),
        )
        for k, category in zip(open_items, answers_in_order(answer, len(shown))):
            labels[k] = MetricName(labels[k].name, category, "code")
        return labels, usage

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
                else MetricName(label.name, settled_category(item.context) or label.category, "model")
                for k, (item, label) in enumerate(zip(items, labels))], usage

    def problem_labels(self, items: list[ProblemItem]) -> tuple[list[ProblemLabel], Usage]:
        """Code summarises every item (the model's summaries scored below code's and cost most of
        the tokens it generated); the model categorises them."""
        answer, usage = self.backend.complete(
            numbered("ProblemCategories", ProblemCategory, len(items)),
            self.prompts.messages("problem_categories", items=items),
        )
        categories: list[ProblemCategory] = answers_in_order(answer, len(items))
        return [ProblemLabel(summary=code_summary(item), category=c) for item, c in zip(items, categories)], usage


def code_label(item: MetricCandidate, source: LabelSource = "code") -> MetricName:
    """What code alone calls the item (names.code_name); the category its words settle, else other."""
    name = item.code_name or item.candidate.quantity.unit
    return MetricName(name=name, category=settled_category(item.context) or "other", source=source)


def code_summary(item: ProblemItem) -> str:
    """The item's own opening words: an admitted shortcoming is stated first ("一是……不强")."""
    return item.quote[:SUMMARY_CHARS]


class RulesLabeller:
    """Code alone: names cut from the quote, categories where the clause's words settle them,
    metadata read from header, title and signature. The baseline every model is compared with."""

    name = "rules"

    def __init__(self) -> None:
        self.version = f"rules-{code_version()}"

    def section_categories(self, spans: list[SectionSpan]) -> tuple[dict[int, SectionCategory], Usage]:
        return {}, Usage()

    def metadata(self, text: str) -> tuple[MetadataResult, Usage]:
        return MetadataResult(read_metadata(text), []), Usage()

    def metric_labels(self, batch: MetricBatch) -> tuple[list[MetricName], Usage]:
        return [code_label(item) for item in batch.items], Usage()

    def problem_labels(self, items: list[ProblemItem]) -> tuple[list[ProblemLabel], Usage]:
        return [ProblemLabel(summary=code_summary(i), category="other") for i in items], Usage()
