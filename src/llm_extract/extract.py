"""One document in, grounded records out. Code proposes and grounds; the labeller labels.

Nothing reaches the records unless it is grounded: every quote is located in the source by
`ground` (offsets computed, never taken from the model) and every metric value is re-parsed
from its stored quote.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

from .answers import MetricLabel, ProblemLabel
from .documents import Document
from .errors import ModelOutputError
from .ground import NormalisedText, ground
from .labellers import Labeller
from .llm import TruncatedOutput
from .numbers import find_quantities, values_equal
from .proposals import MetricBatch, MetricCandidate, ProblemItem, heading_category, metric_batches, problem_items
from .schemas import Extraction, MetricRecord, ProblemRecord, ReportMeta, SectionCategory, SectionRecord, Usage
from .segment import SectionSpan, section_at, segment

T = TypeVar("T")
Progress = Callable[[str], None]


def document_title(text: str) -> str | None:
    """The first non-empty line that is not a heading or debris, for display."""
    for line in text.split("\n")[:8]:
        line = line.strip().lstrip("#").strip()
        if len(line) >= 6 and "报告" in line:
            return line
    return None


def extract_document(doc: Document, labeller: Labeller, concurrency: int = 1,
                     progress: Progress | None = None) -> Extraction:
    started = time.monotonic()
    text = doc.text
    result = Extraction(doc_id=doc.doc_id, path=str(doc.path), title=document_title(text))
    spans = segment(text)
    tick = progress or (lambda _step: None)

    # Code settles the headings whose words say it; the labeller reads the rest.
    by_rule = {s.index: heading_category(s.title) for s in spans if s.level == 1}
    categories: dict[int, SectionCategory | None] = dict(by_rule)
    undecided = [s for s in spans if s.level == 1 and by_rule[s.index] is None]
    if undecided:
        no_answer: dict[int, SectionCategory] = {}
        categories.update(_step(result, "sections", lambda: labeller.section_categories(undecided), no_answer))
    result.sections = [
        SectionRecord(section_id=s.index, parent_id=s.parent, level=s.level, number=s.number,
                      title=s.title, category=categories.get(s.index) if s.level == 1 else None,
                      char_start=s.char_start, char_end=s.char_end)
        for s in spans
    ]
    tick("sections")

    no_meta: ReportMeta | None = None
    meta = _step(result, "metadata", lambda: _metadata(labeller, text, result), no_meta)
    if meta is not None:
        result.meta = meta
    tick("metadata")

    batches = metric_batches(text)
    with ThreadPoolExecutor(max_workers=max(1, concurrency)) as pool:
        futures = [pool.submit(_label_batch, labeller, batch) for batch in batches]
        index = NormalisedText(text)
        for batch, future in zip(batches, futures):
            try:
                labels, usage = future.result()
            except ModelOutputError as exc:
                result.failed_steps.append(f"metrics: {exc}")
                continue
            result.usage.add(usage)
            _add_metrics(result, text, index, spans, batch.items, labels)
            tick("metrics")

    problem_spans = [s for s in spans if by_rule.get(s.index) == "problems"]
    for span in problem_spans:
        items = problem_items(text, span)
        if not items:
            continue
        no_labels: list[ProblemLabel] = []
        problem_labels = _step(result, f"problems {span.number}", lambda: labeller.problem_labels(items), no_labels)
        _add_problems(result, text, span, items, problem_labels)
        tick("problems")

    result.seconds = time.monotonic() - started
    return result


def _metadata(labeller: Labeller, text: str, result: Extraction) -> tuple[ReportMeta, Usage]:
    meta, rejected, usage = labeller.metadata(text)
    result.dropped += len(rejected)
    return meta, usage


def _step(result: Extraction, name: str, call: Callable[[], tuple[T, Usage]], fallback: T) -> T:
    """Run one labelling step; a step that stays malformed is recorded, and the document goes on."""
    try:
        value, usage = call()
    except ModelOutputError as exc:
        result.failed_steps.append(f"{name}: {exc}")
        return fallback
    result.usage.add(usage)
    return value


def _label_batch(labeller: Labeller, batch: MetricBatch) -> tuple[list[MetricLabel], Usage]:
    """Label a batch; when the answer is cut off at max_tokens, split the batch, don't retry blindly."""
    try:
        return labeller.metric_labels(batch)
    except TruncatedOutput:
        if len(batch.items) == 1:
            raise
        half = len(batch.items) // 2
        labels: list[MetricLabel] = []
        usage = Usage()
        for part in (batch.items[:half], batch.items[half:]):
            part_labels, part_usage = _label_batch(labeller, MetricBatch(part))
            labels += part_labels
            usage.add(part_usage)
        return labels, usage


def _add_metrics(result: Extraction, text: str, index: NormalisedText, spans: list[SectionSpan],
                 items: list[MetricCandidate], labels: list[MetricLabel]) -> None:
    for item, label in zip(items, labels, strict=True):
        quantity = item.candidate.quantity
        grounding = ground(text, item.quote, near=item.candidate.quote_start, index=index)
        if grounding is None or not _value_parses(grounding.quote, quantity.value, quantity.value_max):
            result.dropped += 1  # never stored as fact
            continue
        section = section_at(spans, grounding.char_start)
        result.metrics.append(MetricRecord(
            metric_id=len(result.metrics), section_id=section.index if section else None,
            name=label.name, value=quantity.value, value_max=quantity.value_max, unit=quantity.unit,
            approx=quantity.approx, category=label.category, quote=grounding.quote,
            char_start=grounding.char_start, char_end=grounding.char_end, alignment=grounding.alignment.value,
        ))


def _value_parses(quote: str, value: float, value_max: float | None) -> bool:
    """A metric's value must be one the number parser reads from its own quote."""
    return any(values_equal(q.value, value) and values_equal(q.value_max, value_max)
               for q in find_quantities(quote))


def _add_problems(result: Extraction, text: str, span: SectionSpan, items: list[ProblemItem],
                  labels: list[ProblemLabel]) -> None:
    for item, label in zip(items, labels):  # labels is empty when the step failed
        grounding = ground(text, item.quote, near=item.start, within=(span.char_start, span.char_end))
        if grounding is None:
            result.dropped += 1
            continue
        result.problems.append(ProblemRecord(
            problem_id=len(result.problems), section_id=span.index, summary=label.summary,
            category=label.category, quote=grounding.quote, char_start=grounding.char_start,
            char_end=grounding.char_end, alignment=grounding.alignment.value,
        ))
