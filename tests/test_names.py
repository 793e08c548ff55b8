"""Code names (llm_extract.propose.names): the counted thing, not the clause around the number.

Sentences composed for the tests, not taken from reports/.
"""

import pytest

from llm_extract.propose.candidates import find_candidates
from llm_extract.propose.names import clean_lead, code_name
from llm_extract.label.proposals import metric_batches


def _names(text):
    return [code_name(text, c) for c in find_candidates(text) if not c.is_excluded]


@pytest.mark.parametrize(
    ("text", "name"),
    [
        # time and totaliser words
        ("今年以来累计开展消防安全检查46次", "消防安全检查"),
        ("年内共计调处邻里纠纷31起", "调处邻里纠纷"),
        ("截至目前，受理法律援助申请57件", "受理法律援助申请"),
        ("全年先后组织普法骨干培训9场", "普法骨干培训"),
        # scope words, the reporting body, enumerators, manner adverbs
        ("全县共排查安全隐患230处", "排查安全隐患"),
        # 全 + a unit word says where; 全 before a word that only begins like a unit (社会, 道路) is
        # part of what is counted
        ("全街道共排查隐患230处", "排查隐患"),
        ("开展全社会普法宣传活动15场", "全社会普法宣传活动"),
        ("完成全道路巡查80公里", "全道路巡查"),
        ("我局共办理政府信息公开申请35件", "办理政府信息公开申请"),
        ("一是依法查处无证经营行为12起", "查处无证经营行为"),
        ("其中，积极化解信访积案6件", "化解信访积案"),
        # trailing words of amounting
        ("发放法治宣传手册达1200余册", "发放法治宣传手册"),
        ("收看庭审直播人数为300人", "收看庭审直播人数"),
        # determiners and the head of a 的-phrase
        ("清理各类过期公告栏40处", "清理过期公告栏"),
        ("组织以防汛为主题的应急演练5次", "应急演练"),
        # a phrase of means before a light verb
        ("依托微信群、广播等方式开展政策宣讲20场", "政策宣讲"),
    ],
)
def test_names_drop_what_is_not_the_counted_thing(text, name):
    assert _names(text) == [name]


@pytest.mark.parametrize(
    ("text", "name"),
    [
        ("新组建11个网格化服务小组", "网格化服务小组"),  # setting up: the noun is the thing
        ("为各村配备有3名专职调解员", "专职调解员"),
        ("先后聘用2名法律顾问", "聘用法律顾问"),  # a content verb stays with its noun
        ("拆除8处违章搭建", "拆除违章搭建"),
    ],
)
def test_the_noun_after_a_classifier_is_the_counted_thing(text, name):
    assert _names(text) == [name]


def test_names_of_people_and_money_say_what_they_measure():
    assert _names("年内参加庭审旁听65人，收缴罚款8.5万元") == ["参加庭审旁听人数", "收缴罚款金额"]
    assert _names("接收社区服刑人员12人") == ["接收社区服刑人员"]  # already names people


def test_a_percentage_after_a_verb_of_change_names_the_change():
    assert _names("行政诉讼败诉率同比下降5%，群众满意率较去年提升2个百分点") == ["行政诉讼败诉率降幅", "群众满意率增幅"]


def test_paired_counts_are_named_from_the_first():
    # 批 and 人次 in one phrase: two metrics, the second named from the first one's words.
    assert _names("接待群众来访35批47人次") == ["接待群众来访批次", "接待群众来访人次"]
    assert _names("受理信访15批，走访农户9户26人") == ["受理信访", "走访农户户数", "走访农户人数"]


def test_a_lone_verb_gets_its_measure():
    assert _names("全年执法52次") == ["执法次数"]
    # counted in times, the action is the event: no object needed from the clause before
    assert _names("成立普法讲师团，培训12场")[-1] == "培训场次"


