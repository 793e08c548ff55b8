"""The catalogue (areas and indicators as data) and code's assignment, on sentences composed for
these tests (none is copied from a report)."""

from __future__ import annotations

import pytest

from llm_extract.label.answers import ChoicesAnswer, choice_item, choices
from llm_extract.label.catalogue import AREAS, CatalogueError, load, parse
from llm_extract.label.catalogue.assign import (
    assign_metric,
    assign_problem,
    indicator_fits,
    not_whole_body,
    sub_unit_subject,
    value_kind,
)
from llm_extract.label.proposals import metric_batches

ISSUE_IDS = """leadership.meetings_on_rule_of_law study.collective_sessions study.training_sessions
study.participants study.exam_participation_rate study.exam_pass_rate functions.service_matters_handled
functions.immediate_or_online_rate functions.approval_items rules.normative_documents_issued
rules.normative_documents_reviewed rules.documents_repealed decisions.legality_reviews
decisions.legality_review_rate decisions.legal_opinions decisions.major_decisions
decisions.public_consultations enforcement.inspections enforcement.cases enforcement.fines
enforcement.documents_served enforcement.certified_officers enforcement.case_file_reviews
emergency.safety_inspections emergency.hazards_found emergency.drills disputes.screened disputes.mediated
disputes.mediation_success_rate disputes.petitions_received disputes.petition_visits
disputes.petition_completion_rate disputes.hotline_requests disputes.reconsideration_cases
disputes.litigation_cases disputes.head_appearance_rate disputes.mediators oversight.npc_suggestions
oversight.cppcc_proposals oversight.procuratorial_recommendations oversight.information_published
oversight.disclosure_requests publicity.events publicity.materials publicity.posts publicity.audience
legal_services.consultations legal_services.legal_aid legal_services.service_points
legal_services.community_corrections""".split()


def test_the_shipped_catalogue_has_every_area_and_every_indicator_the_framework_lists():
    catalogue = load()
    assert [a.id for a in catalogue.areas] == list(AREAS)
    assert set(ISSUE_IDS) <= set(catalogue.indicator_by_id)
    for indicator in catalogue.indicators:
        assert indicator.cues and indicator.label and indicator.definition
    assert all(a.cues for a in catalogue.areas if a.id != "other")


def test_malformed_data_is_refused_with_one_line():
    with pytest.raises(CatalogueError, match="unknown area"):
        parse({"area": [{"id": "nowhere", "label": "", "chapter": "", "definition": "", "cues": []}]},
              {"indicator": [], "whole_body": {}})


@pytest.mark.parametrize(("unit", "kind"), [("人", "people"), ("名", "people"), ("人次", "people"),
                                            ("元", "money"), ("万元", "money"), ("%", "rate"),
                                            ("件", "count"), ("次", "count"), ("份", "count")])
def test_the_kind_of_a_value_comes_from_its_unit(unit, kind):
    assert value_kind(unit) == kind


@pytest.mark.parametrize(("name", "clause", "unit", "area", "indicator"), [
    ("法治讲座", "为辖区中学生举办法治讲座5场", "场", "publicity", "publicity.events"),
    ("防汛知识宣传", "围绕汛期开展防汛知识宣传8次", "次", "emergency", None),
    ("宪法宣传", "开展宪法宣传活动8次", "次", "publicity", "publicity.events"),
    ("应急演练", "组织防汛应急演练3次", "次", "emergency", "emergency.drills"),
    ("行政复议案件", "全年办理行政复议案件7件", "件", "disputes", "disputes.reconsideration_cases"),
    ("行政诉讼案件", "应诉行政诉讼案件4件", "件", "disputes", "disputes.litigation_cases"),
    ("罚款", "共处罚款3.5万元", "万元", "enforcement", "enforcement.fines"),
    ("规范性文件", "审核规范性文件6件", "件", "rules", "rules.normative_documents_reviewed"),
    ("废止文件", "清理后废止政策文件11件", "件", "rules", "rules.documents_repealed"),
    ("法律援助案件", "受理法律援助案件9件", "件", "legal_services", "legal_services.legal_aid"),
    ("社区矫正对象", "在册社区矫正对象12名", "名", "legal_services", "legal_services.community_corrections"),
    ("检察建议", "收到并回复检察建议2件", "件", "oversight", "oversight.procuratorial_recommendations"),
    ("出庭应诉率", "行政机关负责人出庭应诉率达100%", "%", "disputes", "disputes.head_appearance_rate"),
])
def test_words_and_kind_that_point_to_one_settle_area_and_indicator(name, clause, unit, area, indicator):
    got = assign_metric(name, clause, unit, lead=clause)
    assert (got.area.value, got.area.settled) == (area, True)
    assert (got.indicator.value, got.indicator.settled) == (indicator, True)


