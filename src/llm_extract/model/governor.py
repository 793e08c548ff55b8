"""How many requests a run keeps at the embedded server, from how fast the machine decodes them.

The embedded server decodes its slots together; on a quiet machine that costs each request
little. When other jobs take the cores, every request in flight slows down and each one's answer
takes longer, the whole batch waiting on the slowest prompt being processed. The governor watches
how fast each answered request was decoded (tokens per second between its first and last token,
reported by the streamed client) against the fastest seen in this run with as many requests in
flight, and caps the requests in flight one lower when the recent ones run at less than SLOW of
it, one higher again (up to the run's concurrency) when they are back above FAST. One step per window of as many answers as
requests allowed, so each step is judged on answers given under it.

Only the embedded server is governed: a remote endpoint's speed says nothing about this machine,
and it has 429s (the throttle) to ask for fewer.
"""

from __future__ import annotations

import statistics
import threading
from collections import deque

from llm_extract.model.throttle import Throttle

SLOW = 0.4  # a window this much slower than the best seen: one request fewer
FAST = 0.6  # back above this: one more
MIN_TOKENS = 8  # shorter answers time mostly their own start, not the decoding


class LoadGovernor:
    def __init__(self, throttle: Throttle) -> None:
        self.throttle = throttle
        self._lock = threading.Lock()
        # The fastest decoding seen with n requests in flight: requests decoded together each go
        # slower than one alone even on a quiet machine, so each is judged against its own kind.
        self.best: dict[int, float] = {}
        self._recent: deque[float] = deque(maxlen=16)  # tokens/s of the recent answers
        self._ratios: deque[float] = deque(maxlen=16)  # each against the best with as many in flight
        self._since = 0  # answers since the last step
        self.cap: int | None = None  # None: the run's concurrency
        self.steps: list[int] = []  # every cap set, in order (for the benchmark and tests)

    def observe(self, tokens: int, seconds: float, in_flight: int | None = None) -> None:
        """One answered request: `tokens` decoded in `seconds` (first to last token), with
        `in_flight` requests at the server as it ended (itself included; the throttle's count
        when not given)."""
        if tokens < MIN_TOKENS or seconds <= 0:
            return
        rate = tokens / seconds
        n = max(1, in_flight if in_flight is not None else self.throttle.state().in_flight)
        with self._lock:
            self.best[n] = max(self.best.get(n, 0.0), rate)
            self._recent.append(rate)
            self._ratios.append(rate / self.best[n])
            self._since += 1
            ceiling = self.throttle.ceiling or 1
            allowed = self.cap or ceiling
            window = max(allowed, 3)  # never one answer's say
            if self._since < window:
                return
            now = statistics.median(list(self._ratios)[-window:])
            if now < SLOW and allowed > 1:
                allowed -= 1
            elif now >= FAST and allowed < ceiling:
                allowed += 1
            else:
                return
            self._since = 0
            self.cap = allowed if allowed < ceiling else None
            self.steps.append(allowed)
            self.throttle.cap(self.cap)

    def speed(self) -> float | None:
        """Tokens per second per request lately (the median of the recent answers), for progress."""
        with self._lock:
            return statistics.median(self._recent) if self._recent else None


def governor_of(labeller: object) -> LoadGovernor | None:
    """The governor of the client a labeller asks through, if it talks to the embedded server."""
    governor = getattr(getattr(labeller, "backend", None), "governor", None)
    return governor if isinstance(governor, LoadGovernor) else None
