"""The measure-word inventory (llm_extract.propose.lexicon) as the number parser uses it.

Every sentence here is composed for the test, not taken from reports/: the rules must hold for
text the project has never seen.
"""

import pytest

from llm_extract.propose import lexicon
from llm_extract.propose.candidates import find_candidates
from llm_extract.propose.numbers import UNITS, find_quantities


def _read(text):
    return [(text[q.start:q.end], q.value, q.value_max, q.unit, q.approx) for q in find_quantities(text)]


def test_inventory_is_data_in_one_place_and_longest_first():
    assert UNITS == sorted(UNITS, key=len, reverse=True)
    assert set(lexicon.UNITS) == set(UNITS)
    for group in (lexicon.INDIVIDUAL_CLASSIFIERS, lexicon.COLLECTIVE_CLASSIFIERS, lexicon.EVENT_CLASSIFIERS,
                  lexicon.COMPOUND_CLASSIFIERS, lexicon.TIME_UNITS, lexicon.MONEY_UNITS,
                  lexicon.MEASURE_UNITS, lexicon.RATIO_UNITS, lexicon.QUASI_CLASSIFIERS):
        assert set(group) <= set(UNITS)


@pytest.mark.parametrize(
    ("text", "unit", "value"),
    [
        # collective and kind classifiers, missing before issue 9
        ("窗口全年接待来访群众86批", "批", 86),
        ("分3批次完成人员轮训", "批次", 3),
        ("归集7类公共信用数据", "类", 7),
        ("覆盖4大类审批事项", "大类", 4),
        ("上线电子证照95种", "种", 95),
        ("组建法律服务小分队6支", "支", 6),
        ("成立调解小组12组", "组", 12),
        # individual classifiers of standard grammar
        ("出动执法车辆45辆", "辆", 45),
        ("清理违规渔船8艘", "艘", 8),
        ("补植苗木1600株", "株", 1600),
        ("收缴违禁网具30张", "张", 30),
        ("开设普法课程5门", "门", 5),
        ("办理公证业务260笔", "笔", 260),
        ("评查行政执法案卷150卷", "卷", 150),
        ("制发行政执法文书88份", "份", 88),
        ("购置执法记录仪20台", "台", 20),
        # event and compound classifiers
        ("组织法律知识测试2轮", "轮", 2),
        ("出动执法车辆310台次", "台次", 310),
        ("检查商户1400户次", "户次", 1400),
        ("走访企业73家次", "家次", 73),
        ("召开听证会4场次", "场次", 4),
        # time, money, measures, ratios
        ("累计授课64课时", "课时", 64),
        ("人均学法42学时", "学时", 42),
        ("收缴罚没款3.6万元", "元", 36000),
        ("拆除违建2300平方米", "平方米", 2300),
        ("巡河里程480公里", "公里", 480),
        ("清运垃圾12吨", "吨", 12),
        ("复垦耕地35亩", "亩", 35),
        ("败诉率下降1.5个百分点", "个百分点", 1.5),
        ("案件量增长2倍", "倍", 2),
        ("群众知晓率提高到9成", "成", 9),
        # quasi-classifiers and the pseudo-classifier 大
        ("联合12部门开展整治", "部门", 12),
        ("检查覆盖5大重点领域", "领域", 5),
    ],
)
def test_measure_words_of_standard_grammar_are_units(text, unit, value):
    (found,) = find_quantities(text)
    assert (found.unit, found.value) == (unit, value)


def test_a_unit_after_a_noun_and_a_unit_before_it():
    # "个 + noun": the unit stands before the counted noun and is still found.
    assert [(q.value, q.unit) for q in find_quantities("法律顾问进驻27个社区，服务站点覆盖社区27个")] == [
        (27, "个"), (27, "个")]


def test_two_quantities_in_one_phrase_are_two_quantities():
    # 批 and 人次 in one phrase: each number is a metric.
    assert _read("接待群众来访35批47人次") == [("35批", 35, None, "批", False), ("47人次", 47, None, "人次", False)]
    assert _read("走访9户26人") == [("9户", 9, None, "户", False), ("26人", 26, None, "人", False)]


def test_a_range_stays_one_quantity():
    assert _read("每月巡查3-5次") == [("3-5次", 3, 5, "次", False)]
    assert _read("每季度开展2至3场") == [("2至3场", 2, 3, "场", False)]


@pytest.mark.parametrize(
    ("text", "value", "approx"),
    [("办结率达到百分之百", 100, False), ("知晓率百分之九十以上", 90, True), ("满意率超过百分之九十五", 95, True)],
)
def test_percentages_in_words(text, value, approx):
    (found,) = find_quantities(text)
    assert (found.value, found.unit, found.approx) == (value, "%", approx)


@pytest.mark.parametrize(
    "text",
    [
        "2023年3月15日召开会议",  # dates: 年, 月 and 日 are not units
        "学习党的二十大精神",  # 大 without a head noun is not a unit
        "按照三级联动机制运行",  # 级 (levels) is not a unit
        "全体干部群众参与",  # no number
    ],
)
def test_classifier_characters_that_start_another_word_are_not_units(text):
    assert find_quantities(text) == []


@pytest.mark.parametrize(
    "text",
    [
        "聘请法律顾问的5成员单位",  # 成 starts 成员: not tenths
        "严格执行3部署要求",  # 部 starts 部署
        "落实党政主要负责人1把手责任",  # 把 starts 把手
        "研究提出3处理意见",  # 处 starts 处理
        "整改5条例行检查问题",  # 条 starts 条例
        "落实2人员分工",  # 人 starts 人员
    ],
)
def test_a_classifier_that_begins_a_word_is_not_a_unit(text):
    # The segmenter decides (candidates.unit_begins_word), not a list of words.
    assert find_candidates(text) == []


def test_a_classifier_before_a_word_of_its_own_still_counts():
    assert [c.quantity.raw for c in find_candidates("共有12名单位负责人参加，19个人获奖")] == ["12名", "19个"]


def test_a_multiplier_does_not_split_a_unit():
    assert _read("修建步道3千米") == [("3千米", 3, None, "千米", False)]
    assert _read("罚款3千元") == [("3千元", 3000, None, "元", False)]


def test_longest_unit_wins():
    assert [q.unit for q in find_quantities("培训5人次，检查2批次，工期3个月，提升4个百分点")] == [
        "人次", "批次", "个月", "个百分点"]
