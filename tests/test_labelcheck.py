"""A name belongs to its own item: composed batches with drifted names."""

from __future__ import annotations

import pytest

from llm_extract.label.labelcheck import misaligned, support

CONTEXTS = ["开展普法宣传活动12次", "调解矛盾纠纷15起", "查处违法案件6件", "精简事业单位45家"]


def test_names_from_their_own_clauses_pass():
    assert misaligned(["普法宣传", "调解纠纷", "查处案件数", "精简事业单位"], CONTEXTS) == []


def test_one_name_for_the_whole_batch_is_caught_except_where_it_belongs():
    assert misaligned(["调解纠纷"] * 4, CONTEXTS) == [0, 2, 3]


def test_names_shifted_onto_the_neighbours_are_all_caught():
    shifted = ["精简事业单位", "普法宣传", "调解纠纷", "查处案件"]
    assert misaligned(shifted, CONTEXTS) == [0, 1, 2, 3]


def test_count_nouns_and_digits_are_neutral():
    assert support("执法次数", "执法43次") == 1.0
    assert support("罚款金额", "上缴罚款2.5万余元") == 2 / 3  # 金 counts, 额 does not
    assert misaligned(["罚款金额"], ["上缴罚款2.5万余元"]) == []
    assert support("12", "开展") == 1.0  # nothing meaningful to check


def test_a_name_explained_better_by_another_item_is_caught_even_if_it_shares_words():
    contexts = ["开展安全检查9次", "开展安全知识宣传20次"]
    assert misaligned(["安全知识宣传", "安全知识宣传"], contexts) == [0]


def test_a_broken_model_name_is_reasked_then_falls_back():
    import pydantic

    from llm_extract.label.answers import MetricBatchAnswer, MetricLabel, numbered

    model = numbered("Metrics", MetricLabel, 2, MetricBatchAnswer)
    contexts = ["受理群众来信36件", "受理群众来信36件，已办结31件"]
    reply = {"c1": {"name": "受理群众来信", "category": "disputes_petitions"},
             "c2": {"name": "件数", "category": "disputes_petitions"}}
    context = {"contexts": contexts, "reasks": 1}
    with pytest.raises(pydantic.ValidationError, match="不完整"):
        model.model_validate(reply, context=context)
    model.model_validate(reply, context=context)  # the re-ask's answer is accepted …
    assert context["misaligned"] == [1]  # … and the broken name replaced by code's
