"""The parts an annual report must contain, and when it is due, per the 2019
《法治政府建设与责任落实督察工作规定》: the year's main measures and results; its shortcomings and
their causes; how the principal leaders fulfilled their duties as 第一责任人 for the rule of law;
the next year's main plans; reported by 1 April of the following year.

A part is found, in order: under a heading (the section's category, or the heading's own words),
then in the text where the report has no heading for it. A heading inside another part's section
speaks for that part (a plan titled 扛牢第一责任人职责 is a plan, not a report of the duties done),
and the duties and measures are looked for outside the shortcomings and plans. Pure: no I/O.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from typing import Literal

from llm_extract.label.issuers import signature_date
from llm_extract.schemas import Extraction, SectionRecord
from llm_extract.checks.finding import Finding

Part = Literal["measures", "shortcomings", "leaders", "plans"]
PARTS: tuple[Part, ...] = ("measures", "shortcomings", "leaders", "plans")
PART_TEXT = {
    "measures": "the year's measures and results (主要举措和成效)",
    "shortcomings": "its shortcomings (存在的不足和原因)",
    "leaders": "how the principal leaders fulfilled their 第一责任人 duties (主要负责人履职情况)",
    "plans": "the next year's plans (下一年度主要安排)",
}
Source = Literal["category", "heading", "text"]
DateStatus = Literal["on_time", "late", "undated", "year_unknown"]

# The section categories of the extraction that are each part.
CATEGORY_PART: dict[str, Part] = {"achievements": "measures", "problems": "shortcomings", "duties": "leaders",
                                  "plans": "plans"}
# A heading's own words for each part (a heading may name two: 存在的问题和下一步打算).
HEADING_WORDS: dict[Part, re.Pattern[str]] = {
    "measures": re.compile(r"举措|成效|做法|成绩|工作总结|工作情况|开展情况|推进情况|主要工作|工作开展|亮点"),
    "shortcomings": re.compile(r"问题|不足|短板|差距|薄弱|困难"),
    "leaders": re.compile(r"(?:第一责任人|主要负责人|主要领导|一把手).*(?:职责|责任|履职|情况)"),
    "plans": re.compile(r"计划|打算|安排|下一步|思路|展望|明年|下一年|来年|今后|努力方向|工作要点|重点工作"),
}
# The same parts said in running text.
TEXT_WORDS: dict[Part, re.Pattern[str]] = {
    # The body saying it falls short (也存在一些问题, 问题主要表现在, 存在的不足和原因), not a
    # measure that mentions problems (研究解决存在的问题).
    "shortcomings": re.compile(r"(?:还|仍|也|但|尚)(?:存在|有)[^。；;\n]{0,8}(?:问题|不足|差距|短板|薄弱)|"
                               r"(?:问题|不足|短板)(?:主要)?(?:表现在|体现在)|存在的?(?:问题|不足)(?:和|及|与|、)|"
                               r"存在的?(?:主要)?(?:问题|不足)(?=[\s：:])|不足之处|薄弱环节|"
                               r"有待(?:进一步)?(?:提高|加强|提升|完善|强化)|仍需(?:进一步)?(?:提高|加强|提升|完善|强化)"),
    "plans": re.compile(r"下一步|下一年度|明年|来年|今后|新的一年|工作计划|主要安排|工作安排|工作打算|工作思路"),
    # A sentence that names the principal leaders (or the duty) and says they acted on it.
    "leaders": re.compile(r"(?:第一责任人|主要负责人|主要领导|一把手)[^。；;\n]*(?:履行|履职|职责|述法|亲自|带头)|"
                          r"(?:履行|履职|述法|亲自|带头)[^。；;\n]*(?:第一责任人|主要负责人|一把手)"),
}
# Verbs of work done: the body of a report of measures.
ACTION = re.compile(r"开展|推进|落实|组织|完成|建立|健全|制定|举办|实施|加强")
MIN_ACTIONS = 3
# Words that give a shortcoming's cause.
CAUSES = re.compile(r"原因|由于|因为|导致|究其|根源|归因|受[^，。；]{1,10}(?:制约|影响|限制)|主要是")
# Reported by this day of the following year (督察工作规定: 每年4月1日之前).
DUE = (4, 1)


@dataclass(frozen=True)
class Found:
    present: bool
    source: Source | None = None
    at: int | None = None  # where it starts in the text


@dataclass
class Completeness:
    parts: dict[Part, Found] = field(default_factory=dict)
    causes: bool | None = None  # shortcomings with their causes; None when there are no shortcomings
    date_status: DateStatus = "undated"
    signed: date | None = None

    @property
    def missing(self) -> list[Part]:
        return [p for p in PARTS if not self.parts[p].present]

    def row(self) -> dict[str, object]:
        """One row of the completeness table."""
        return {**{p: self.parts[p].present for p in PARTS}, "causes": self.causes, "date": self.date_status}


def completeness(extraction: Extraction) -> Completeness:
    text, sections = extraction.text, extraction.sections
    assigned = _section_parts(sections, extraction.meta.year)
    regions: dict[Part, list[tuple[int, int]]] = {p: [] for p in PARTS}
    parts: dict[Part, Found] = {}
    for section, names, source in assigned:
        for part in names:
            regions[part].append((section.char_start, section.char_end))
            if part not in parts:
                parts[part] = Found(True, source, section.char_start)
    # In running text: shortcomings and plans first, so that the duties and the measures are
    # looked for outside them.
    for part in ("shortcomings", "plans"):
        if part not in parts:
            # Plans come after the shortcomings: a 工作计划 named among the measures is not one.
            after = parts["shortcomings"].at if part == "plans" and "shortcomings" in parts else None
            match = _search(TEXT_WORDS[part], text, [(0, after)] if after else [])
            if match is not None:
                parts[part] = Found(True, "text", match)
                regions[part].append((match, _end_of_part(text, match, regions)))
    aside = regions["plans"] + regions["shortcomings"]
    if "leaders" not in parts:
        match = _search(TEXT_WORDS["leaders"], text, aside)
        parts["leaders"] = Found(True, "text", match) if match is not None else Found(False)
    if "measures" not in parts:
        actions = [m.start() for m in ACTION.finditer(text) if not _inside(m.start(), aside)]
        parts["measures"] = Found(True, "text", actions[0]) if len(actions) >= MIN_ACTIONS else Found(False)
    for part in PARTS:
        parts.setdefault(part, Found(False))
    causes = None
    if parts["shortcomings"].present:
        causes = any(CAUSES.search(text[start:end]) for start, end in regions["shortcomings"]) or any(
            CAUSES.search(s.title) for s, names, _ in assigned if "shortcomings" in names)
    status, signed = date_status(extraction)
    return Completeness(parts, causes, status, signed)


def _section_parts(sections: list[SectionRecord], year: int | None) -> list[tuple[SectionRecord, list[Part], Source]]:
    """The parts each section heads. A section inside a section that heads a part speaks for that
    part only; a top-level section without a part or category of its own, before the
    shortcomings and plans, is a measure (the body of the report: 一、强化组织领导…)."""
    by_id = {s.section_id: s for s in sections}
    out: dict[int, tuple[SectionRecord, list[Part], Source]] = {}
    for s in sections:
        ancestor = _top_with_part(s, by_id, year)
        if ancestor is not None and ancestor.section_id != s.section_id:
            continue  # its ancestor's part covers it
        names, source = _own_parts(s, year)
        if names:
            out[s.section_id] = (s, names, source)
    closing = [s.char_start for s, names, _ in out.values() if {"shortcomings", "plans"} & set(names)]
    end_of_body = min(closing, default=None)
    for s in sections:
        if s.parent_id is None and s.section_id not in out and s.category is None and \
                (end_of_body is None or s.char_start < end_of_body):
            out[s.section_id] = (s, ["measures"], "heading")
    return sorted(out.values(), key=lambda entry: entry[0].char_start)


def _heads(part: Part, title: str, year: int | None) -> bool:
    """Whether a heading's words name a part. A heading naming the year after the report's
    (2025年重点任务 in a report on 2024) is about what comes next: the plans."""
    if HEADING_WORDS[part].search(title):
        return True
    return part == "plans" and year is not None and re.search(rf"{year + 1}\s*年", title) is not None


def _own_parts(s: SectionRecord, year: int | None = None) -> tuple[list[Part], Source]:
    """The parts a section heads by its category, else by its heading's words."""
    if s.category in CATEGORY_PART:
        names: list[Part] = [CATEGORY_PART[s.category]]
        # A heading may name a second part (存在的问题和下一步打算), but a shortcomings heading
        # is never a measure for saying 工作.
        names += [p for p in PARTS if p not in names and p != "measures" and _heads(p, s.title, year)]
        return names, "category"
    return [p for p in PARTS if _heads(p, s.title, year)], "heading"


