"""The instructor client over real HTTP on 127.0.0.1, offline: answers parsed into the response
model with usage counted, transient faults retried (Retry-After honoured), a truncated answer
reported as such, an invalid one re-asked, fatal statuses failing fast with the fix named."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import BaseModel

from llm_extract.label.answers import MetricLabel, numbered
from llm_extract.config import Settings
from llm_extract.errors import EndpointError, ModelOutputError, TruncatedOutput
from llm_extract.model.client import InstructorBackend
from tests.support.cannedserver import CannedServer
from tests.support.faultproxy import FaultProxy

MESSAGES = [{"role": "system", "content": "s"}, {"role": "user", "content": "[1] 开展普法宣传12次\n[2] 发放宣传册300份"}]
MODEL = numbered("Metrics", MetricLabel, 2)


def _answer(name: str, body: dict[str, Any]) -> dict[str, Any]:
    return {"c1": {"name": "普法宣传", "category": "publicity"}, "c2": {"name": "发放宣传册", "category": "publicity"}}


def _backend(base_url: str, **values: Any) -> InstructorBackend:
    settings = Settings(_env_file=None, base_url=base_url, model="canned", max_attempts=3,  # type: ignore[call-arg]
                        max_retry_seconds=30, timeout=5, **values)
    return InstructorBackend(settings, base_url)


def _complete(script: list[str], answer=_answer, **values: Any) -> tuple[BaseModel | Exception, FaultProxy, CannedServer]:
    canned = CannedServer(answer)
    with canned.running():
        proxy = FaultProxy(canned.base_url, script)
        with proxy.running():
            try:
                result: BaseModel | Exception = _backend(proxy.base_url, **values).complete(MODEL, MESSAGES)[0]
            except Exception as exc:  # the test inspects it
                result = exc
    return result, proxy, canned


def test_an_answer_is_parsed_and_its_usage_counted():
    canned = CannedServer(_answer)
    with canned.running():
        answer, usage = _backend(canned.base_url).complete(MODEL, MESSAGES)
    assert answer.c1.name == "普法宣传" and (usage.calls, usage.prompt_tokens, usage.completion_tokens) == (1, 100, 20)
    assert canned.bodies[0]["tools"][0]["function"]["name"] == "Metrics2"


@pytest.mark.parametrize("script", [["429"], ["500"], ["drop"]])
def test_transient_faults_are_retried(script):
    result, proxy, _ = _complete(script)
    assert isinstance(result, BaseModel) and proxy.faults == script and proxy.requests == 2


def test_a_persistent_5xx_gives_up_after_max_attempts_with_one_line():
    result, proxy, _ = _complete(["500"] * 10)
    assert isinstance(result, EndpointError) and "HTTP 500" in str(result) and proxy.requests == 3


def test_a_bad_key_fails_fast_naming_the_fix():
    result, proxy, _ = _complete(["401"])
    assert isinstance(result, EndpointError) and "set LLM_EXTRACT_API_KEY" in str(result) and proxy.requests == 1


def test_a_truncated_answer_is_reported_as_truncated_not_retried():
    result, proxy, _ = _complete(["truncate"], max_reasks=0)
    assert isinstance(result, TruncatedOutput) and proxy.requests == 1


def test_garbage_is_reasked_then_accepted():
    result, proxy, _ = _complete(["garbage"], max_reasks=1)
    assert isinstance(result, BaseModel) and proxy.requests == 2


def test_an_answer_that_stays_invalid_is_a_model_output_error():
    def empty_names(name: str, body: dict[str, Any]) -> dict[str, Any]:
        return {"c1": {"name": "", "category": "publicity"}, "c2": {"name": "", "category": "publicity"}}

    result, proxy, canned = _complete([], answer=empty_names, max_reasks=1)
    assert isinstance(result, ModelOutputError) and not isinstance(result, TruncatedOutput)
    assert len(canned.bodies) == 2  # asked, re-asked once with the error
    assert "name must not be empty" in str(canned.bodies[1]["messages"])
