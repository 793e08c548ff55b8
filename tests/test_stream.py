"""The embedded model's streamed requests, offline against a real HTTP server on 127.0.0.1 that
streams at a set pace: a slow but steady answer is waited for however long it takes, one that
stops moving is given up after the stall timeout (pings are not progress), the connection is
closed when it is (so the server stops decoding), and a remote endpoint keeps its total timeout."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest

from llm_extract.label.answers import MetricLabel, numbered
from llm_extract.config import Settings
from llm_extract.errors import EndpointError
from llm_extract.model.client import InstructorBackend
from tests.support.slowstream import Pace, SlowStream

MESSAGES = [{"role": "system", "content": "s"}, {"role": "user", "content": "[1] 开展培训8场\n[2] 受理复议案件5件"}]
MODEL = numbered("Metrics", MetricLabel, 2)
ANSWER = json.dumps({"c1": {"name": "培训", "category": "study_training"},
                     "c2": {"name": "行政复议案件", "category": "disputes_petitions"}}, ensure_ascii=False)


def _backend(base_url: str, local: bool = True, **values: Any) -> InstructorBackend:
    values = {"max_attempts": 2, "max_retry_seconds": 30, "max_reasks": 0, **values}
    settings = Settings(_env_file=None, base_url=base_url, model="slow", **values)  # type: ignore[call-arg]
    return InstructorBackend(settings, base_url, local=local)


@pytest.mark.parametrize(("tools", "repeat_role"), [(False, False), (False, True), (True, False)],
                         ids=["json_schema", "role_in_every_delta", "tools"])
def test_a_slow_steady_answer_is_waited_for_past_the_stall_timeout(tools, repeat_role):
    # 12 events 0.15 s apart: 1.8 s in all, never more than 0.15 s without progress.
    server = SlowStream(Pace(ANSWER, gap=0.15, pieces=9, tools=tools, repeat_role=repeat_role))
    with server.running():
        backend = _backend(server.base_url, stall_timeout=0.6, mode="tools" if tools else "json_schema")
        started = time.monotonic()
        answer, usage = backend.complete(MODEL, MESSAGES)
    assert time.monotonic() - started > 3 * 0.6
    assert answer.c1.name == "培训" and answer.c2.category == "disputes_petitions"
    assert (usage.prompt_tokens, usage.completion_tokens) == (50, 9)
    assert len(server.seen.bodies) == 1 and server.seen.bodies[0]["stream"] is True
    assert server.seen.bodies[0]["return_progress"] is True


def test_prompt_progress_counts_as_progress():
    server = SlowStream(Pace(ANSWER, gap=0.15, pieces=2, progress=8))
    with server.running():
        answer, _ = _backend(server.base_url, stall_timeout=0.6, mode="json_schema").complete(MODEL, MESSAGES)
    assert answer.c2.name == "行政复议案件" and len(server.seen.bodies) == 1


def test_a_silent_server_is_given_up_after_the_stall_timeout_and_the_connection_closed():
    server = SlowStream(Pace(ANSWER, pieces=4, silent_after=3))
    with server.running():
        started = time.monotonic()
        with pytest.raises(EndpointError, match="no progress"):
            _backend(server.base_url, stall_timeout=0.5, mode="json_schema").complete(MODEL, MESSAGES)
        took = time.monotonic() - started
        assert server.seen.gone.wait(5)  # the server saw the client leave: it stops decoding
    assert len(server.seen.bodies) == 2 and took < 5  # one retry (max_attempts=2), each ~0.5 s
    assert server.seen.finished == 0


def test_pings_without_progress_are_a_stall():
    server = SlowStream(Pace(ANSWER, gap=0.1, pings=40))  # 4 s of pings, no token
    with server.running():
        started = time.monotonic()
        with pytest.raises(EndpointError, match="no progress"):
            _backend(server.base_url, stall_timeout=0.5, max_attempts=1, mode="json_schema").complete(MODEL, MESSAGES)
        assert time.monotonic() - started < 2.5
        assert server.seen.gone.wait(5)


def test_a_remote_endpoint_keeps_its_total_timeout():
    # The same steady answer (1.8 s) from a remote endpoint with a 0.6 s timeout: not streamed,
    # cut off, as before.
    server = SlowStream(Pace(ANSWER, gap=0.15, pieces=9))
    with server.running():
        with pytest.raises(EndpointError, match="timed out"):
            _backend(server.base_url, local=False, timeout=0.6, mode="json_schema").complete(MODEL, MESSAGES)
    assert all(body.get("stream") is not True for body in server.seen.bodies)


def test_decoding_speed_is_reported_to_the_governor():
    server = SlowStream(Pace(ANSWER, gap=0.05, pieces=10))
    with server.running():
        backend = _backend(server.base_url, stall_timeout=5, mode="json_schema")
        backend.complete(MODEL, MESSAGES)
    assert backend.governor is not None
    speed = backend.governor.speed()
    assert speed is not None and 5 < speed < 25  # 9 tokens over ~0.45 s: ~20 tok/s


@pytest.mark.parametrize(("script", "error"), [(["500"], None), (["429"], None), (["401"], "LLM_EXTRACT_API_KEY")])
def test_statuses_before_the_stream_are_handled_as_without_streaming(script, error):
    from tests.support.faultproxy import FaultProxy

    server = SlowStream(Pace(ANSWER, pieces=3))
    with server.running():
        proxy = FaultProxy(server.base_url, script)
        with proxy.running():
            backend = _backend(proxy.base_url, stall_timeout=5, mode="json_schema")
            if error is None:
                answer, _ = backend.complete(MODEL, MESSAGES)
                assert answer.c1.name == "培训" and proxy.requests == 2
            else:
                with pytest.raises(EndpointError, match=error):
                    backend.complete(MODEL, MESSAGES)
                assert proxy.requests == 1


def test_a_request_waits_while_the_server_makes_progress_on_another():
    # One request gets an event only every 0.8 s (its prompt waits for server steps) while
    # another streams every 0.1 s: the server is working, so the slow one is not given up at the
    # 0.5 s stall timeout. (Two stand-in servers; the two clients share one pulse, as all the
    # requests of a run to the embedded server do.)
    import threading

    import openai

    from llm_extract.model.stream import StreamedCreate

    busy = SlowStream(Pace(ANSWER, gap=0.1, pieces=50))
    slow = SlowStream(Pace(ANSWER, gap=0.8, pieces=1))
    with busy.running(), slow.running():
        streaming = StreamedCreate(openai.OpenAI(base_url=busy.base_url, api_key="x", max_retries=0), 0.5)
        waiting = StreamedCreate(openai.OpenAI(base_url=slow.base_url, api_key="x", max_retries=0), 0.5)
        waiting.pulse = streaming.pulse
        other = threading.Thread(target=streaming, kwargs={"model": "slow", "messages": MESSAGES})
        other.start()
        completion = waiting(model="slow", messages=MESSAGES)
        other.join()
    assert completion.choices[0].message.content == ANSWER
