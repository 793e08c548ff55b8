"""The throttle's arithmetic, offline, on a clock the test moves: halve once per window of refused
requests (never below 1), pause new requests for Retry-After or a growing backoff, grow back by
one request per window of answers up to the ceiling; and a request refused with 429 spends time,
not attempts, over real HTTP (a FaultProxy in front of a canned server)."""

from __future__ import annotations

import threading
from typing import Any

import pytest

from llm_extract.label.answers import MetricLabel, numbered
from llm_extract.config import Settings
from llm_extract.errors import EndpointError
from llm_extract.model.client import InstructorBackend
from llm_extract.model.throttle import BACKOFF_MAX, RequestsStopped, Throttle
from tests.support.cannedserver import CannedServer
from tests.support.faultproxy import FaultProxy


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def _throttle(ceiling: int | None = 8, jitter: float = 1.0) -> tuple[Throttle, Clock]:
    clock = Clock()
    return Throttle(ceiling, clock=clock, jitter=lambda: jitter), clock


def test_the_first_429_of_a_window_halves_what_was_in_flight_and_later_ones_of_that_window_do_not():
    throttle, clock = _throttle(8)
    tickets = [throttle.acquire() for _ in range(8)]
    assert throttle.state().in_flight == 8
    throttle.release(tickets[0], "refused", retry_after=2.0)
    assert throttle.limit == 4
    for ticket in tickets[1:]:  # the same window refused: one cut, not seven
        throttle.release(ticket, "refused", retry_after=2.0)
    assert throttle.limit == 4 and throttle.refused == 8
    assert throttle.state().paused_for == pytest.approx(2.0)
    clock.now += 2.0
    again = [throttle.acquire() for _ in range(4)]  # a new window: its 429 cuts again
    throttle.release(again[0], "refused", retry_after=0.0)
    assert throttle.limit == 2


def test_the_limit_never_falls_below_one():
    throttle, clock = _throttle(4)
    for _ in range(10):
        ticket = throttle.acquire()
        throttle.release(ticket, "refused", retry_after=0.0)
        clock.now += 1
    assert throttle.limit == 1
    assert throttle.acquire().epoch == 10  # one request still goes


def test_answers_grow_the_limit_by_one_per_window_up_to_the_ceiling():
    throttle, clock = _throttle(8)
    tickets = [throttle.acquire() for _ in range(8)]
    throttle.release(tickets[0], "refused", retry_after=0.0)
    for ticket in tickets[1:]:
        throttle.release(ticket, "failed")  # another error: neither cut nor grown
    assert throttle.limit == 4
    for _ in range(4):  # one window of 4 answers: one more request
        throttle.release(throttle.acquire(), "answered")
    assert 4.9 < throttle.limit < 5.1
    for _ in range(200):
        throttle.release(throttle.acquire(), "answered")
    assert throttle.limit == 8  # the ceiling, not above


def test_without_a_ceiling_the_first_429_halves_what_was_in_flight():
    throttle, _ = _throttle(None)
    assert throttle.state().limit is None
    tickets = [throttle.acquire() for _ in range(6)]
    throttle.release(tickets[0], "refused", retry_after=0.0)
    assert throttle.limit == 3
    throttle.set_ceiling(2)
    assert throttle.limit == 2 and throttle.state().ceiling == 2


def test_without_retry_after_the_pause_doubles_per_cut_in_a_row_and_is_capped():
    throttle, clock = _throttle(1, jitter=1.0)  # jitter 1.0: the top of each range
    pauses = []
    for _ in range(9):
        throttle.release(throttle.acquire(), "refused")
        pauses.append(throttle.state().paused_for)
        clock.now += pauses[-1]
    assert pauses == [0.5, 1.0, 2.0, 4.0, 8.0, 16.0, BACKOFF_MAX, BACKOFF_MAX, BACKOFF_MAX]
    throttle.release(throttle.acquire(), "answered")  # an answer ends the series
    throttle.release(throttle.acquire(), "refused")
    assert throttle.state().paused_for == 0.5


