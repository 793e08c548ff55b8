"""What code proposes to the labeller: metric batches and problem items, all at exact offsets."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from llm_extract.label.catalogue.assign import (
    Decision,
    MetricAssignment,
    assign_metric,
    assign_problem,
)
from llm_extract.label.issuers import report_year
from llm_extract.propose.candidates import Candidate, find_candidates
from llm_extract.propose.names import code_name, continues_before
from llm_extract.propose.segment import SectionSpan, find_headings, section_at, segment
from llm_extract.schemas import SectionCategory

ENUMERATED = re.compile(r"[一二三四五六七八九十]是")
# After these cues a problems section turns to next-year plans.
PLAN_CUE = re.compile(r"(?:^|[。；\n])\s*(?:下一步|下步|今后|为此|针对以上|针对上述)")
# Heading words that settle a level-1 category without the model, in priority order
# ("存在的问题和下一步打算" is problems, not plans). Headings with none go to the labeller.
# Last year's shortcomings and how they were fixed (上年度存在问题整改情况) are not this year's
# problems: the report narrates work done on them.
EARLIER = r"(?:上一?年度?|上一年|去年|以往|前期|上次|往年)"
RECTIFIED = re.compile(rf"{EARLIER}.{{0,30}}(?:问题|不足|短板).{{0,30}}(?:整改|改进|解决)|"
                       rf"(?:整改|改进|解决).{{0,10}}{EARLIER}.{{0,20}}(?:问题|不足)")
HEADING_RULES: tuple[tuple[SectionCategory, re.Pattern[str]], ...] = (
    ("other", RECTIFIED),
    ("problems", re.compile(r"问题|不足|短板|差距")),
    ("duties", re.compile(r"第一责任人|主要负责人")),
    ("court_judgments", re.compile(r"法院|裁判")),
    ("suggestions", re.compile(r"意见建议|建议")),
    ("plans", re.compile(r"计划|安排|打算|下一步|下一年|下年度|思路")),
    ("other", re.compile(r"其他|其它")),
    ("achievements", re.compile(r"总结|成效|举措|主要工作")),
)
LIST_MARKER = re.compile(r"[（(]\s*[一二三四五六七八九十0-9]+\s*[)）]|[一二三四五六七八九十]+[、，,．.]|[0-9]{1,2}[.．、]")
NOTHING = re.compile(r"(?:暂)?(?:无|没有|未发现)(?:明显)?(?:问题|不足)?")
PROBLEMS_TITLE = re.compile(r"(?:存在的?|当前|目前)?(?:主要)?(?:问题|不足|短板|差距)(?:[和及与](?:不足|原因|问题|短板))?")
MIN_ITEM = 4
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
                i + 1, c, text[c.quote_start:c.quote_end], text[_shown_start(text, c):trailing_end(text, c.quote_end)],
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
def _shown_start(text: str, c: Candidate) -> int:
    """The model reads a clause that does not say what it counts with the clause it continues
    (受理群众来信36件，|已办结31件)."""
    before = continues_before(text, c)
    return c.quote_start if before is None else before


def item_context(text: str, shown: list[Candidate], k: int) -> str:
    """The clause of candidate k with the noun after its unit; for a number that continues the
    previous one ("进农村204余次14250余人", "22批22人次") or a clause that does not say what it
    counts ("受理群众来信36件，已办结31件"), also the clause it continues, since what it counts
    is said there."""
    c = shown[k]
    start = _shown_start(text, c)
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
    """This year's admitted shortcomings in a problems section, one item per enumerated problem.

    Items split at their enumerators: 一是/二是…, else (一)/（1）/1. at the start of a line, else
    one item per paragraph (never per sentence: a problem's explanation belongs to it). What
    follows a next-steps cue or heading (下一步…) is plans; a part narrating last year's problems
    and their rectification is not this year's; a section that admits nothing gives nothing.
    """
    body_start, body_end = span.body_start, span.char_end
    cue = PLAN_CUE.search(text, body_start, body_end)
    if cue is not None:
        body_end = cue.start() + (1 if text[cue.start()] in "。；\n" else 0)
    body_end = _before_plans(text, body_start, body_end)
    bounds = _enumerated(text, body_start, body_end)
    items: list[ProblemItem] = []
    for start, end in bounds:
        start, end = _trim(text, start, end)
        if end - start >= MIN_ITEM and not RECTIFIED.search(text, start, end) and not _admits_nothing(text[start:end]):
            items.append(ProblemItem(len(items) + 1, start, end, text[start:end], assign_problem(text[start:end])))
    return items


def _before_plans(text: str, start: int, end: int) -> int:
    """Where a sub-heading of plans (（二）下一步工作打算) ends the problems of a combined section."""
    for _, _, title, mark_start, _ in find_headings(text[start:end]):
        if heading_category(title) == "plans":
            return start + mark_start
    return end


def _enumerated(text: str, start: int, end: int) -> list[tuple[int, int]]:
    marks = list(ENUMERATED.finditer(text, start, end))
    if marks:
        return [(m.end(), _paragraph_end(text, m.end(), marks[i + 1].start() if i + 1 < len(marks) else end))
                for i, m in enumerate(marks)]
    # (一)/（1）/1. opening lines: each runs to the next such line.
    # A sub-heading that only names the part (（一）存在的问题) heads items, it is not one.
    heads = [start + at for _, _, title, at, _ in find_headings(text[start:end])
             if not PROBLEMS_TITLE.fullmatch(title.strip("。.：: "))]
    if heads:
        marks_end = [_marker_end(text, at) for at in heads]
        return [(marks_end[i], heads[i + 1] if i + 1 < len(heads) else end) for i in range(len(heads))]
    paragraphs = []
    for match in re.finditer(r"[^\n]+", text[start:end]):
        paragraphs.append((start + match.start(), start + match.end()))
    return paragraphs


def _marker_end(text: str, at: int) -> int:
    match = LIST_MARKER.match(text, at)
    return match.end() if match else at


def _admits_nothing(item: str) -> bool:
    # 无。/ 暂无 / 没有: a section that says there is nothing to report.
    return bool(NOTHING.fullmatch(item))


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
