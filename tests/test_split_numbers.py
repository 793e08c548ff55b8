"""The safety net under every converter: a quantity is never read across a line break that
splits its number or parts it from its unit. Such a candidate is refused with its reason and
counted as dropped, never stored with part of its value."""

from __future__ import annotations

import pytest

from llm_extract.propose.candidates import SPLIT, find_candidates
from llm_extract.ingest.documents import load
from llm_extract.run.extract import extract_document
from llm_extract.label.labellers import RulesLabeller

SPLIT_TEXTS = [
    "全年办理复议事项共计4\n3项",  # digit | digit: 3项 would be a part of 43项
    "受理群众来信4\n8件",
    "开门接访102\n批",  # number | unit
    "矛盾化解率100\n%",
    "审批时限压缩达92.\n42%",  # decimal point | digits
    "审批时限压缩达92\n.42%",
    "每季度培训1-\n2次",  # inside a range
    "投入资金35\n6.8万元",
    "投入资金3\n万元",  # number | multiplier and unit
    "审结案件1,\n200件",
    "共计十\n二项",  # a Chinese numeral split
    "审结犯罪案件1 0件",  # a space between two digits splits a number too
    "办结事项4 \n 3项",
]
WHOLE_TEXTS = [
    "2024年\n3项制度落地",  # the line before ends in a word, not a number
    "工作扎实。\n3项制度落地",
    "全县统一\n3项标准",
    "培训12次\n共计43项",
    "共开展 12 次",  # spaces around a number are no split
    "合计：12\n\n第二部分",  # no quantity
]


@pytest.mark.parametrize("text", SPLIT_TEXTS)
def test_a_number_split_by_a_break_is_refused(text):
    found = find_candidates(text)
    assert found and all(c.exclusion == SPLIT and not c.needs_model for c in found), found


@pytest.mark.parametrize("text", WHOLE_TEXTS)
def test_a_number_after_a_break_that_does_not_split_it_stays(text):
    assert all(c.exclusion != SPLIT for c in find_candidates(text))


def test_split_numbers_are_counted_and_never_stored(tmp_path):
    body = "。".join(t.replace("\n", "\n") for t in SPLIT_TEXTS)
    text = "某镇2024年法治政府建设工作报告\n" + body + "。另开展普法活动12场。\n"
    (tmp_path / "r.txt").write_text(text, encoding="utf-8")
    run = extract_document(load(tmp_path / "r.txt"), RulesLabeller())
    assert [(m.value, m.unit) for m in run.metrics] == [(12, "场")]
    assert run.dropped == len(SPLIT_TEXTS)