def test_equal_jitter_keeps_at_least_half_the_backoff():
    throttle, _ = _throttle(1, jitter=0.0)
    throttle.release(throttle.acquire(), "refused")
    assert throttle.state().paused_for == 0.25


def test_a_refusal_with_retry_after_pauses_everyone_for_that_long_and_never_shortens_a_pause():
    throttle, clock = _throttle(4)
    a, b = throttle.acquire(), throttle.acquire()
    throttle.release(a, "refused", retry_after=5.0)
    throttle.release(b, "refused", retry_after=1.0)
    assert throttle.state().paused_for == 5.0
    clock.now += 5.0
    assert throttle.state().paused_for == 0.0
    assert throttle.acquire().held == 0.0


def test_stop_wakes_a_request_held_by_the_limit_and_refuses_new_ones():
    throttle, _ = _throttle(1)
    throttle.acquire()  # the one request allowed
    raised: list[BaseException] = []
    waiting = threading.Thread(target=lambda: _catch(throttle.acquire, raised))
    waiting.start()
    throttle.stop()
    waiting.join(timeout=30)
    assert not waiting.is_alive() and isinstance(raised[0], RequestsStopped)
    with pytest.raises(RequestsStopped):
        throttle.acquire()
    with pytest.raises(RequestsStopped):
        throttle.sleep(60)


def test_a_request_held_while_others_are_answered_is_excused_that_time():
    throttle, clock = _throttle(1)
    first = throttle.acquire()
    got: list[Any] = []
    waiting = threading.Thread(target=lambda: got.append(throttle.acquire()))
    waiting.start()
    while not throttle._cond._waiters:  # type: ignore[attr-defined]  # the second request is waiting
        threading.Event().wait(0.01)
    clock.now += 3.0
    throttle.release(first, "answered")
    waiting.join(timeout=30)
    assert got[0].held == 3.0 and got[0].excused == 3.0


def _catch(call: Any, into: list[BaseException]) -> None:
    try:
        call()
    except BaseException as exc:  # the test inspects it
        into.append(exc)


# --- over HTTP: 429s spend time, not attempts -------------------------------------------------
MESSAGES = [{"role": "system", "content": "s"}, {"role": "user", "content": "[1] 开展普法宣传12次"}]
MODEL = numbered("Metrics", MetricLabel, 1)


def _answer(name: str, body: dict[str, Any]) -> dict[str, Any]:
    return {"c1": {"name": "普法宣传", "category": "publicity"}}


def _complete(script: list[str], **values: Any) -> tuple[Any, FaultProxy]:
    canned = CannedServer(_answer)
    with canned.running():
        proxy = FaultProxy(canned.base_url, script)
        with proxy.running():
            settings = Settings(_env_file=None, base_url=proxy.base_url, model="canned", timeout=5,  # type: ignore[call-arg]
                                **values)
            try:
                result: Any = InstructorBackend(settings, proxy.base_url).complete(MODEL, MESSAGES)[0]
            except Exception as exc:  # the test inspects it
                result = exc
    return result, proxy


def test_429s_do_not_spend_max_attempts():
    result, proxy = _complete(["429-now"] * 6, max_attempts=2, max_retry_seconds=60)
    assert result.c1.name == "普法宣传" and proxy.requests == 7


def test_a_server_that_keeps_refusing_ends_the_request_after_max_retry_seconds_with_one_line():
    result, proxy = _complete(["429-now"] * 100_000, max_attempts=2, max_retry_seconds=0.5)
    assert isinstance(result, EndpointError)
    assert "kept rate-limiting (HTTP 429); lower --concurrency or raise LLM_EXTRACT_MAX_RETRY_SECONDS" in str(result)
    assert proxy.requests > 2


def test_other_transient_errors_still_spend_max_attempts():
    result, proxy = _complete(["500"] * 10, max_attempts=3, max_retry_seconds=60)
    assert isinstance(result, EndpointError) and "HTTP 500" in str(result) and proxy.requests == 3
