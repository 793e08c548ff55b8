"""One document in, grounded records out. Code proposes and grounds; the labeller labels.

Offsets are code's: every quote is cut from the text at offsets code computed when it found the
number or split the problem item, and flows here as data; nothing the model says moves it. Every
metric value is re-parsed from its stored quote, and what does not parse is dropped and counted.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from concurrent.futures import Executor, Future, ThreadPoolExecutor
from concurrent.futures import wait as wait_for
from functools import partial
from typing import Any, Generic, TypeVar, cast

from llm_extract.label.answers import ProblemLabel
from llm_extract.propose.candidates import mask, split_count
from llm_extract.ingest.documents import Document
from llm_extract.errors import ModelOutputError, TruncatedOutput
from llm_extract.label.issuers import title_line
from llm_extract.label.labellers import Labeller, MetadataResult, MetricName
from llm_extract.propose.numbers import find_quantities, values_equal
from llm_extract.label.proposals import (
    MetricBatch,
    MetricCandidate,
    ProblemItem,
    heading_category,
    metric_batches,
    problem_items,
)
from llm_extract.schemas import (
    Extraction,
    MetricRecord,
    PageRecord,
    ProblemRecord,
    SectionCategory,
    SectionRecord,
    Usage,
)
from llm_extract.propose.segment import SectionSpan, section_at, segment

T = TypeVar("T")
F = TypeVar("F")


def extract_document(doc: Document, labeller: Labeller, concurrency: int = 1,
                     requests: Executor | None = None) -> Extraction:
    """Sections, metadata, metrics and problems of one document; a step that fails after its
    re-asks is recorded in `failed_steps` and the document goes on (status `partial`).

    Every model call of a document is independent of the others, so all are submitted at once:
    a server with parallel slots decodes them together. Results are taken in a fixed order, so
    ids and stored rows do not depend on which answer came first. `requests` is a pool shared
    with other documents (a run's: its size is the requests in flight across documents); without
    it the document gets its own pool of `concurrency` workers, or none for one at a time.
    """
    started = time.monotonic()
    text = doc.text
    result = Extraction(doc_id=doc.doc_id, path=str(doc.path), text=text, title=title_line(text),
                        model=labeller.name, prompt_version=labeller.version,
                        source_format=doc.source_format, converter=doc.converter,
                        pages=[PageRecord(page=p, char_start=a, char_end=b) for p, a, b in doc.pages])
    spans = segment(text)
    # Code settles the level-1 headings whose words say it; the labeller reads the rest.
    categories: dict[int, SectionCategory | None] = {s.index: heading_category(s.title) for s in spans if s.level == 1}
    undecided = [s for s in spans if s.level == 1 and categories[s.index] is None]
    # Generated list labels (Word numbering) are not the report's words: no number is read in them.
    batches = metric_batches(text, generated=doc.generated, spans=spans)
    # A number a line break splits (a wrap the converter did not join) is refused, and counted.
    result.dropped += split_count(text, doc.generated)
    problem_sections = _problem_sections(text, spans, doc.generated)
    pool: _Borrowed | ThreadPoolExecutor | _InOrder
    if requests is not None:
        pool = _Borrowed(requests)
    else:
        pool = ThreadPoolExecutor(max_workers=concurrency) if concurrency > 1 else _InOrder()
    with pool:
        asked_sections = pool.submit(labeller.section_categories, undecided) if undecided else None
        asked_meta = pool.submit(labeller.metadata, text)
        asked_metrics = [pool.submit(label_batch, labeller, batch) for batch in batches]
        asked_problems = [pool.submit(labeller.problem_labels, items) for _, items in problem_sections]
        try:
            if asked_sections is not None:
                no_answer: dict[int, SectionCategory] = {}
                answered: dict[int, SectionCategory] = _take(result, "sections", asked_sections, no_answer)
                categories.update(answered)
            result.sections = [
                SectionRecord(section_id=s.index, parent_id=s.parent, level=s.level, number=s.number,
                              title=s.title, category=categories.get(s.index) if s.level == 1 else None,
                              char_start=s.char_start, char_end=s.char_end)
                for s in spans
            ]
            no_meta: MetadataResult | None = None
            meta = _take(result, "metadata", asked_meta, no_meta)
            if meta is not None:
                result.meta = meta.meta
                result.dropped += len(meta.rejected)
            for batch, asked_batch in zip(batches, asked_metrics):
                no_names: list[MetricName] = []
                names = _take(result, "metrics", asked_batch, no_names)
                if names:  # none when the batch's step failed: its numbers are not stored unlabelled
                    _add_metrics(result, spans, batch.items, names)
            for (span, items), asked in zip(problem_sections, asked_problems):
                no_labels: list[ProblemLabel] = []
                _add_problems(result, span, items, _take(result, f"problems {span.number}", asked, no_labels))
        except BaseException:
            pool.shutdown(wait=True, cancel_futures=True)  # the endpoint failed: ask nothing more
            raise
    result.seconds = time.monotonic() - started
    return result


class _Later(Generic[T]):
    """A call made when its answer is first wanted: with one request at a time, a failure stops
    the document before anything after it is asked, as when the steps were called one by one."""

    def __init__(self, call: Callable[[], T]) -> None:
        self._call = call
        self._done = False
        self._value: T | None = None

    def result(self) -> T:
        if not self._done:
            self._value = self._call()
            self._done = True
        return cast(T, self._value)


class _InOrder:
    """The executor for one request at a time: nothing runs until its answer is taken."""

    def __enter__(self) -> _InOrder:
        return self

    def __exit__(self, *exc: object) -> None:
        pass

    def submit(self, fn: Callable[..., T], /, *args: Any) -> _Later[T]:
        return _Later(partial(fn, *args))

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        pass


class _Borrowed:
    """A shared pool seen by one document: its calls go to the pool, and stopping cancels only
    this document's calls (other documents' requests are not this document's to stop)."""

    def __init__(self, pool: Executor) -> None:
        self._pool = pool
        self._futures: list[Future[Any]] = []

    def __enter__(self) -> _Borrowed:
        return self

    def __exit__(self, *exc: object) -> None:
        pass

    def submit(self, fn: Callable[..., T], /, *args: Any) -> Future[T]:
        future = self._pool.submit(fn, *args)
        self._futures.append(future)
        return future

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        if cancel_futures:
            for future in self._futures:
                future.cancel()
        if wait:
            # As a pool's shutdown: none of its calls is still running after. A cancelled call is
            # left out: no worker will ever pick it up to mark it done, so wait() would never return.
            wait_for([future for future in self._futures if not future.cancelled()])


def _take(result: Extraction, name: str, asked: Future[tuple[T, Usage]] | _Later[tuple[T, Usage]],
          fallback: F) -> T | F:
    """One labelling step's answer; a step that stays malformed is recorded, and the document goes on."""
    try:
        value, usage = asked.result()
    except ModelOutputError as exc:
        result.failed_steps.append(f"{name}: {exc}")
        return fallback
    result.usage.add(usage)
    return value


def _problem_sections(text: str, spans: list[SectionSpan],
                      generated: tuple[tuple[int, int], ...] = ()) -> list[tuple[SectionSpan, list[ProblemItem]]]:
    # Items are split on the text with generated list labels read as line breaks (as for metrics),
    # so no item starts inside a label ("1." of Word numbering); quotes are cut from the text itself.
    masked = mask(text, generated)
    # Only headings whose own words say "problems": a model's guess is not enough to read a
    # section's sentences as admitted shortcomings.
    found = []
    for span in (s for s in spans if s.level == 1 and heading_category(s.title) == "problems"):
        items = problem_items(masked, span)
        if items:
            found.append((span, items))
    return found


def label_batch(labeller: Labeller, batch: MetricBatch) -> tuple[list[MetricName], Usage]:
    """Label a batch; when the answer is cut off at max_tokens, split the batch, don't retry blindly."""
    try:
        return labeller.metric_labels(batch)
    except TruncatedOutput:
        if len(batch.items) == 1:
            raise
        half = len(batch.items) // 2
        names: list[MetricName] = []
        usage = Usage()
        for part in (batch.items[:half], batch.items[half:]):
            part_names, part_usage = label_batch(labeller, MetricBatch(part))
            names += part_names
            usage.add(part_usage)
        return names, usage


def _add_metrics(result: Extraction, spans: list[SectionSpan], items: list[MetricCandidate],
                 names: list[MetricName]) -> None:
    for item, label in zip(items, names, strict=True):
        quantity = item.candidate.quantity
        start, end = item.candidate.quote_start, item.candidate.quote_end
        quote = result.text[start:end]
        if not _value_parses(quote, quantity.value, quantity.value_max):
            result.dropped += 1  # never stored as fact
            continue
        section = section_at(spans, start)
        result.fallbacks += (label.source == "fallback") + (label.indicator_source == "fallback")
        result.metrics.append(MetricRecord(
            metric_id=len(result.metrics), section_id=section.index if section else None,
            name=label.name, value=quantity.value, value_max=quantity.value_max, unit=quantity.unit,
            approx=quantity.approx, category=label.category, quote=quote,
            char_start=start, char_end=end, label_source=label.source,
            area=label.area, area_source=label.area_source,
            indicator=label.indicator, indicator_source=label.indicator_source,
        ))


def _value_parses(quote: str, value: float, value_max: float | None) -> bool:
    """A metric's value must be one the number parser reads from its own quote."""
    return any(values_equal(q.value, value) and values_equal(q.value_max, value_max)
               for q in find_quantities(quote))


def _add_problems(result: Extraction, span: SectionSpan, items: list[ProblemItem],
                  labels: list[ProblemLabel]) -> None:
    for item, label in zip(items, labels):  # labels is empty when the step failed
        result.problems.append(ProblemRecord(
            problem_id=len(result.problems), section_id=span.index, summary=label.summary,
            category=label.category, quote=result.text[item.start:item.end],
            char_start=item.start, char_end=item.end, area=label.area, area_source=label.area_source,
        ))
