"""Which metric category a clause's own words name. Pure functions, no I/O.

Each category of the schema (README, "Categories") is defined by what is counted, and the report
says what is counted in a small domain vocabulary: 调解 and 纠纷 are disputes, 矫正 is community
correction, 网格 is grid governance. The cue words below are the words of the categories'
definitions (the same words the system prompt uses to define them), not phrases met in any report.
When the words of a metric's name and clause point to exactly one category, that category is
settled by code; a model's category that contradicts it is replaced and counted. When they point
to none or to several, only a model can decide.
"""

from __future__ import annotations

from llm_extract.schemas import MetricCategory

CATEGORY_CUES: dict[MetricCategory, tuple[str, ...]] = {
    "study_training": ("学法", "培训", "学习", "考试", "讲座", "授课"),
    "publicity": ("宣传", "普法", "发放", "标语", "横幅", "推送", "展板", "宣讲", "受教育"),
    "enforcement": ("执法", "检查", "查处", "罚款", "立案", "案件", "整治", "处罚", "文书", "通知书"),
    "disputes_petitions": ("调解", "纠纷", "信访", "接访", "下访", "矛盾", "研判"),
    "transparency_supervision": ("公开", "督查", "红榜", "黄榜", "政务信息"),
    "safety": ("安全", "隐患", "演练", "巡查", "消防", "应急"),
    "legal_services": ("法律咨询", "法律援助", "法律顾问", "律师", "咨询", "援助"),
    "community_correction": ("矫正",),
    "grid_governance": ("网格",),
}


def cued_categories(text: str) -> set[MetricCategory]:
    return {category for category, cues in CATEGORY_CUES.items() if any(cue in text for cue in cues)}


def settled_category(*texts: str) -> MetricCategory | None:
    """The one category the words point to, or None when they point to none or to several."""
    found = cued_categories("".join(texts))
    return found.pop() if len(found) == 1 else None
