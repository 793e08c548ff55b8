"""The load governor's arithmetic: fewer requests in flight when answers are decoded much more
slowly than the run has seen, more again when the speed is back; never below one, never above
the run's concurrency; and the throttle admits no more than the cap."""

from __future__ import annotations

import threading

from llm_extract.model.governor import LoadGovernor
from llm_extract.model.throttle import Throttle


def _governor(ceiling: int = 4) -> tuple[LoadGovernor, Throttle]:
    throttle = Throttle(ceiling)
    return LoadGovernor(throttle), throttle


def test_steady_speed_keeps_the_concurrency():
    governor, throttle = _governor()
    for _ in range(40):
        governor.observe(100, 10.0)  # 10 tok/s, always
    assert governor.cap is None and governor.steps == [] and throttle.state().capped is None


def test_a_slowdown_lowers_the_cap_step_by_step_down_to_one():
    governor, throttle = _governor()
    for _ in range(4):
        governor.observe(100, 10.0)
    for _ in range(40):
        governor.observe(100, 50.0)  # 2 tok/s: a fifth of the best
    assert governor.steps == [3, 2, 1] and governor.cap == 1 and throttle.state().capped == 1


def test_speed_coming_back_raises_the_cap_to_the_concurrency_again():
    governor, throttle = _governor()
    for rate_seconds in [10.0] * 4 + [50.0] * 9 + [12.0] * 30:
        governor.observe(100, rate_seconds)
    assert governor.steps[:2] == [3, 2] and governor.steps[-1] == 4
    assert governor.cap is None and throttle.state().capped is None


def test_short_answers_say_nothing():
    governor, _ = _governor()
    for _ in range(20):
        governor.observe(3, 10.0)
    assert governor.speed() is None and governor.best == {}


def test_requests_decoded_together_are_not_judged_against_one_alone():
    # Quiet: alone 18 tok/s, four together 6 tok/s each (batching on a CPU): no slowdown.
    governor, _ = _governor()
    for _ in range(3):
        governor.observe(180, 10.0, in_flight=1)
    for _ in range(40):
        governor.observe(60, 10.0, in_flight=4)
    assert governor.steps == [] and governor.cap is None


def test_the_throttle_admits_no_more_than_the_cap():
    throttle = Throttle(4)
    throttle.cap(2)
    first, second = throttle.acquire(), throttle.acquire()
    admitted = threading.Event()

    def third() -> None:
        throttle.release(throttle.acquire(), "answered")
        admitted.set()

    waiter = threading.Thread(target=third)
    waiter.start()
    assert not admitted.wait(0.3)  # two in flight: the third waits
    throttle.release(first, "answered")
    assert admitted.wait(5)
    throttle.release(second, "answered")
    waiter.join()
    assert throttle.state().capped == 2 and throttle.state().in_flight == 0
