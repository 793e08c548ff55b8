import pytest

from llm_extract.propose.candidates import find_candidates
from llm_extract.label.proposals import heading_category, metric_batches, problem_items
from llm_extract.propose.segment import segment


def _reasons(text):
    return [(text[c.quantity.start:c.quantity.end], c.exclusion) for c in find_candidates(text)]


def test_guide_exclusions_are_named():
    text = "持续推进“百名干部包百社入千户”行动，创新推行十户联防，严格执行“三项制度”，作为考核一项指标，执法人员需2人以上，排名第3名。"
    reasons = dict(_reasons(text))
    assert reasons["百名"] == "name in quotation marks"
    assert reasons["十户"].startswith("fixed name")
    assert reasons["一项"] == "一X used as an article"
    assert reasons["2人以上"].startswith("rule or threshold")
    assert reasons["3名"] == "ordinal"


def test_clause_quote_starts_after_delimiter_and_enumerator():
    text = "成效明显。一是开展安全知识宣传 60 余次，发放宣传册 900 余份。"
    quotes = [text[c.quote_start:c.quote_end] for c in find_candidates(text)]
    assert quotes == ["开展安全知识宣传 60 余次", "发放宣传册 900 余份"]


def test_batches_have_fixed_size_and_show_the_counted_noun(report_texts):
    text = report_texts["002_f3ad0f8b935bdfdd.txt"]
    batches = metric_batches(text)
    assert [len(b.items) for b in batches[:-1]] == [8] * (len(batches) - 1)
    shown = [i.shown for b in batches for i in b.items]
    assert "年内共成立19个镇级专项普法工作队" in shown


def test_problem_items_split_on_enumeration_and_stop_at_next_steps(report_texts):
    text = report_texts["000_bfd2e8a3485ea91a.txt"]
    (problems,) = [s for s in segment(text) if s.level == 1 and heading_category(s.title) == "problems"]
    items = problem_items(text, problems)
    assert [i.quote for i in items] == [
        "在履行行政职能上，还有待进一步提升行政办事效率",
        "行政决策机制及制度建设仍需进一步加强和完善",
        "行政执法配合能力还有待进一步提高",
    ]
    assert all(text[i.start:i.end] == i.quote for i in items)


def test_heading_rules():
    assert heading_category("存在的问题和下一步打算") == "problems"
    assert heading_category("2025年度推进法治政府建设工作计划") == "plans"
    assert heading_category("履行法院生效裁判情况") == "court_judgments"
    assert heading_category("强化组织领导，抓好法治政府责任落实") is None


# --- Exclusions by class (issue 9). Sentences composed for the tests, not taken from reports/. ---

def _by_raw(text):
    return {text[c.quantity.start:c.quantity.end]: c for c in find_candidates(text)}


def _kept(text):
    return [text[c.quantity.start:c.quantity.end] for c in find_candidates(text) if not c.is_excluded]


@pytest.mark.parametrize(
    ("text", "raw"),
    [
        ("服务大厅实行一次性告知", "一次"),  # fused: numeral + classifier + 性
        ("推行一户一档管理", "一户"),  # set phrase 一X一Y, first 一
        ("落实一人一档、一事一策", "一人"),
        ("推进一件事一次办改革", "一件"),  # set phrase, X of two characters
        ("推进一件事一次办改革", "一次"),  # set phrase, the second 一
        ("与村民一起学习宪法", "一起"),  # adverb: together
    ],
)
def test_set_phrases_and_fused_words_are_not_counts(text, raw):
    assert _by_raw(text)[raw].exclusion.startswith("fixed name")


@pytest.mark.parametrize(
    ("text", "raw"),
    [
        ("紧盯两个重点", "两个"),
        ("从六个方面推进依法行政", "六个"),
        ("公布权责三张清单", "三张"),
        ("聚焦九个重点领域开展整治", "九个"),
        ("严格遵守四项规定", "四项"),
        ("完善五项机制", "五项"),
    ],
)
def test_a_chinese_numeral_naming_a_scope_is_not_a_count(text, raw):
    assert _by_raw(text)[raw].exclusion.startswith("fixed name")


