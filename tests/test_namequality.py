"""The name-quality measure (llm_extract.propose.namequality): broken names found without gold.

Sentences composed for the tests, not taken from reports/.
"""

import pytest

from llm_extract.propose.namequality import CUT, MEASURE_ONLY, SHORT, name_defect


def _defect(name, text, quote):
    start = text.index(quote)
    return name_defect(name, text, start, start + len(quote))


TEXT = "今年共受理群众来信36件，已办结31件，推进政务公开栏目更新52次。"


@pytest.mark.parametrize(
    ("name", "why"),
    [
        ("件", SHORT),
        ("事", SHORT),
        ("件数", MEASURE_ONLY),
        ("%", SHORT),
        ("率", SHORT),
        ("满意率", None),  # 满意 is a word: a rate of something
        ("了次数", MEASURE_ONLY),
        ("开展次数", MEASURE_ONLY),  # a light verb names nothing
        ("先后次数", MEASURE_ONLY),
        ("受理群众来信", None),
        ("群众来信已办结", None),
        ("理群众来信", CUT),  # starts inside 受理
        ("受理群众来", CUT),  # ends inside 来信
        ("务公开栏目更新", CUT),
        ("政务公开栏目更新次数", None),  # the measure code adds is not in the text: judged before it
    ],
)
def test_a_name_is_whole_words_of_what_is_counted(name, why):
    assert _defect(name, TEXT, "受理群众来信36件") == why


def test_the_cut_is_judged_in_the_sentence_of_the_quote():
    text = "组织干部旁听庭审8次。组织专题学法会议12场"
    assert _defect("专题学法会议", text, "组织专题学法会议12场") is None
    assert _defect("题学法会议", text, "组织专题学法会议12场") == CUT


def test_a_compound_parted_into_two_words_is_not_a_cut():
    # 充分发挥 is one dictionary entry made of 充分 and 发挥: starting at 发挥 cuts no word.
    text = "充分发挥调解委员会作用，调处纠纷15起"
    assert _defect("发挥调解委员会作用", text, "充分发挥调解委员会作用") is None
    assert _defect("挥调解委员会作用", text, "充分发挥调解委员会作用") == CUT
