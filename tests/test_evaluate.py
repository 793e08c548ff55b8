import copy

import pytest

from llm_extract.evaluate.scorers import (
    char_f1,
    gold_as_extraction,
    score_metrics,
    score_problems,
    score_report,
)
from llm_extract.evaluate.gold import GoldDocument, GoldMetric, GoldProblem, load_gold_dir
from llm_extract.schemas import Extraction, MetricRecord, ProblemRecord
from tests.support.paths import GOLD

GOLDS = load_gold_dir(GOLD)


def _gold(metrics=(), problems=()) -> GoldDocument:
    return GoldDocument(doc="x.txt", township=None, county=None, year=None, issuer=None, report_date=None,
                        sections=[], metrics=list(metrics), problems=list(problems))


def _gm(start, quote, value, unit="次", approx=False, category="publicity", name="宣传"):
    return GoldMetric(quote=quote, char_start=start, name=name, value=value, unit=unit, approx=approx, category=category)


def _pm(i, start, quote, value, unit="次", approx=False, category="publicity", name="宣传"):
    return MetricRecord(metric_id=i, section_id=None, name=name, value=value, unit=unit, approx=approx,
                        category=category, quote=quote, char_start=start, char_end=start + len(quote))


def _pred(metrics=(), problems=()) -> Extraction:
    return Extraction(doc_id="x", path="x.txt", metrics=list(metrics), problems=list(problems))


def test_exact_match_scores_one():
    s = score_metrics(_pred([_pm(0, 10, "宣传 5 次", 5)]), _gold([_gm(10, "宣传 5 次", 5)]))
    assert (s.precision, s.recall, s.f1) == (1, 1, 1)
    assert s.attr("unit_accuracy") == s.attr("category_accuracy") == s.attr("name_similarity") == 1


def test_partial_overlap_with_equal_value_matches_but_a_different_value_does_not():
    gold = _gold([_gm(10, "开展宣传 5 次", 5)])
    assert score_metrics(_pred([_pm(0, 12, "宣传 5", 5)]), gold).tp == 1
    assert score_metrics(_pred([_pm(0, 12, "宣传 5", 6)]), gold).tp == 0
    assert score_metrics(_pred([_pm(0, 30, "宣传 5 次", 5)]), gold).tp == 0  # no overlap


def test_duplicate_predictions_match_once():
    s = score_metrics(_pred([_pm(0, 10, "宣传 5 次", 5), _pm(1, 10, "宣传 5 次", 5)]), _gold([_gm(10, "宣传 5 次", 5)]))
    assert (s.tp, s.precision, s.recall) == (1, 0.5, 1.0)


def test_unit_mismatch_counts_against_unit_accuracy_only():
    s = score_metrics(_pred([_pm(0, 10, "宣传 5 次", 5, unit="场")]), _gold([_gm(10, "宣传 5 次", 5)]))
    assert s.f1 == 1 and s.attr("unit_accuracy") == 0


def test_empty_prediction_and_empty_gold():
    s = score_metrics(_pred(), _gold([_gm(10, "宣传 5 次", 5)]))
    assert (s.precision, s.recall, s.f1) == (0.0, 0.0, 0.0)
    s = score_metrics(_pred([_pm(0, 10, "宣传 5 次", 5)]), _gold())
    assert (s.precision, s.recall) == (0.0, 1.0)
    s = score_metrics(_pred(), _gold())
    assert s.f1 == 1.0


def test_problem_overlap_needs_half_the_shorter_span():
    gold = _gold(problems=[GoldProblem(quote="甲" * 10, char_start=0, summary="不足", category="other")])
    half = ProblemRecord(problem_id=0, section_id=None, summary="不足", category="other", quote="甲" * 10, char_start=5, char_end=15)
    less = ProblemRecord(problem_id=0, section_id=None, summary="不足", category="other", quote="甲" * 10, char_start=6, char_end=16)
    assert score_problems(_pred(problems=[half]), gold).tp == 1
    assert score_problems(_pred(problems=[less]), gold).tp == 0


def test_char_f1():
    assert char_f1("安全知识宣传", "安全知识宣传") == 1
    assert char_f1("罚款", "宣传") == 0
    assert 0 < char_f1("罚款金额", "上缴罚款") < 1


