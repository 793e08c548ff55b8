"""`pytest evals/`: score the model and the code-only baseline against the gold set."""

from __future__ import annotations

import os
import tomllib
from pathlib import Path

import pytest
from deepeval import assert_test

from llm_extract.documents import load
from llm_extract.gold import load_gold_dir
from llm_extract.scoreboard import EvalResult
from llm_extract.store import Store
from metrics import FieldScoreMetric, corpus_case

ROOT = Path(__file__).resolve().parents[1]
THRESHOLDS = tomllib.loads((Path(__file__).parent / "thresholds.toml").read_text(encoding="utf-8"))
CASES = [(backend, key) for backend, table in THRESHOLDS.items() for key in table]


def _case(result: EvalResult):
    golds = load_gold_dir(ROOT / "gold")
    texts, extractions = {}, {}
    db = Path(__file__).parent / ".cache" / f"extractions-{'rules' if result.backend == 'rules' else result.model}.duckdb"
    with Store(db, read_only=True) as store:
        for name in golds:
            doc = load(ROOT / "reports" / name)
            texts[name] = doc.text
            extraction = store.load_extraction(doc.doc_id)
            assert extraction is not None, name
            extractions[name] = extraction
    return corpus_case(result, golds, texts, extractions)


@pytest.mark.parametrize(("backend", "key"), CASES, ids=[f"{b}-{k}" for b, k in CASES])
def test_field_meets_threshold(results, backend, key):
    assert_test(_case(results[backend]), [FieldScoreMetric(key, THRESHOLDS[backend][key])], run_async=False)


def test_model_earns_its_place(results):
    """At least the baseline on detection; better on what code cannot do."""
    llm, rules = results["llm"].flat(), results["rules"].flat()
    assert llm["metrics.f1"] >= rules["metrics.f1"]
    for key in ("metrics.category_accuracy", "problems.category_accuracy", "metadata.accuracy",
                "sections.category_accuracy", "metrics.name_similarity"):
        assert (llm[key] or 0) > (rules[key] or 0), key


def test_every_item_is_grounded(results):
    for result in results.values():
        assert result.flat()["grounding.rate"] == 1.0


@pytest.mark.skipif(not os.environ.get("LLM_EXTRACT_JUDGE_BASE_URL"),
                    reason="GEval on problem summaries needs a judge model: set LLM_EXTRACT_JUDGE_BASE_URL "
                           "(and LLM_EXTRACT_JUDGE_MODEL, LLM_EXTRACT_JUDGE_API_KEY)")
def test_problem_summaries_geval(results):  # pragma: no cover - needs a judge endpoint
    from deepeval.metrics import GEval
    from deepeval.models import GPTModel
    from deepeval.test_case import LLMTestCase, SingleTurnParams

    judge = GPTModel(model=os.environ.get("LLM_EXTRACT_JUDGE_MODEL", "gpt-4o-mini"),
                     base_url=os.environ["LLM_EXTRACT_JUDGE_BASE_URL"],
                     api_key=os.environ.get("LLM_EXTRACT_JUDGE_API_KEY", "none"))
    metric = GEval(name="summary faithfulness", model=judge, threshold=0.5,
                   criteria="The summary states, in one short sentence, the shortcoming described in the input.",
                   evaluation_params=[SingleTurnParams.INPUT, SingleTurnParams.ACTUAL_OUTPUT])
    case = _case(results["llm"])
    for pred in __import__("json").loads(case.actual_output):
        for problem in pred["problems"]:
            assert_test(LLMTestCase(input=problem["quote"], actual_output=problem["summary"]), [metric])
