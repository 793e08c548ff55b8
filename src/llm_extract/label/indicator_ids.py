"""The indicators that tables, review and the compare page know: id, area, kind and Chinese label.

The catalogue package (`catalogue`) is where indicators are defined, with definitions and cue
words; this module only reads what the comparable views need from it. Until the catalogue is
present, the ids listed by the design (the starting set every catalogue must hold) are used,
so that `llm-extract table`, review decisions and the compare page work against any database.
An id's area is the part before its dot (`functions` names the area `functions_services`).
"""

from __future__ import annotations

import functools
import importlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, get_args

from llm_extract.schemas import Area

AREAS: tuple[str, ...] = get_args(Area)
# The one id prefix that is not its area's name.
PREFIX_AREA = {"functions": "functions_services"}


@dataclass(frozen=True)
class Indicator:
    id: str
    area: str
    kind: str  # count, people, money, rate
    label: str


def area_of(indicator_id: str) -> str | None:
    """The area an indicator id belongs to, by its prefix; None when the prefix names no area."""
    prefix = indicator_id.partition(".")[0]
    area = PREFIX_AREA.get(prefix, prefix)
    return area if area in AREAS else None


# (id, kind, label): the starting set. Used only while the catalogue package is absent.
_STARTING_SET: tuple[tuple[str, str, str], ...] = (
    ("leadership.meetings_on_rule_of_law", "count", "专题研究法治建设会议"),
    ("study.collective_sessions", "count", "集中学法/中心组学法次数"),
    ("study.training_sessions", "count", "法治培训场次"),
    ("study.participants", "people", "学法培训人次"),
    ("study.exam_participation_rate", "rate", "学法考试参考率"),
    ("study.exam_pass_rate", "rate", "学法考试合格率"),
    ("functions.service_matters_handled", "count", "政务服务办件量"),
    ("functions.immediate_or_online_rate", "rate", "即办/网办率"),
    ("functions.approval_items", "count", "审批/许可事项"),
    ("rules.normative_documents_issued", "count", "制发规范性文件"),
    ("rules.normative_documents_reviewed", "count", "规范性文件合法性审核"),
    ("rules.documents_repealed", "count", "清理废止文件"),
    ("decisions.legality_reviews", "count", "合法性审查件数"),
    ("decisions.legality_review_rate", "rate", "合法性审查率"),
    ("decisions.legal_opinions", "count", "法律顾问出具意见"),
    ("decisions.major_decisions", "count", "重大行政决策事项"),
    ("decisions.public_consultations", "count", "公开征求意见"),
    ("enforcement.inspections", "count", "执法检查次数"),
    ("enforcement.cases", "count", "立案/处罚案件"),
    ("enforcement.fines", "money", "罚没金额"),
    ("enforcement.documents_served", "count", "执法文书"),
    ("enforcement.certified_officers", "people", "持证执法人员"),
    ("enforcement.case_file_reviews", "count", "案卷评查"),
    ("emergency.safety_inspections", "count", "安全检查"),
    ("emergency.hazards_found", "count", "排查隐患"),
    ("emergency.drills", "count", "应急演练"),
    ("disputes.screened", "count", "排查矛盾纠纷"),
    ("disputes.mediated", "count", "调解纠纷"),
    ("disputes.mediation_success_rate", "rate", "调解成功率"),
    ("disputes.petitions_received", "count", "受理信访件"),
    ("disputes.petition_visits", "people", "来访人次"),
    ("disputes.petition_completion_rate", "rate", "信访办结率"),
    ("disputes.hotline_requests", "count", "12345热线诉求"),
    ("disputes.reconsideration_cases", "count", "行政复议案件"),
    ("disputes.litigation_cases", "count", "行政诉讼案件"),
    ("disputes.head_appearance_rate", "rate", "负责人出庭应诉率"),
    ("disputes.mediators", "people", "调解员"),
    ("oversight.npc_suggestions", "count", "办理人大代表建议"),
    ("oversight.cppcc_proposals", "count", "办理政协委员提案"),
    ("oversight.procuratorial_recommendations", "count", "检察建议"),
    ("oversight.information_published", "count", "主动公开政府信息"),
    ("oversight.disclosure_requests", "count", "依申请公开"),
    ("publicity.events", "count", "普法活动场次"),
    ("publicity.materials", "count", "发放普法资料"),
    ("publicity.posts", "count", "普法推送"),
    ("publicity.audience", "people", "普法受众人次"),
    ("legal_services.consultations", "count", "法律咨询"),
    ("legal_services.legal_aid", "count", "法律援助案件"),
    ("legal_services.service_points", "count", "公共法律服务站点"),
    ("legal_services.community_corrections", "people", "社区矫正对象"),
)


def _field(entry: Any, name: str) -> Any:
    return entry.get(name) if isinstance(entry, Mapping) else getattr(entry, name, None)


def _from_catalogue() -> list[Indicator] | None:
    """The catalogue's indicators (`catalogue.load().indicators`, or a module-level INDICATORS),
    or None while there is no catalogue package. Entries may be objects or mappings with id, area,
    kind and label (label_zh or zh are read as the label)."""
    try:  # imported by name: the package may not exist yet
        catalogue = importlib.import_module(f"{__package__}.catalogue")
    except ImportError:
        return None
    loader = getattr(catalogue, "load", None)
    entries: Any = getattr(loader(), "indicators", None) if callable(loader) else getattr(catalogue, "INDICATORS", None)
    if entries is None:
        return None
    if isinstance(entries, Mapping):
        entries = entries.values()
    found = []
    for entry in entries if isinstance(entries, Iterable) else ():
        ident = _field(entry, "id")
        if not ident:
            continue
        label = _field(entry, "label") or _field(entry, "label_zh") or _field(entry, "zh") or ident
        found.append(Indicator(str(ident), str(_field(entry, "area") or area_of(str(ident)) or "other"),
                               str(_field(entry, "kind") or ""), str(label)))
    return found or None


@functools.cache
def indicators() -> dict[str, Indicator]:
    """Every known indicator by id, in catalogue order."""
    listed = _from_catalogue()
    if listed is None:
        listed = [Indicator(ident, area_of(ident) or "other", kind, label) for ident, kind, label in _STARTING_SET]
    return {ind.id: ind for ind in listed}


# The units a kind's values are stated in, by class: a rate is a percentage, money is in 元 (the
# number parser reads 万元 as 10,000 元); counts of things and of people are in anything else.
KIND_UNITS = {"rate": ("%",), "money": ("元",)}


def kind_fits(kind: str, unit: str) -> bool:
    """Whether a value in this unit can be a quantity of this kind (unknown kinds fit anything)."""
    if kind in KIND_UNITS:
        return unit in KIND_UNITS[kind]
    if kind in ("count", "people"):
        return not any(unit in units for units in KIND_UNITS.values())
    return True