@pytest.mark.parametrize("name", sorted(GOLDS))
def test_gold_against_itself_scores_one_everywhere(name, report_texts):
    gold = GOLDS[name]
    table = score_report(gold_as_extraction(gold), gold, report_texts[name]).table()
    assert table.pop("labels") == {"fallback_rate": 0.0}  # a rate of failures: gold has none
    # Broken names: gold's are a reader's paraphrases (违法占地 for 违法占用土地), so the measure,
    # which judges a name by the words of its sentence, may find one; rarely.
    assert table["metrics"].pop("name_defect_rate") <= 0.05
    for field, scores in table.items():
        for key, value in scores.items():
            assert value in (1.0, None), (field, key, value)


def test_perturbed_copy_loses_exactly_what_it_should(report_texts):
    name = "000_bfd2e8a3485ea91a.txt"
    gold, text = GOLDS[name], report_texts[name]
    n = len(gold.metrics)
    pred = gold_as_extraction(gold)
    pred.metrics.pop(0)  # one metric removed
    pred.metrics[0] = pred.metrics[0].model_copy(update={"value": pred.metrics[0].value + 1})  # one value changed
    shifted = pred.metrics[1]
    pred.metrics[1] = shifted.model_copy(update={"char_start": shifted.char_start + 1})  # one quote shifted
    scores = score_report(pred, gold, text)
    assert scores.metrics.tp == n - 2  # the shifted quote still overlaps with the same value
    assert scores.metrics.precision == pytest.approx((n - 2) / (n - 1))
    assert scores.metrics.recall == pytest.approx((n - 2) / n)
    assert scores.grounding.attr("grounded") == pytest.approx((n - 2 + len(gold.problems)) / (n - 1 + len(gold.problems)))
    changed = copy.deepcopy(pred)
    changed.meta.year = 1999
    assert score_report(changed, gold, text).metadata.attr("year") == 0


# --- areas and indicators ------------------------------------------------------------------------
def _labelled(start, value, area, indicator):
    return _gm(start, f"数{value}次", value).model_copy(update={"area": area, "indicator": indicator})


def _predicted(i, start, value, area, indicator):
    return _pm(i, start, f"数{value}次", value).model_copy(update={"area": area, "indicator": indicator})


def test_indicator_scores_count_null_as_a_label():
    gold = _gold([_labelled(0, 1, "disputes", "disputes.mediated"), _labelled(10, 2, "disputes", None),
                  _labelled(20, 3, "publicity", "publicity.events"), _labelled(30, 4, "publicity", None)])
    pred = _pred([_predicted(0, 0, 1, "disputes", "disputes.mediated"),  # right
                  _predicted(1, 10, 2, "disputes", "disputes.screened"),  # an indicator where gold has none
                  _predicted(2, 20, 3, "disputes", None),  # missed, and the wrong area
                  _predicted(3, 30, 4, "publicity", None)])  # NULL = NULL
    table = score_report(pred, gold, "").table()
    assert table["metrics"]["area_accuracy"] == 0.75
    ind = table["indicators"]
    assert ind["precision"] == 0.5 and ind["recall"] == 0.5 and ind["f1"] == 0.5
    assert ind["accuracy"] == 0.5


def test_bcubed_rewards_the_same_indicator_across_reports_and_penalises_merging():
    a = _gold([_labelled(0, 1, "disputes", "disputes.mediated"), _labelled(10, 2, "disputes", "disputes.screened")])
    b = a.model_copy(update={"doc": "y.txt"})
    right = _pred([_predicted(0, 0, 1, "disputes", "disputes.mediated"),
                   _predicted(1, 10, 2, "disputes", "disputes.screened")])
    merged = _pred([_predicted(0, 0, 1, "disputes", "disputes.mediated"),
                    _predicted(1, 10, 2, "disputes", "disputes.mediated")])
    total = score_report(right, a, "")
    total.add(score_report(right, b, ""))
    assert total.table()["indicators"]["bcubed_f1"] == 1.0
    worse = score_report(merged, a, "")
    worse.add(score_report(merged, b, ""))
    got = worse.table()["indicators"]
    assert got["bcubed_recall"] == 1.0 and got["bcubed_precision"] == 0.5


def test_items_labelled_before_the_comparable_labels_are_not_scored_on_them():
    table = score_report(_pred([_pm(0, 10, "宣传 5 次", 5)]), _gold([_gm(10, "宣传 5 次", 5)]), "").table()
    assert "area_accuracy" not in table["metrics"] and table["indicators"]["f1"] is None