def test_the_same_scope_words_with_digits_are_counts():
    # Arabic digits are strong evidence of a count.
    text = "检查覆盖6个领域，梳理权责清单3张，整改问题涉及12个方面"
    assert _kept(text) == ["6个", "3张", "12个"]


def test_a_chinese_numeral_naming_a_classification_or_a_set_is_not_a_count():
    text = "摸排三类重点人群，推进四大板块建设，归集5类数据，覆盖6大行业领域"
    reasons = {raw: c.exclusion for raw, c in _by_raw(text).items()}
    assert reasons["三类"] == "classification, not a count"
    assert reasons["四大板块"].startswith("fixed name")
    assert reasons["5类"] is None and reasons["6大行业领域"] is None


@pytest.mark.parametrize(
    ("text", "raw"),
    [
        ("推行五户联保、两级联审、三网融合", "五户"),  # listed beside phrases that are not counts
        ("推行八户联防，守护平安", "八户"),  # a verb of joint action after the classifier
        ("实行四次回访、一线办结", "四次"),  # beside a phrase whose numeral is not a quantity
    ],
)
def test_four_character_slogans_are_not_counts(text, raw):
    assert _by_raw(text)[raw].exclusion == "fixed name: slogan of four-character phrases"


def test_counts_side_by_side_are_not_slogans():
    text = "邀请两名律师、三名法官，参与调解"
    candidates = _by_raw(text)
    assert [candidates[r].exclusion for r in ("两名", "三名")] == [None, None]
    assert all(candidates[r].needs_model for r in ("两名", "三名"))


def test_bare_round_numerals_and_session_numbers_are_not_counts():
    reasons = {raw: c.exclusion for raw, c in _by_raw("开展千人进万家活动，学习十九届六中全会精神").items()}
    assert reasons["千人"].startswith("figure of speech")
    assert reasons["万家"].startswith("figure of speech")
    assert reasons["十九届"].startswith("ordinal")


@pytest.mark.parametrize(("text", "raw", "value"), [
    ("走访困难群众数十次", "数十次", 10),
    ("组织近百人参加旁听", "近百人", 100),
    ("全年受理群众诉求上千件", "上千件", 1000),
    ("向居民发放宣传单约万份", "约万份", 10000),
])
def test_approximate_round_numbers_are_counts_with_approx(text, raw, value):
    (candidate,) = find_candidates(text)
    assert candidate.exclusion is None and candidate.quantity.approx
    assert (text[candidate.quantity.start:candidate.quantity.end], candidate.quantity.value) == (raw, value)


@pytest.mark.parametrize(("text", "raw", "reason"), [
    # slogans of any numerals, N X N' Y
    ("开展“两学一做”之外，推行三个三帮机制", "三个", "fixed name: set phrase 一X一Y"),
    ("打造六个一服务品牌", "六个", "fixed name: set phrase 一X一Y"),
    # service slogans: an upper bound, and "not even once"
    ("深化最多跑一次改革", "一次", "rule or threshold, not a count of what was done"),
    ("让群众办事一次都不跑", "一次", "fixed name: slogan of four-character phrases"),
    # sessions numbered by 届 and 次
    ("传达学习十四届三次全会精神", "三次", "ordinal: a session number"),
    ("学习党的三次全会精神", "三次", "ordinal: a session number"),
    ("在县政府第3次常务会议上研究", "3次", "ordinal"),
])
def test_slogans_and_session_numbers_are_not_counts(text, raw, reason):
    assert _by_raw(text)[raw].exclusion == reason