def _top_with_part(s: SectionRecord, by_id: dict[int, SectionRecord], year: int | None) -> SectionRecord | None:
    """The outermost section above or at s that heads a part."""
    chain = [s]
    parent = s.parent_id
    while parent is not None and parent in by_id and len(chain) < 10:  # 10: a cycle in bad data ends
        chain.append(by_id[parent])
        parent = by_id[parent].parent_id
    for node in reversed(chain):
        if _own_parts(node, year)[0]:
            return node
    return None


def _search(pattern: re.Pattern[str], text: str, aside: list[tuple[int, int]]) -> int | None:
    for match in pattern.finditer(text):
        if not _inside(match.start(), aside):
            return match.start()
    return None


def _inside(offset: int, regions: list[tuple[int, int]]) -> bool:
    return any(start <= offset < end for start, end in regions)


def _end_of_part(text: str, start: int, regions: dict[Part, list[tuple[int, int]]]) -> int:
    """Where a part found in running text ends: at the next part found, else the end of the text."""
    later = [s for spans in regions.values() for s, _ in spans if s > start]
    return min(later, default=len(text))


def date_status(extraction: Extraction) -> tuple[DateStatus, date | None]:
    """The signature date against the report year: late after 1 April of the next year."""
    signed = extraction.meta.report_date
    if signed is None:
        found = signature_date(extraction.text)
        if found is not None:
            try:
                signed = date(*found)
            except ValueError:
                signed = None
    if signed is None:
        return "undated", None
    year = extraction.meta.year
    if year is None:
        return "year_unknown", signed
    return ("late" if signed > date(year + 1, *DUE) else "on_time"), signed


def completeness_findings(found: Completeness, year: int | None) -> list[Finding]:
    out = [Finding("missing_part", f"missing_part:{part}", "warning",
                   f"missing: {PART_TEXT[part]}, required by the 2019 督察工作规定")
           for part in found.missing]
    if found.causes is False:
        at = found.parts["shortcomings"].at
        out.append(Finding("causes_not_stated", "causes_not_stated", "info",
                           "shortcomings stated without their causes (不足的原因)",
                           char_start=at, char_end=at))
    if found.date_status == "late" and found.signed is not None and year is not None:
        out.append(Finding("late", "signature_date:late", "warning",
                           f"signed {found.signed.isoformat()}, after 1 April {year + 1}: the report for {year} "
                           "was due by then"))
    elif found.date_status == "undated":
        out.append(Finding("undated", "signature_date:undated", "info",
                           "no signature date: whether it was on time cannot be told"))
    return out