def test_a_kind_that_does_not_fit_gives_no_indicator():
    # 罚款 counted in cases (件) is not the fines indicator (money).
    got = assign_metric("罚款案件", "办理罚款案件3件", "件", lead="办理罚款案件")
    assert got.indicator.value != "enforcement.fines"
    people = assign_metric("行政复议", "参加行政复议培训的干部30人", "人", lead="参加行政复议培训的干部")
    assert people.indicator.value != "disputes.reconsideration_cases"


def test_several_areas_leave_a_shortlist_headed_by_the_last_cue():
    # 执法 (enforcement) then 培训 (study): what is counted is the training.
    got = assign_metric("执法人员培训", "组织执法人员培训2期", "期", lead="组织执法人员培训")
    assert got.area.value == "study"
    # Words of no area at all: other, and every area is open.
    none = assign_metric("绿化面积", "新增绿化面积", "亩", lead="新增绿化面积")
    assert none.area.value == "other" and not none.area.settled and len(none.area.shortlist) == len(AREAS)


def test_two_indicators_of_one_area_make_a_shortlist():
    got = assign_metric("排查化解矛盾纠纷", "排查化解矛盾纠纷40件", "件", lead="排查化解矛盾纠纷")
    assert got.area.value == "disputes" and got.area.settled
    assert not got.indicator.settled
    assert set(got.indicator.shortlist) == {"disputes.screened", "disputes.mediated"}


def test_the_headings_decide_only_when_the_clause_says_nothing():
    got = assign_metric("", "共计9件", "件", lead="共计", headings=("（二）推进行政复议规范化", "一、主要工作"))
    assert got.area.value == "disputes" and got.area.settled


@pytest.mark.parametrize(("clause", "reason"), [
    ("力争全年调解纠纷50件", "target"),
    ("计划开展普法活动20场", "target"),
    ("较去年多办理行政复议案件2件", "other year"),
    ("2021年以来累计调解纠纷300件", "other year"),
    ("信访量同比下降15%", "change"),
    ("东湾村调解纠纷6件", "sub-unit"),
    ("其中南岭社区开展宣传4场", "sub-unit"),
])
def test_a_figure_that_is_not_the_whole_bodys_for_its_year_gets_no_indicator(clause, reason):
    assert not_whole_body(clause, clause[:-2], year=2024) == reason
    got = assign_metric("调解纠纷", clause, clause[-1], lead=clause[:-2], year=2024)
    assert got.indicator.value is None and got.indicator.reason == reason


def test_the_reports_own_year_and_scope_words_are_the_whole_body():
    assert not_whole_body("2024年共调解纠纷30件", "2024年共调解纠纷", year=2024) is None
    for clause in ("全镇各村调解纠纷30件", "各社区开展宣传12场", "深入社区开展宣传12场", "走进农村开展宣传3场",
                   "行政村全部配备法律顾问"):
        assert sub_unit_subject(clause) is None, clause
    assert not_whole_body("参加学法考试合格率提升至98%", "参加学法考试合格率提升至", year=2024) is None


def test_under_a_plans_heading_every_figure_is_a_target():
    got = assign_metric("普法活动", "开展普法活动30场", "场", lead="开展普法活动", plans=True)
    assert got.indicator.value is None and got.indicator.reason == "target"


def test_a_problem_takes_the_area_of_its_first_sentence():
    assert assign_problem("普法宣传形式单一，覆盖面不广。执法人员不足。").value == "publicity"
    assert assign_problem("执法人员数量不足，专业素质有待提高").value == "enforcement"
    assert assign_problem("重大行政决策程序执行不够规范").value == "decisions"
    nothing = assign_problem("个别事项推进较慢")
    assert nothing.value == "other" and not nothing.settled


def test_an_indicator_is_checked_against_the_items_kind_and_area():
    assert indicator_fits("enforcement.fines", "money", "enforcement") is None
    assert "数值类型" in indicator_fits("enforcement.fines", "count", "enforcement")
    assert "矛盾" in indicator_fits("enforcement.fines", "money", "disputes")
    assert "不在" in indicator_fits("made.up", "count", None)


