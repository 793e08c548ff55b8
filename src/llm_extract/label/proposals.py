"""What code proposes to the labeller: metric batches and problem items, all at exact offsets."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from llm_extract.propose.candidates import Candidate, find_candidates
from llm_extract.label.catalogue.assign import Decision, MetricAssignment, assign_metric, assign_problem
from llm_extract.label.issuers import report_year
from llm_extract.propose.names import code_name
from llm_extract.schemas import SectionCategory
from llm_extract.propose.segment import SectionSpan, section_at, segment

ENUMERATED = re.compile(r"[一二三四五六七八九十]是")
# After these cues a problems section turns to next-year plans.
PLAN_CUE = re.compile(r"(?:^|[。；\n])\s*(?:下一步|下步|今后|为此|针对以上|针对上述)")
# Heading words that settle a level-1 category without the model, in priority order
# ("存在的问题和下一步打算" is problems, not plans). Headings with none go to the labeller.
HEADING_RULES: tuple[tuple[SectionCategory, re.Pattern[str]], ...] = (
    ("problems", re.compile(r"问题|不足|短板|差距")),
    ("duties", re.compile(r"第一责任人|主要负责人")),
    ("court_judgments", re.compile(r"法院|裁判")),
    ("suggestions", re.compile(r"意见建议|建议")),
    ("plans", re.compile(r"计划|安排|打算|下一步|下一年|下年度|思路")),
    ("other", re.compile(r"其他|其它")),
    ("achievements", re.compile(r"总结|成效|举措|主要工作")),
)
MAX_BATCH = 8
TRAILING = 12
CLAUSE_STOP = "，。；：！？、,;:!?\n（(\""
SENTENCE_END = "。；;！？!?\n"


@dataclass(frozen=True)
class MetricCandidate:
    id: int
    candidate: Candidate
    quote: str  # the clause cut from the text at candidate.quote_start: what gets stored
    shown: str  # the clause plus the counted noun after the unit: what the model reads
    context: str  # the words a name for this item may come from (see `item_context`)
    code_name: str = ""  # what code alone calls it (names.code_name): the baseline and the fallback
    # Code's area and indicator (catalogue.assign): settled, or a shortlist for the model.
    assignment: MetricAssignment | None = None


@dataclass(frozen=True)
class MetricBatch:
    items: list[MetricCandidate]


@dataclass(frozen=True)
class ProblemItem:
    id: int
    start: int
    end: int
    quote: str
    area: Decision | None = None  # code's area (catalogue.assign), from the first sentence


def metric_batches(text: str, max_batch: int = MAX_BATCH,
                   generated: Sequence[tuple[int, int]] = (),
                   spans: list[SectionSpan] | None = None) -> list[MetricBatch]:
    """Non-excluded candidates in fixed-size batches; `generated` as in `find_candidates`;
    `spans` the report's headings (segmented here when not given), whose words are the last
    evidence of an item's area.

    Equal batch sizes give equal response schemas, so consecutive calls share their whole
    prompt prefix (system prompt and tool schema) in the server's cache.
    """
    shown = [c for c in find_candidates(text, generated) if not c.is_excluded]
    spans = segment(text) if spans is None else spans
    year = report_year(text)
    batches = []
    for first in range(0, len(shown), max_batch):
        items = []
        for i, c in enumerate(shown[first:first + max_batch]):
            context = item_context(text, shown, first + i)
            name = code_name(text, c)
            items.append(MetricCandidate(
                i + 1, c, text[c.quote_start:c.quote_end], text[c.quote_start:trailing_end(text, c.quote_end)],
                context, name, metric_assignment(text, c, name, context, spans, year)))
        batches.append(MetricBatch(items))
    return batches


def metric_assignment(text: str, c: Candidate, name: str, context: str, spans: list[SectionSpan],
                      year: int | None) -> MetricAssignment:
    """Code's area and indicator for one candidate: its name, clause and unit, then the headings
    it stands under (innermost first); a figure under a heading of plans is a target."""
    headings = []
    section = section_at(spans, c.quote_start)
    plans = False
    while section is not None:
        headings.append(section.title)
        if section.level == 1:
            plans = heading_category(section.title) == "plans"
        section = spans[section.parent] if section.parent is not None and section.parent < len(spans) else None
    return assign_metric(name, context, c.quantity.unit, lead=text[c.quote_start:c.quantity.start],
                         headings=headings, year=year, plans=plans, before=sentence_before(text, c.quote_start))


SENTENCE_ENDS = "。；;！？!?"


def sentence_before(text: str, start: int, sentences: int = 2) -> str:
    """The words before `start` in its sentence and the sentence before it, within its paragraph:
    where a list's later items leave what they count to the first item, or a rate to its count."""
    begin = start
    for _ in range(sentences):
        k = begin - 1
        while k >= 0 and text[k] not in SENTENCE_ENDS and text[k] != "\n":
            k -= 1
        begin = k + 1 if k < 0 or text[k] == "\n" else k
        if k < 0 or text[k] == "\n":
            break
    return text[begin:start].lstrip("".join(SENTENCE_ENDS))