def test_counts_beside_slogan_look_alikes_stay_counts():
    kept = _by_raw("接访群众两批三人次，召开三次全体会议，召开党委会议4次")
    assert all(kept[raw].exclusion is None for raw in ("两批", "三人次", "三次", "4次"))


def test_a_meeting_numbered_by_its_session_does_not_bound_the_next_clause():
    text = "在县政府第3次常务会议上审议议题12个"
    (counted,) = [c for c in find_candidates(text) if not c.is_excluded]
    assert text[counted.quote_start:counted.quote_end] == text


def test_chinese_numeral_counts_are_kept_for_the_model_to_arbitrate():
    text = "新录用两名法律专业人员，向群众发放三份告知书，召开一次专题会议"
    candidates = _by_raw(text)
    for raw in ("两名", "三份", "一次"):
        assert candidates[raw].exclusion is None and candidates[raw].needs_model, raw


def test_digit_counts_do_not_need_the_model():
    (candidate,) = find_candidates("传达学习文件精神1次")
    assert candidate.exclusion is None and not candidate.needs_model


def test_one_as_an_article_is_not_a_count():
    reasons = {raw: c.exclusion for raw, c in _by_raw("打造一支过硬队伍，形成一批典型案例，作为一项硬任务").items()}
    assert set(reasons.values()) == {"一X used as an article"}


@pytest.mark.parametrize(
    ("text", "excluded", "kept"),
    [
        ("贯彻落实国家15条稳增长政策措施和省22条", ["15条", "22条"], []),
        # measures the body issued itself are its output; a higher issuer's package is not
        ("出台优化营商环境12条措施", [], ["12条"]),
        ("印发稳企惠民8条举措", [], ["8条"]),
        ("落实稳经济12条措施", ["12条"], []),
        ("认真落实国家33条和省48条", ["33条", "48条"], []),
        ("认真落实中央八项规定精神", ["八项"], []),
        ("全省排查隐患48条，落实整改措施", [], ["48条"]),  # 全省 is a territory, not an issuer
        ("收集群众意见建议30条", [], ["30条"]),  # no policy verb: suggestions gathered are counted
        ("落实整改，提出意见12条", [], ["12条"]),  # the unit after the noun counts
    ],
)
def test_policy_packages_named_by_their_count(text, excluded, kept):
    reasons = {raw: c.exclusion for raw, c in _by_raw(text).items()}
    assert [r for r in excluded if reasons[r] == "policy package named by its count"] == excluded
    assert [r for r in kept if reasons[r] is None] == kept


def test_thresholds_are_decided_within_their_clause():
    text = "执法时须2人以上，每村至少配备1名调解员。按照工作需要，31个社区设立调解室，满足群众需求3项"
    reasons = {raw: c.exclusion for raw, c in _by_raw(text).items()}
    assert reasons["2人以上"].startswith("rule or threshold")
    assert reasons["1名"].startswith("rule or threshold")
    assert reasons["31个"] is None  # 需要 in the previous clause does not reach it
    assert reasons["3项"] is None  # 需求 is a noun, not a modal
    assert _kept("配齐所需3名调解员，急需2名律师") == ["3名", "2名"]  # adjectives, not modals


def test_ranks_durations_and_deadlines_are_not_counts():
    text = "考核位列全市前3名，开展为期2个月的整治，承诺5个工作日内办结，实行24小时值班，全年服务120小时"
    reasons = {raw: c.exclusion for raw, c in _by_raw(text).items()}
    assert reasons["3名"] == "rank, not a count"
    assert reasons["2个月"].startswith("duration")
    assert reasons["5个工作日"].startswith("duration")
    assert reasons["24小时"].startswith("duration")
    assert reasons["120小时"] is None


def test_quote_drops_a_totaliser_at_the_clause_start():
    text = "全年累计开展普法讲座18场，共计发放资料900份"
    quotes = [text[c.quote_start:c.quote_end] for c in find_candidates(text)]
    assert quotes == ["全年累计开展普法讲座18场", "发放资料900份"]
