"""A real DuckDB file of composed reports whose metrics carry areas and indicators, saved through
Store.save exactly as extraction saves them (the labels are set on the records directly: the
tables, views and pages under test read them, whoever decided them).

The sentences are written for these tests, not taken from reports/.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

from llm_extract.propose.numbers import find_quantities
from llm_extract.schemas import (
    Extraction,
    MetricRecord,
    ProblemRecord,
    ReportMeta,
    SectionRecord,
)
from llm_extract.store.database import Store


@dataclass(frozen=True)
class Stated:
    quote: str  # ends at the number and its unit
    indicator: str | None
    area: str


@dataclass(frozen=True)
class Report:
    name: str
    county: str
    township: str | None
    issuer: str
    issuer_level: str
    year: int
    body: list[Stated]
    problems: tuple[tuple[str, str], ...] = ()  # (sentence, area)


REPORTS = [
    Report("a_county_justice_2022.txt", "甲县", None, "甲县司法局", "county_department", 2022, [
        Stated("全年受理行政复议案件12件", "disputes.reconsideration_cases", "disputes"),
        Stated("办理行政诉讼案件5件", "disputes.litigation_cases", "disputes"),
        Stated("开展普法活动30场", "publicity.events", "publicity"),
        Stated("其中城关所受理行政复议案件3件", None, "disputes"),  # a sub-unit's figure
    ], (("普法宣传形式较为单一，针对性不强。", "publicity"),)),
    Report("a_county_justice_2023.txt", "甲县", None, "甲县司法局", "county_department", 2023, [
        Stated("全年受理行政复议案件15件", "disputes.reconsideration_cases", "disputes"),
        Stated("复核后确认受理行政复议案件15件", "disputes.reconsideration_cases", "disputes"),  # same value: no conflict
        Stated("年末统计受理行政复议案件16件", "disputes.reconsideration_cases", "disputes"),  # a conflict
        Stated("组织集中学法4次", "study.collective_sessions", "study"),
    ]),
    Report("b_county_gov_2023.txt", "乙县", None, "乙县人民政府", "county_government", 2023, [
        Stated("办理行政复议案件40件", "disputes.reconsideration_cases", "disputes"),
        Stated("开展普法活动12场", "publicity.events", "publicity"),
        Stated("调解矛盾纠纷210起", "disputes.mediated", "disputes"),
    ], (("行政执法人员力量不足，执法装备落后。", "enforcement"),)),
    Report("c_town_2023.txt", "乙县", "丙镇", "丙镇人民政府", "township", 2023, [
        Stated("调解矛盾纠纷35起", "disputes.mediated", "disputes"),
        Stated("发放宣传资料2000份", "publicity.materials", "publicity"),
    ]),
]


def doc_id(name: str) -> str:
    return hashlib.sha256(name.encode()).hexdigest()


def extraction(report: Report) -> Extraction:
    title = f"{report.issuer}{report.year}年法治政府建设年度报告"
    heading = "一、主要工作"
    text = f"{title}\n{heading}\n" + "".join(s.quote + "。" for s in report.body) + "\n"
    problems_heading = "二、存在问题"
    if report.problems:
        text += problems_heading + "\n" + "".join(p for p, _ in report.problems) + "\n"
    metrics = []
    cursor = 0
    for i, stated in enumerate(report.body):
        start = text.index(stated.quote, cursor)
        cursor = start + len(stated.quote)
        [quantity] = find_quantities(stated.quote)[-1:]
        metrics.append(MetricRecord(
            metric_id=i, section_id=1, name=stated.quote[-10:], value=quantity.value, value_max=quantity.value_max,
            unit=quantity.unit, approx=quantity.approx, category="other", quote=stated.quote, char_start=start,
            char_end=cursor, label_source="code", area=stated.area, area_source="code", indicator=stated.indicator,
            indicator_source="code"))
    problems = []
    for i, (sentence, area) in enumerate(report.problems):
        start = text.index(sentence)
        problems.append(ProblemRecord(problem_id=i, section_id=2, summary=sentence[:10], category="other",
                                      quote=sentence, char_start=start, char_end=start + len(sentence),
                                      area=area, area_source="code"))
    sections = [SectionRecord(section_id=1, parent_id=None, level=1, number="一", title="主要工作",
                              char_start=text.index(heading), char_end=len(text))]
    if report.problems:
        at = text.index(problems_heading)
        sections = [sections[0].model_copy(update={"char_end": at}),
                    SectionRecord(section_id=2, parent_id=None, level=1, number="二", title="存在问题",
                                  char_start=at, char_end=len(text))]
    return Extraction(
        doc_id=doc_id(report.name), path=f"/reports/{report.name}", text=text, model="rules", prompt_version="t",
        title=title, meta=ReportMeta(township=report.township, county=report.county, year=report.year,
                                     issuer=report.issuer, issuer_level=report.issuer_level),  # type: ignore[arg-type]
        sections=sections, metrics=metrics, problems=problems)


def build(folder: Path) -> Path:
    db = folder / "comparable.duckdb"
    with Store(db) as store:
        for report in REPORTS:
            store.save(extraction(report))
    return db
