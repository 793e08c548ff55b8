from llm_extract.evaluate.gold import load_gold_dir
from llm_extract.propose.segment import find_headings, segment
from tests.support.paths import GOLD


def test_heading_lists_match_the_gold_set_exactly(report_texts):
    """The gold headings were labelled by reading the texts; segmentation must reproduce them."""
    golds = load_gold_dir(GOLD)
    for name, text in report_texts.items():
        got = [(s.level, s.number, s.title, s.char_start) for s in segment(text)]
        want = [(s.level, s.number, s.title, s.char_start) for s in golds[name].sections]
        assert got == want, name


def test_spans_cover_their_text_and_nest(report_texts):
    for text in report_texts.values():
        spans = segment(text)
        for span in spans:
            assert 0 <= span.char_start < span.body_start <= span.char_end <= len(text)
            if span.parent is not None:
                parent = spans[span.parent]
                assert parent.level < span.level
                assert parent.char_start < span.char_start and span.char_end <= parent.char_end


def test_inline_heading_title_stops_at_first_full_stop():
    text = "一、总结\n（一）强化组织领导，引领政治建设。一是成立领导小组。\n"
    (_, (level, number, title, start, body)) = find_headings(text)
    assert (level, number, title) == (2, "一", "强化组织领导，引领政治建设")
    assert text[body:].startswith("一是")


def test_repeated_number_and_markdown_noise_do_not_break_the_tree():
    text = "### 一、总结\n（四）甲。\n（五）乙。\n（四）丙。\n## 二、问题\n一是不足。\n"
    spans = segment(text)
    assert [(s.level, s.number, s.title, s.parent) for s in spans] == [
        (1, "一", "总结", None), (2, "四", "甲", 0), (2, "五", "乙", 0), (2, "四", "丙", 0), (1, "二", "问题", None),
    ]
    assert text[spans[0].char_start:].startswith("一、总结")


def test_enumerations_and_decimals_are_not_headings():
    assert find_headings("一是加强学习。\n2.5万余元罚款。\n") == []


def test_level_three_headings():
    text = "三、职责\n（1） 强化组织领导\n正文。\n1. 完善机制\n正文。\n"
    assert [(h[0], h[1], h[2]) for h in find_headings(text)] == [(1, "三", "职责"), (3, "1", "强化组织领导"), (3, "1", "完善机制")]
