"""Problem items (llm_extract.label.proposals.problem_items): this year's admitted shortcomings, whole.

Reports composed for the tests, not taken from reports/.
"""

from llm_extract.label.proposals import heading_category, problem_items
from llm_extract.propose.segment import segment


def _problems(text):
    return [item.quote for span in segment(text) if span.level == 1 and heading_category(span.title) == "problems"
            for item in problem_items(text, span)]


def test_last_years_problems_and_their_rectification_are_not_this_years():
    text = ("一、主要工作\n开展普法12次。\n二、上年度存在问题整改情况\n针对上年度执法不规范问题，已全部整改到位。\n"
            "三、存在的不足\n一是普法形式单一；二是执法人员不足。\n")
    assert heading_category("上一年度法治政府建设存在问题的整改情况") == "other"
    assert heading_category("去年督察反馈问题整改落实情况") == "other"
    assert _problems(text) == ["普法形式单一", "执法人员不足"]


def test_a_rectification_paragraph_inside_a_problems_section_is_left_out():
    text = "二、存在的问题\n针对去年指出的问题，我局已整改完毕。\n法治宣传覆盖面不广，群众参与度不高。\n"
    assert _problems(text) == ["法治宣传覆盖面不广，群众参与度不高"]


def test_a_combined_section_holds_problems_then_plans():
    text = ("三、存在的问题及下一步打算\n（一）存在问题\n1.普法形式单一。群众参与不多，效果不好。\n"
            "2.执法队伍专业人员不足。\n（二）下一步打算\n1.加强执法培训。\n四、其他\n无。\n")
    assert _problems(text) == ["普法形式单一。群众参与不多，效果不好", "执法队伍专业人员不足"]


def test_items_split_at_enumerators_not_at_every_sentence():
    enumerated = "三、存在问题\n一是普法不深入。由于人手少，效果差；二是执法不规范。下一步，我们将加强培训。\n"
    assert _problems(enumerated) == ["普法不深入。由于人手少，效果差", "执法不规范"]
    bracketed = "三、存在问题\n（一）基层法治力量薄弱。人员流动大。\n（二）行政决策程序不够规范。\n"
    assert _problems(bracketed) == ["基层法治力量薄弱。人员流动大", "行政决策程序不够规范"]
    # not enumerated: one item per paragraph, its explanation with it
    plain = "二、存在的不足\n法治宣传覆盖面不够广。宣传形式较为单一。\n执法人员业务能力有待提高。\n"
    assert _problems(plain) == ["法治宣传覆盖面不够广。宣传形式较为单一", "执法人员业务能力有待提高"]


def test_a_report_with_no_problems_says_nothing():
    assert _problems("二、存在的问题\n无。\n三、下一步\n加强学习。\n") == []
    assert _problems("二、存在的问题\n暂无。\n") == []
