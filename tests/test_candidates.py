from llm_extract.candidates import find_candidates
from llm_extract.proposals import heading_category, metric_batches, problem_items
from llm_extract.segment import segment


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