def test_a_refused_indicator_is_reasked_once_then_recorded():
    item = choice_item(None, ("enforcement", "disputes"), ("enforcement.cases", "disputes.litigation_cases"))
    model = choices("MetricCategories", (item,))
    wrong = {"c1": {"area": "disputes", "indicator": "enforcement.cases"}}
    context = {"kinds": ["count"], "areas": [None], "reasks": 1}
    with pytest.raises(ValueError, match="矛盾"):
        model.model_validate(wrong, context=context)
    model.model_validate(wrong, context=context)  # the re-ask's answer: accepted, recorded
    assert context["refused"] == [0]
    fine = {"c1": {"area": "disputes", "indicator": "disputes.litigation_cases"}}
    assert issubclass(model, ChoicesAnswer)
    ok_context = {"kinds": ["count"], "areas": [None], "reasks": 1}
    model.model_validate(fine, context=ok_context)
    assert ok_context["refused"] == []


def test_the_grammar_allows_only_the_shortlist():
    item = choice_item(None, ("publicity", "emergency"), ("publicity.events",))
    schema = item.model_json_schema()
    assert schema["properties"]["area"]["enum"] == ["publicity", "emergency"]
    assert schema["properties"]["indicator"]["enum"] == ["publicity.events", "none"]


def test_proposals_carry_codes_assignment_with_the_heading_context():
    text = ("2024年度法治政府建设工作报告\n一、主要工作\n（一）化解矛盾纠纷\n全年调解矛盾纠纷25件，共计9件。\n"
            "二、下一步工作计划\n开展普法活动30场。\n")
    items = [item for batch in metric_batches(text) for item in batch.items]
    by_quote = {item.quote: item.assignment for item in items}
    assert by_quote["全年调解矛盾纠纷25件"].indicator.value == "disputes.mediated"
    assert by_quote["开展普法活动30场"].indicator.reason == "target"


# --- error classes: sentences composed for these tests ----------------------------------------------
def _area(name: str, context: str = "", unit: str = "次", before: str = "") -> tuple[str, str | None]:
    got = assign_metric(name, context or name, unit, before=before)
    return got.area.value, got.indicator.value


@pytest.mark.parametrize(("name", "area"), [
    ("组织消防安全培训", "emergency"),          # training on another area's work goes with that work
    ("开展依法行政专题培训", "study"),          # training on the law stays study
    ("开展政务公开工作督查", "oversight"),      # oversight of disclosure is oversight, not leadership
    ("开展法治建设督察", "leadership"),
    ("建成人民调解工作室", "disputes"),         # a venue named for another area's work
    ("建成公共法律服务工作站", "legal_services"),
    ("组织开展治安巡查检查", "emergency"),      # a check's subject decides, not the word 检查
    ("开展特种设备安全检查", "enforcement"),    # a regulated field's safety checks are enforcement
    ("评选星级文明户", "other"),                # village self-governance is not oversight
    ("组织开展法律进机关活动", "publicity"),    # 机关 in 进机关 is where 普法 went, not the audience
])
def test_form_words_give_way_to_the_subject(name: str, area: str) -> None:
    assert _area(name)[0] == area


def test_a_hand_out_goes_with_the_campaign_it_belongs_to() -> None:
    assert _area("发放折页", unit="份", before="开展防汛知识宣传 12 次，") == ("emergency", None)
    assert _area("发放折页", unit="份", before="开展宪法宣传 12 次，") == ("publicity", "publicity.materials")


def test_a_later_item_of_a_list_takes_the_lists_subject() -> None:
    assert _area("办结人数", "办结 20 人", unit="人", before="全年受理法律援助申请 25 人，")[0] == "legal_services"


@pytest.mark.parametrize(("name", "unit", "indicator"), [
    ("排查矛盾纠纷", "件", "disputes.screened"),
    ("排查矛盾纠纷", "次", None),                     # screenings held, not disputes screened
    ("提供法律咨询", "场", None),                     # sessions held, not consultations answered
    ("召开信访工作联席会议", "次", None),             # a meeting about petitions is not a petition
    ("开展普法进校园", "次", None),                   # one venue of 普法
    ("新增普法标语", "条", None),                     # slogans are not events
    ("开展执法", "起", None),                         # 起 counts cases, not inspections
    ("建成调解中心", "处", None),
    ("发送普法短信消息", "条", "publicity.posts"),
])
def test_an_indicator_counts_its_own_thing(name: str, unit: str, indicator: str | None) -> None:
    assert _area(name, unit=unit)[1] == indicator


def test_the_study_of_one_named_law_is_not_the_bodys_count() -> None:
    got = assign_metric("党委会传达学习", "党委会传达学习2次《中华人民共和国某某法》", "次", lead="党委会传达学习")
    assert got.area.value == "study" and got.indicator.value is None and got.indicator.reason == "one title"
