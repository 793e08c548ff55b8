"""How many requests a run may have at the endpoint at once, lowered when it answers HTTP 429.

A run keeps up to `--concurrency` requests in flight (one worker per request in the run's request
pool). An endpoint that answers 429 ("too many requests") is asking for fewer: the throttle then
halves the requests it lets through (multiplicative decrease, never below 1), holds every new
request until the Retry-After the server gave (or a backoff) has passed, and lets one more
through per window of answered requests (additive increase) until the ceiling is back, as TCP's
congestion control does. A storm thus slows the run down instead of failing documents.

Hand-written because nothing fits a threaded client: tenacity (used in `llm`) retries one call
and shares no state between calls; pyrate-limiter, limits, throttled-py and aiolimiter cap a rate
fixed in advance, not requests in flight, and do not react to 429s; aimd-limiter is asyncio only.
"""

from __future__ import annotations

import math
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from llm_extract.errors import LlmExtractError

Outcome = Literal["answered", "refused", "failed"]

# Without Retry-After: hold new requests for BACKOFF_BASE * 2^(k-1) s after the k-th cut in a row
# (no answer in between), at most BACKOFF_MAX, with jitter so that separate runs against the same
# server do not come back in step.
BACKOFF_BASE = 0.5
BACKOFF_MAX = 30.0


class RequestsStopped(LlmExtractError):
    """The run is stopping (an endpoint or database failure, or Ctrl-C): no request is sent any more."""


@dataclass(frozen=True)
class Ticket:
    """One admitted request: the window it was sent in, and how long it waited for admission."""

    epoch: int
    held: float  # seconds waited in all (a pause the server asked for, or every slot taken)
    excused: float  # of those, seconds in which the server answered other requests: it was serving


@dataclass(frozen=True)
class FlightState:
    """A snapshot for progress: requests in flight, the limit now, and what has happened so far."""

    in_flight: int
    limit: int | None  # None: no 429 yet and no ceiling, so only the request pool limits
    ceiling: int | None
    answered: int  # requests the server answered (not refused)
    refused: int  # HTTP 429s
    paused_for: float  # seconds until new requests may go again (0 when not paused)
    capped: int | None = None  # fewer allowed because the machine is slow (see governor), else None


class Throttle:
    """Admission of requests to one endpoint, shared by every thread of a run (thread-safe).

    `ceiling` is the most requests allowed at once (the run's concurrency); None leaves the limit
    to whoever bounds the threads (a pool), until the first 429 sets it from what was in flight.
    """

    def __init__(self, ceiling: int | None = None, *, clock: Callable[[], float] = time.monotonic,
                 jitter: Callable[[], float] = random.random) -> None:
        self._cond = threading.Condition()
        self._clock = clock
        self._jitter = jitter
        self.ceiling = ceiling
        self._limit: float = float(ceiling) if ceiling else math.inf
        self._in_flight = 0
        self._resume_at = 0.0
        self._epoch = 0  # bumped at every cut: 429s of requests sent before a cut do not cut again
        self._strikes = 0  # cuts since the last answer: lengthens the backoff without Retry-After
        self._stopped = False
        self._cap: int | None = None  # set by a LoadGovernor while the machine is slow
        self.answered = 0
        self.refused = 0

    # --- the arithmetic (also what the unit tests check) -------------------------------------
    @property
    def limit(self) -> float:
        return self._limit

    def set_ceiling(self, ceiling: int) -> None:
        with self._cond:
            self.ceiling = ceiling
            self._limit = min(self._limit, float(ceiling))
            self._cond.notify_all()

    def cap(self, most: int | None) -> None:
        """At most `most` requests at once whatever the 429 arithmetic allows (None: no cap). A
        cap is the machine's pace, not the server's refusal: it leaves the limit and its growth alone."""
        with self._cond:
            self._cap = most
            self._cond.notify_all()

    def _admits(self) -> bool:
        if self._cap is not None and self._in_flight >= self._cap:
            return False
        return self._limit == math.inf or self._in_flight < int(self._limit)  # the limit is >= 1

    def _cut(self) -> None:
        # Halve what the server was actually given (the limit may be far above what was in flight
        # when no ceiling is known): that is what it refused.
        self._limit = max(1.0, math.floor(min(self._limit, self._in_flight) / 2))
        self._epoch += 1
        self._strikes += 1

    def _grow(self) -> None:
        # One more request per window of answers (1/limit per answer), as TCP's congestion
        # avoidance: probe upward gently, retreat sharply.
        if self._limit != math.inf:
            self._limit += 1.0 / self._limit
            if self.ceiling is not None:
                self._limit = min(self._limit, float(self.ceiling))

    def _backoff(self) -> float:
        top = min(BACKOFF_MAX, BACKOFF_BASE * 2 ** (max(self._strikes, 1) - 1))
        return top / 2 + self._jitter() * top / 2  # "equal jitter": at least half the backoff

    # --- admission ----------------------------------------------------------------------------
    def acquire(self) -> Ticket:
        """Wait until a request may go (not paused, fewer than `limit` in flight), then count it in.
        Raises RequestsStopped once the run stops."""
        held = excused = 0.0
        with self._cond:
            while True:
                if self._stopped:
                    raise RequestsStopped("the run is stopping; no further request is sent")
                now = self._clock()
                answered = self.answered
                if now < self._resume_at:
                    self._cond.wait(self._resume_at - now)
                elif self._admits():
                    self._in_flight += 1
                    return Ticket(self._epoch, held, excused)
                else:
                    self._cond.wait()
                spent = self._clock() - now
                held += spent
                if self.answered > answered:
                    excused += spent

    def release(self, ticket: Ticket, outcome: Outcome, retry_after: float | None = None) -> None:
        """Count a request out: answered (grow), refused with HTTP 429 (cut once per window, pause
        new requests for retry_after or a backoff), or failed otherwise (no change: other
        transient errors are retried by the caller as before)."""
        with self._cond:
            if outcome == "refused":
                self.refused += 1
                if ticket.epoch == self._epoch:  # the first 429 of this window
                    self._cut()
                pause = retry_after if retry_after is not None else self._backoff()
                self._resume_at = max(self._resume_at, self._clock() + pause)
            elif outcome == "answered":
                self.answered += 1
                self._strikes = 0
                self._grow()
            self._in_flight -= 1
            self._cond.notify_all()

    def stop(self) -> None:
        """No further request: everything waiting for admission (or in `sleep`) raises RequestsStopped."""
        with self._cond:
            self._stopped = True
            self._cond.notify_all()

    @property
    def stopped(self) -> bool:
        return self._stopped

    def sleep(self, seconds: float) -> None:
        """A retry's backoff that ends early, with RequestsStopped, when the run stops."""
        deadline = self._clock() + seconds
        with self._cond:
            while not self._stopped:
                left = deadline - self._clock()
                if left <= 0:
                    return
                self._cond.wait(left)
            raise RequestsStopped("the run is stopping; no further request is sent")

    def state(self) -> FlightState:
        with self._cond:
            limit = None if self._limit == math.inf else max(1, int(self._limit))
            return FlightState(self._in_flight, limit, self.ceiling, self.answered, self.refused,
                               max(0.0, self._resume_at - self._clock()), self._cap)


def throttle_of(labeller: object) -> Throttle | None:
    """The throttle of the client a labeller asks through, if it has one (an HTTP client does;
    the rules labeller and offline test backends do not)."""
    throttle = getattr(getattr(labeller, "backend", None), "throttle", None)
    return throttle if isinstance(throttle, Throttle) else None
