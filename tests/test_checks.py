"""The checks (llm_extract.checks): every check on sentences composed here, positive and
negative, with the legitimate look-alikes; the completeness of the five reports as read by a
person; a series of one township over two years; findings stored, shown and dismissed."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from llm_extract.propose.candidates import find_candidates
from llm_extract.propose.names import code_name
from llm_extract.checks import completeness, consistency_findings, document_findings
from llm_extract.checks.series import SeriesDoc, issuer_key
from llm_extract.ingest.documents import load
from llm_extract.run.extract import extract_document
from llm_extract.label.labellers import RulesLabeller
from llm_extract.schemas import Extraction, MetricRecord, ReportMeta, SectionRecord
from tests.support.paths import REPORTS


def metrics_of(text: str) -> list[MetricRecord]:
    """Every candidate quantity of text as a stored metric would be (quote = its clause, name =
    code's name)."""
    out = []
    for i, c in enumerate(c for c in find_candidates(text) if not c.is_excluded):
        q = c.quantity
        out.append(MetricRecord(metric_id=i, section_id=None, name=code_name(text, c), value=q.value, value_max=q.value_max,
                                unit=q.unit, approx=q.approx, category="other",
                                quote=text[c.quote_start:c.quote_end], char_start=c.quote_start, char_end=c.quote_end))
    return out


def checks_of(text: str) -> list[str]:
    return [f.check_name for f in consistency_findings(text, metrics_of(text))]


# --- rates above 100% -----------------------------------------------------------------------------
@pytest.mark.parametrize("sentence", [
    "今年信访件办结率达120%。",
    "群众满意率为105%，获得一致好评。",
    "行政执法案卷合格率101.5%。",
])
def test_a_share_above_100_is_a_finding(sentence: str) -> None:
    assert checks_of(sentence) == ["rate_over_100"]


@pytest.mark.parametrize("sentence", [
    "全年受理量同比增长300%。",
    "调解案件数较上年提高150%。",
    "完成年度目标任务的120%。",
    "宣传覆盖人数是去年的150%。",
    "信访件办结率100%，满意率98%。",
    "网上办件量环比上升210%。",
])
def test_a_change_or_ratio_to_a_base_is_not(sentence: str) -> None:
    assert checks_of(sentence) == []


# --- parts and wholes -----------------------------------------------------------------------------
@pytest.mark.parametrize("sentence", [
    "受理信访件48件，已办结52件。",
    "共排查矛盾纠纷50起，其中调解成功60起。",
    "发现安全隐患30处，整改完成45处。",
])
def test_a_part_larger_than_its_whole(sentence: str) -> None:
    assert checks_of(sentence) == ["part_exceeds_whole"]


@pytest.mark.parametrize("sentence", [
    "受理信访件48件，已办结45件。",
    "受理行政复议案件3件，办结信访件10件。",  # different things counted
    "收到申请30件，受理28件。",
    "排查矛盾纠纷60余起，其中化解65起。",  # 60余 may be up to 70
    "开展培训12次，参训人员300人，完成考核15人。",
    "受理信访件48件。全年办结各类案件52件。",  # another sentence
])
def test_parts_within_their_whole_or_of_other_things(sentence: str) -> None:
    assert checks_of(sentence) == []


def test_parts_listed_with_a_pause_mark_that_sum_past_their_total() -> None:
    assert checks_of("共查办案件17起，其中食品案件9起、药品案件6起、其他案件5起。") == ["parts_exceed_total"]
    assert checks_of("举办专题讲座5场、广场宣传8场，共计10场。") == ["parts_exceed_total"]
    assert checks_of("共查办案件17起，其中食品案件9起、药品案件6起。") == []
    assert checks_of("举办专题讲座5场、广场宣传8场，共计13场。") == []


def test_overlapping_parts_are_not_summed() -> None:
    # Parts of different kinds, separated by commas, may overlap: 30 + 40 > 50 is no contradiction.
    assert checks_of("共排查矛盾纠纷50起，其中婚姻家庭纠纷30起，调解成功40起。") == []


# --- a rate beside its counts -----------------------------------------------------------------------
def test_a_rate_that_its_counts_contradict() -> None:
    assert checks_of("受理信访件40件，办结36件，办结率100%。") == ["rate_disagrees"]
    assert checks_of("共排查矛盾纠纷50起，其中调解成功45起，占80%。") == ["rate_disagrees"]


@pytest.mark.parametrize("sentence", [
    "调解纠纷200起，成功197起，调解成功率98.5%。",
    "共排查矛盾纠纷50起，其中调解成功45起，占90%。",
    "受理信访件30件，办结29件，办结率96.7%。",  # rounded
    # 按期办结率 is over the cases due: those still within their time limit are not in it.
    "受理信访件40件，办结30件，其余10件尚在办理期限内，按期办结率100%。",
    "受理信访件40件，办结30件，按期办结率100%。",
    "受理信访件约40件，办结36件，办结率100%。",  # an approximate count decides nothing
])
def test_rates_that_agree_or_whose_counts_the_text_does_not_give(sentence: str) -> None:
    assert checks_of(sentence) == []


# --- one indicator, two values --------------------------------------------------------------------
def test_the_same_indicator_twice_with_different_values() -> None:
    text = "全年共调解矛盾纠纷77起。……成功调解矛盾纠纷70起。……调解纠纷77起。"
    metrics = metrics_of(text)
    assert len(metrics) == 3
    for m in metrics:
        m.indicator = "disputes.mediated"
    assert consistency_findings(text, metrics) == []  # 成功调解…70 names a part, not the 77 again
    metrics[1].name = metrics[0].name  # the same words stating another number: a contradiction
    found = consistency_findings(text, metrics)
    assert [f.check_name for f in found] == ["duplicate_indicator"]
    assert set(found[0].metric_ids) == {metrics[0].metric_id, metrics[1].metric_id}
    metrics[1].indicator = None
    assert consistency_findings(text, metrics) == []  # the same value twice is no conflict
    approx = "解答法律咨询1530余次。……共解答法律咨询1534次。"
    metrics = metrics_of(approx)
    for m in metrics:
        m.indicator = "legal_services.consultations"
    assert consistency_findings(approx, metrics) == []  # 1534 is one of the values 1530余 allows


# --- required parts and the date --------------------------------------------------------------------
HEADED = """某某镇2023年法治政府建设年度报告
一、主要举措和成效
全年开展普法活动12场，组织执法检查20次，推进依法行政。
二、党政主要负责人履行推进法治建设第一责任人职责情况
党委书记切实履行第一责任人职责，亲自部署法治建设。
三、存在的不足和原因
一是执法队伍力量薄弱，由于人员较少，执法能力有待提升。
四、2024年工作计划
继续加强法治宣传教育。
{signature}"""


def extraction(text: str, year: int | None = 2023, signed: date | None = None, headed: bool = True) -> Extraction:
    from llm_extract.propose.segment import segment

    sections = []
    if headed:
        for span in segment(text):
            sections.append(SectionRecord(section_id=span.index, parent_id=span.parent, level=span.level,
                                          number=span.number, title=span.title, char_start=span.char_start,
                                          char_end=span.char_end))
    return Extraction(doc_id="d", path="p", text=text, meta=ReportMeta(year=year, report_date=signed),
                      sections=sections)


def test_a_complete_report_on_time() -> None:
    found = completeness(extraction(HEADED.format(signature=""), signed=date(2024, 4, 1)))
    assert found.missing == [] and found.causes is True and found.date_status == "on_time"


def test_late_and_undated() -> None:
    assert completeness(extraction(HEADED.format(signature=""), signed=date(2024, 4, 2))).date_status == "late"
    assert completeness(extraction(HEADED.format(signature=""))).date_status == "undated"
    # The signature line is read when the metadata has no date.
    text = HEADED.format(signature="某某镇人民政府\n2024年5月6日")
    assert completeness(extraction(text)).date_status == "late"
    names = [f.check_id for f in document_findings(extraction(text))]
    assert "signature_date:late" in names


def test_missing_parts_from_headings() -> None:
    text = HEADED.format(signature="")
    without_leaders = text.replace("二、党政主要负责人履行推进法治建设第一责任人职责情况\n党委书记切实履行第一责任人职责，亲自部署法治建设。\n", "")
    found = completeness(extraction(without_leaders, signed=date(2024, 1, 5)))
    assert found.missing == ["leaders"]
    no_causes = without_leaders.replace("由于人员较少，", "").replace("的不足和原因", "的不足")
    assert completeness(extraction(no_causes)).causes is False


def test_a_plan_that_names_the_duty_is_not_the_duty_reported() -> None:
    text = ("某某镇2023年法治政府建设年度报告\n一、工作开展情况\n组织执法检查20次，开展普法活动12场，推进依法行政。\n"
            "二、存在问题\n普法形式单一。\n三、下一年度工作安排\n（一）扛牢抓实第一责任人职责\n主要负责人要切实履行第一责任人职责。\n")
    assert completeness(extraction(text)).missing == ["leaders"]


def test_parts_from_the_text_of_a_report_without_headings() -> None:
    text = ("今年以来，我局开展普法活动12场，组织执法检查20次，推进依法行政，落实各项制度。局主要负责人认真履行"
            "推进法治建设第一责任人职责，亲自研究部署。但也存在一些问题：执法人员不足。下一步，我局将继续加强法治宣传。")
    found = completeness(extraction(text, headed=False))
    assert found.missing == [] and {p.source for p in found.parts.values()} == {"text"}
    assert completeness(extraction(text.replace("下一步，我局将继续加强法治宣传。", ""), headed=False)).missing == ["plans"]
    found = completeness(extraction(text.replace("局主要负责人认真履行推进法治建设第一责任人职责，亲自研究部署。", ""),
                                    headed=False))
    assert found.missing == ["leaders"]


# --- the five reports, read by a person -------------------------------------------------------------
# From reading each report: which required parts it has, whether its shortcomings give causes,
# and its signature date against its year.
#   000 过马营镇 2024: measures (一), shortcomings (二, no causes: 主要表现在…), no part on the
#       principal leaders' duties (主要领导安排部署 only), plans (二: 下一步…), no date.
#   001 松村镇 2023: all four (一, 二 不足和原因, 三 第一责任人, 五 计划), no date.
#   002 青龙镇 2024: all four (一, 二, 三 with 由于…导致, 四), signed 2024-12-24.
#   003 (no issuer) 2023: measures (一), shortcomings (二, no causes), the duties in 一(一)
#       (书记带头履行第一责任人…列入年终述职), plans (三), no date.
#   004 彭堡镇 2021: measures (一 to 六), shortcomings and 下一步 (七, no causes), nothing on the
#       principal leaders' duties, signed 2022-02-20 (before 1 April 2022).
EXPECTED = {
    "000": {"measures": True, "shortcomings": True, "leaders": False, "plans": True, "causes": False, "date": "undated"},
    "001": {"measures": True, "shortcomings": True, "leaders": True, "plans": True, "causes": True, "date": "undated"},
    "002": {"measures": True, "shortcomings": True, "leaders": True, "plans": True, "causes": True, "date": "on_time"},
    "003": {"measures": True, "shortcomings": True, "leaders": True, "plans": True, "causes": False, "date": "undated"},
    "004": {"measures": True, "shortcomings": True, "leaders": False, "plans": True, "causes": False, "date": "on_time"},
}


def rules(path: Path) -> Extraction:
    return extract_document(load(path), RulesLabeller())


@pytest.mark.parametrize("prefix", sorted(EXPECTED))
def test_completeness_of_the_five_reports(prefix: str) -> None:
    e = rules(next(REPORTS.glob(f"{prefix}_*.txt")))
    assert completeness(e).row() == EXPECTED[prefix]
    # The same from the text alone, as for a report whose headings were not found.
    assert completeness(e.model_copy(update={"sections": []})).row() == EXPECTED[prefix]


@pytest.mark.parametrize("prefix", sorted(EXPECTED))
def test_no_false_finding_on_the_five_reports(prefix: str) -> None:
    e = rules(next(REPORTS.glob(f"{prefix}_*.txt")))
    expected = EXPECTED[prefix]
    true = {f"missing_part:{p}" for p in ("measures", "shortcomings", "leaders", "plans") if not expected[p]}
    true |= {"causes_not_stated"} if expected["causes"] is False else set()
    true |= {"signature_date:undated"} if expected["date"] == "undated" else set()
    assert {f.check_id for f in document_findings(e)} == true


# --- across years -------------------------------------------------------------------------------
def test_issuer_normal_form() -> None:
    joint = SeriesDoc("a", 2023, issuer="中共沁县松村镇党委、沁县松村镇人民政府", township="松村镇", county="沁县",
                      issuer_level="township")
    government = SeriesDoc("b", 2024, issuer="沁县松村镇人民政府", township="松村镇", county="沁县", issuer_level="township")
    other = SeriesDoc("c", 2024, issuer="华宁县青龙镇人民政府", township="青龙镇", county="华宁县", issuer_level="township")
    dept = SeriesDoc("d", 2024, issuer="固原市原州区司法局", issuer_level="county_department")
    dept2 = SeriesDoc("e", 2023, issuer="原州区司法局", issuer_level="county_department")
    assert issuer_key(joint) == issuer_key(government) != issuer_key(other)
    assert issuer_key(dept) == issuer_key(dept2)
    assert issuer_key(SeriesDoc("f", 2023)) is None