def item_context(text: str, shown: list[Candidate], k: int) -> str:
    """The clause of candidate k with the noun after its unit; for a number that continues the
    previous one ("进农村204余次14250余人", "22批22人次"), also the clause it continues, since
    what it counts is said there."""
    c = shown[k]
    start = c.quote_start
    lead = text[c.quote_start:c.quantity.start]
    if k > 0 and sum(ch.isalpha() for ch in lead) < 2:
        previous = shown[k - 1]
        between = text[previous.quote_start:c.quote_start]
        if not any(ch in SENTENCE_END for ch in between):
            start = previous.quote_start
    return text[start:trailing_end(text, c.quote_end)]


def trailing_end(text: str, pos: int, limit: int = TRAILING) -> int:
    """End of the noun phrase after a unit ("19个|镇级专项普法工作队"), up to a delimiter or the next number."""
    end = pos
    while end < len(text) and end - pos < limit and text[end] not in CLAUSE_STOP and not text[end].isdigit():
        end += 1
    return end


def heading_category(title: str) -> SectionCategory | None:
    for category, pattern in HEADING_RULES:
        if pattern.search(title):
            return category
    return None


def problem_items(text: str, span: SectionSpan) -> list[ProblemItem]:
    """Split a problems section on 一是/二是…; fall back to sentences when not enumerated.

    Items after a next-steps cue (下一步…) are plans and are not proposed.
    """
    body_start, body_end = span.body_start, span.char_end
    cue = PLAN_CUE.search(text, body_start, body_end)
    if cue is not None:
        body_end = cue.start() + (1 if text[cue.start()] in "。；\n" else 0)
    marks = [m for m in ENUMERATED.finditer(text, body_start, body_end)]
    bounds = []
    if marks:
        for i, mark in enumerate(marks):
            end = marks[i + 1].start() if i + 1 < len(marks) else body_end
            bounds.append((mark.end(), _paragraph_end(text, mark.end(), end)))
    else:
        for match in re.finditer(r"[^。\n]+。?", text[body_start:body_end]):
            bounds.append((body_start + match.start(), body_start + match.end()))
    items: list[ProblemItem] = []
    for start, end in bounds:
        start, end = _trim(text, start, end)
        if end - start >= 4:
            items.append(ProblemItem(len(items) + 1, start, end, text[start:end], assign_problem(text[start:end])))
    return items


def _paragraph_end(text: str, start: int, end: int) -> int:
    # A newline after sentence-final punctuation ends the item; one mid-sentence is page-break debris.
    pos = start
    while True:
        nl = text.find("\n", pos, end)
        if nl < 0:
            return end
        if nl > 0 and text[nl - 1] in "。；;":
            return nl
        pos = nl + 1


def _trim(text: str, start: int, end: int) -> tuple[int, int]:
    while start < end and (text[start].isspace() or text[start] in "：:，,"):
        start += 1
    while end > start and (text[end - 1].isspace() or text[end - 1] in "；;。，,：:"):
        end -= 1
    return start, end