def test_clean_lead_keeps_a_name_made_only_of_content_words():
    assert clean_lead("新增普法宣传栏") == "新增普法宣传栏"  # 新增 is a verb, not 新 + verb
    assert clean_lead("村规民约") == "村规民约"  # 约 ends a noun here, it is not an approximation
    assert clean_lead("全镇") == ""


def test_rules_labeller_uses_the_code_name():
    from llm_extract.label.labellers import RulesLabeller

    text = "一是今年以来累计开展消防安全检查46次，发放宣传册800份。"
    (batch,) = metric_batches(text)
    labels, _ = RulesLabeller().metric_labels(batch)
    assert [label.name for label in labels] == ["消防安全检查", "发放宣传册"]
    assert [item.code_name for item in batch.items] == ["消防安全检查", "发放宣传册"]


@pytest.mark.parametrize(
    ("text", "name"),
    [
        # a list before 等 gives examples; the head after it is what is counted
        ("作出撤销、变更等纠错决定14件", "纠错决定"),
        # a level reached is named by the thing, not by the change
        ("行政复议调解率提高至38%", "行政复议调解率"),
        # a verb nominalised by a measure (覆盖率) is a noun, not a verb to drop
        ("法律顾问覆盖率达100%", "法律顾问覆盖率"),
        # words that only modify the noun (…的), or a conjunct of another count, give no verb
        ("涉及审批的45项办理事项", "办理事项"),
        # a noun that runs on into its predicate ends at its head word
        ("对16家企业给予警告处理和责令限期整改", "企业数"),
        # a directional complement is not the verb
        ("服务范围延伸到18个村", "延伸村"),
    ],
)
def test_names_by_the_structure_of_the_phrase(text, name):
    assert _names(text) == [name]


@pytest.mark.parametrize(
    ("text", "name"),
    [
        # words that name nothing give way to what the clause before names
        ("组织班子成员集中学习宪法，先后9次", "班子成员集中学习宪法"),
        ("组织班子成员集中学习宪法先后9次", "班子成员集中学习宪法"),
        ("全年组织普法讲座，开展了6次", "普法讲座"),
        ("今年开展普法宣传，开展次数达15次", "普法宣传"),
        # a bare verb gets the object the clause before acted on
        ("受理群众来信36件，已办结31件", "群众来信办结"),
        ("收到群众咨询15件，答复12件", "群众咨询答复"),
        # the object is in the nearest clause that has one
        ("全年审理行政复议案件15件，其中维持11件，纠错4件", "行政复议案件纠错"),
    ],
)
def test_a_clause_that_does_not_say_what_it_counts_continues_the_one_before(text, name):
    assert _names(text)[-1] == name


def test_a_verb_of_purpose_is_not_the_thing_measured():
    assert _names("确保群众满意率达到98%") == ["群众满意率"]
    assert _names("力争行政复议案件按期办结率100%") == ["行政复议案件按期办结率"]


def test_names_start_and_end_at_word_boundaries():
    # 正 begins predicates (正在…) but not inside 矫正
    assert _names("镇司法所新接收2名社区矫正对象") == ["接收社区矫正对象"]
    # the verb before a classifier is its last whole word, not its last two characters
    assert _names("目前该镇新聘请1名律师") == ["聘请律师"]
    # a number that is not a count is part of the next clause's words, not its boundary
    assert _names("推行“开办一件事”三项") == ["开办一件事"]


@pytest.mark.parametrize(
    "text",
    ["受理群众来信36件，已办结31件", "组织干部旁听庭审，先后9次", "全年办理行政复议案件，共12宗",
     "今年开展普法宣传，开展次数达15次", "确保群众满意率达到98%", "推行“开办一件事”三项"],
)
def test_no_code_name_is_broken(text):
    from llm_extract.propose.namequality import name_defect

    for c in find_candidates(text):
        if not c.is_excluded:
            assert name_defect(code_name(text, c), text, c.quote_start, c.quote_end) is None, text
