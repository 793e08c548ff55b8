"""Our deterministic scorers as deepeval metrics.

A test case carries the extractions (actual_output), the gold documents (expected_output) and
the report texts (context), each as JSON, taken from the evaluation's own result (no file or
database is read again); `measure` re-scores them with llm_extract.evaluate.scorers, so the metric can
be used with any deepeval tooling, not only with these tests.
"""

from __future__ import annotations

import json

from deepeval.metrics import BaseMetric
from deepeval.test_case import LLMTestCase

from llm_extract.evaluate.scorers import ReportScores, score_report
from llm_extract.evaluate.gold import GoldDocument
from llm_extract.schemas import Extraction
from llm_extract.evaluate.scoreboard import EvalResult, flatten


def corpus_case(result: EvalResult) -> LLMTestCase:
    names = sorted(result.golds)
    return LLMTestCase(
        name=f"{result.backend}:{result.model}:{result.prompt_version}",
        input=json.dumps(names, ensure_ascii=False),
        actual_output=json.dumps([result.extractions[n].model_dump(mode="json", exclude={"text"}) for n in names],
                                 ensure_ascii=False),
        expected_output=json.dumps([result.golds[n].model_dump(mode="json") for n in names], ensure_ascii=False),
        context=[result.extractions[n].text for n in names],
    )


class FieldScoreMetric(BaseMetric):
    """One micro-averaged score (e.g. 'metrics.f1') against its threshold."""

    def __init__(self, key: str, threshold: float) -> None:
        self.key = key
        self.threshold = threshold
        self.async_mode = False
        self.include_reason = True
        self.evaluation_model = None

    def measure(self, test_case: LLMTestCase, *args: object, **kwargs: object) -> float:
        preds = [Extraction.model_validate(x) for x in json.loads(test_case.actual_output or "[]")]
        golds = [GoldDocument.model_validate(x) for x in json.loads(test_case.expected_output or "[]")]
        total = ReportScores()
        for pred, gold, text in zip(preds, golds, test_case.context or [], strict=True):
            total.add(score_report(pred, gold, text))
        value = flatten(total)[self.key]
        self.score = 0.0 if value is None else value
        self.success = self.score >= self.threshold
        self.reason = f"{self.key} = {self.score:.3f} (threshold {self.threshold})"
        return self.score

    async def a_measure(self, test_case: LLMTestCase, *args: object, **kwargs: object) -> float:
        return self.measure(test_case)

    def is_successful(self) -> bool:
        return bool(self.success)

    @property
    def __name__(self) -> str:  # deepeval names metrics by this attribute
        return self.key
