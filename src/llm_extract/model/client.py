"""The one backend interface: structured completion through instructor over the openai client.

Transient endpoint errors are retried here with tenacity (backoff with jitter, Retry-After
honoured, bounded attempts and time). HTTP 429 is the exception: every request of the run goes
through one `Throttle`, which lowers the requests in flight and pauses new ones when the server
refuses; a refused request waits for it without spending its attempts, bounded by time only.
Validation failures are re-asked by instructor with the error message, a bounded number of
times. Everything else becomes a one-line LlmExtractError.
"""

from __future__ import annotations

import json
import logging
import time
import urllib.error
import urllib.request
from typing import Any

import instructor
import openai
from instructor.core.exceptions import (
    IncompleteOutputException,
    InstructorRetryException,
)
from tenacity import (
    RetryCallState,
    Retrying,
    retry_if_exception,
    wait_random_exponential,
)

from llm_extract.config import Settings
from llm_extract.label.backend import T
from llm_extract.errors import EndpointError, ModelOutputError, TruncatedOutput
from llm_extract.model.governor import LoadGovernor
from llm_extract.schemas import Usage
from llm_extract.model.stream import Stalled, StreamedCreate
from llm_extract.model.throttle import Outcome, RequestsStopped, Throttle, Ticket

log = logging.getLogger(__name__)
# instructor logs every failed attempt at ERROR; we report outcomes ourselves, once.
logging.getLogger("instructor").setLevel(logging.CRITICAL)

MODES = {
    "tools": instructor.Mode.TOOLS,
    "json_schema": instructor.Mode.JSON_SCHEMA,
    "json": instructor.Mode.JSON,
    "md_json": instructor.Mode.MD_JSON,
}
MAX_RETRY_AFTER = 60.0


def _root(exc: BaseException) -> BaseException:
    """instructor wraps API errors; find the openai error underneath, if any."""
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, openai.APIError | IncompleteOutputException):
            return seen
        seen = seen.__cause__ or seen.__context__
    return exc


def is_transient(exc: BaseException) -> bool:
    if isinstance(exc, RequestsStopped):  # raised while a 429 is being handled: still final
        return False
    root = _root(exc)
    if isinstance(root, openai.APIConnectionError | openai.APITimeoutError | openai.RateLimitError):
        return True
    return isinstance(root, openai.APIStatusError) and root.status_code >= 500


def is_rate_limited(exc: BaseException) -> bool:
    return isinstance(_root(exc), openai.RateLimitError)


def _outcome(exc: BaseException | None) -> Outcome:
    """What a request's end tells the throttle: refused (429), failed (any other endpoint
    error), or answered (an answer came, even one that fails validation or is cut off)."""
    if exc is None:
        return "answered"
    if not isinstance(exc, Exception):  # Ctrl-C in the middle of a request says nothing of the server
        return "failed"
    root = _root(exc)
    if isinstance(root, openai.RateLimitError):
        return "refused"
    return "failed" if isinstance(root, openai.APIError) else "answered"


def _retry_after(exc: BaseException) -> float | None:
    root = _root(exc)
    response = getattr(root, "response", None)
    header = response.headers.get("retry-after") if response is not None else None
    if header is None:
        return None
    try:
        return min(max(float(header), 0.0), MAX_RETRY_AFTER)
    except ValueError:
        return None  # an HTTP date: fall back to backoff


class _WaitRetryAfter:
    """Retry-After when the server gives one, else exponential backoff with full jitter. Not
    after a 429: the throttle holds the retry (with every other new request) until the pause ends."""

    def __init__(self) -> None:
        self.backoff = wait_random_exponential(multiplier=0.5, max=30)

    def __call__(self, state: RetryCallState) -> float:
        exc = state.outcome.exception() if state.outcome else None
        if exc is not None and is_rate_limited(exc):
            return 0.0
        hinted = _retry_after(exc) if exc else None
        return hinted if hinted is not None else self.backoff(state)


class _Budget:
    """What one call's retries have spent, and the stop rule tenacity asks after each failure.

    Other transient errors (5xx, connection, timeout) spend `max_attempts` and
    `max_retry_seconds` as before; time held by the throttle is not counted (it is not this
    request failing). A 429 spends no attempt: the request is held and retried until the server
    takes it, bounded by `max_retry_seconds` of being refused, counted from its first 429 and
    less the time it waited while the server answered others. So a server that refuses everyone
    for that long aborts the run, and one that serves others but keeps refusing this request (a
    request over a tokens-per-minute limit gets 429 too) ends this request, not forever.
    """

    def __init__(self, max_attempts: int, max_seconds: float) -> None:
        self.max_attempts = max_attempts
        self.max_seconds = max_seconds
        self.started = time.monotonic()
        self.failures = 0  # attempts that failed with a transient error other than 429
        self.held = 0.0  # seconds waited for the throttle
        self.refused_since: float | None = None  # the first 429
        self.excused = 0.0  # seconds since then waited while the server answered others

    def admitted(self, ticket: Ticket) -> None:
        self.held += ticket.held
        if self.refused_since is not None:
            self.excused += ticket.excused

    def ended(self, outcome: Outcome) -> None:
        if outcome == "refused" and self.refused_since is None:
            self.refused_since = time.monotonic()
        elif outcome == "failed":
            self.failures += 1

    def stop(self, state: RetryCallState) -> bool:
        exc = state.outcome.exception() if state.outcome else None
        now = time.monotonic()
        if exc is not None and is_rate_limited(exc) and self.refused_since is not None:
            return now - self.refused_since - self.excused >= self.max_seconds
        return self.failures >= self.max_attempts or now - self.started - self.held >= self.max_seconds


def describe(exc: BaseException, base_url: str) -> str:
    """One line that names the fix."""
    root = _root(exc)
    if isinstance(root, openai.AuthenticationError | openai.PermissionDeniedError):
        return f"the endpoint {base_url} refused the API key (HTTP {root.status_code}); set LLM_EXTRACT_API_KEY"
    if isinstance(root, openai.NotFoundError):
        return f"the endpoint {base_url} has no such model (HTTP 404); set LLM_EXTRACT_MODEL to one it serves"
    if isinstance(root, openai.BadRequestError):
        return f"the endpoint rejected the request (HTTP 400: {_short(root)}); if the context is too long, lower the input size or use a larger-context model"
    if isinstance(root, openai.RateLimitError):
        return f"the endpoint {base_url} kept rate-limiting (HTTP 429); lower --concurrency or raise LLM_EXTRACT_MAX_RETRY_SECONDS"
    if isinstance(root, Stalled):
        return f"the embedded model at {base_url} made no progress for LLM_EXTRACT_STALL_TIMEOUT seconds; check the server log"
    if isinstance(root, openai.APITimeoutError):
        return f"the endpoint {base_url} timed out; raise LLM_EXTRACT_TIMEOUT or check the server"
    if isinstance(root, openai.APIConnectionError):
        return f"cannot reach {base_url}; check LLM_EXTRACT_BASE_URL, or unset it to use the embedded local model"
    if isinstance(root, openai.APIStatusError):
        return f"the endpoint {base_url} failed with HTTP {root.status_code}: {_short(root)}"
    return _short(exc)


def _short(exc: BaseException) -> str:
    return " ".join(str(exc).split())[:300]


def endpoint_mode(base_url: str) -> str:
    """The instructor mode for an endpoint whose mode was not set.

    llama.cpp's own server (it answers GET /props) reads a forced tool choice as "auto", so the
    model may answer in prose; it enforces `response_format` JSON schemas with a grammar, and
    puts no schema into the prompt. Everything else gets TOOLS (native on OpenAI-style APIs,
    grammar-enforced on llama-cpp-python).
    """
    root = base_url.rstrip("/").removesuffix("/v1")
    try:
        with urllib.request.urlopen(f"{root}/props", timeout=5) as response:
            props = json.loads(response.read())
    except (urllib.error.URLError, OSError, ValueError):
        return "tools"
    return "json_schema" if isinstance(props, dict) and "default_generation_settings" in props else "tools"


class InstructorBackend:
    """Structured completions from any OpenAI-compatible endpoint.

    `local`: the endpoint is the embedded server on this machine. Its answers are then streamed
    and a request is given up only when it makes no progress for `stall_timeout` (see `stream`),
    and a governor keeps fewer requests in flight while the machine decodes slowly. A remote
    endpoint gets one HTTP request per attempt, bounded by `timeout` in total.
    """

    def __init__(self, settings: Settings, base_url: str, api_key: str | None = None, *,
                 local: bool = False) -> None:
        self.settings = settings
        self.base_url = base_url
        self.model = settings.resolved_model()
        self.mode = MODES[settings.mode or endpoint_mode(base_url)]
        # openai's own retries are off: tenacity does it, with our bounds and our counting.
        raw = openai.OpenAI(base_url=base_url, api_key=api_key or "not-needed",
                            timeout=settings.timeout, max_retries=0)
        # Every request through this client, from any thread, is admitted by one throttle: the
        # run's requests share the endpoint, so they share its 429s. The run sets its ceiling.
        self.throttle = Throttle()
        self.governor: LoadGovernor | None = None
        if local:
            self.governor = LoadGovernor(self.throttle)
            # return_progress: llama.cpp's server reports prompt processing as it goes (other
            # servers ignore the field), so a long prompt on a slow machine is seen to move.
            create = StreamedCreate(raw, settings.stall_timeout, extra_body={"return_progress": True},
                                    on_decoded=self.governor.observe)
            self.client = instructor.Instructor(client=raw, create=instructor.patch(create=create, mode=self.mode),
                                                mode=self.mode)
        else:
            self.client = instructor.from_openai(raw, mode=self.mode)

    def complete(self, response_model: type[T], messages: list[dict[str, str]],
                 context: dict[str, Any] | None = None) -> tuple[T, Usage]:
        usage = Usage()
        budget = _Budget(self.settings.max_attempts, self.settings.max_retry_seconds)
        retrying = Retrying(
            retry=retry_if_exception(is_transient),
            wait=_WaitRetryAfter(),
            stop=budget.stop,
            sleep=self.throttle.sleep,  # a backoff ends early when the run stops
            before_sleep=self._log_retry,
            reraise=True,
        )
        try:
            result, completion = retrying(self._admitted, budget, response_model, messages, context)
        except IncompleteOutputException as exc:
            raise TruncatedOutput(f"the model's answer was cut off at max_tokens={self.settings.max_tokens}") from exc
        except InstructorRetryException as exc:
            root = _root(exc)
            if isinstance(root, IncompleteOutputException):
                raise TruncatedOutput(f"the model's answer was cut off at max_tokens={self.settings.max_tokens}") from exc
            if isinstance(root, openai.APIError):
                raise EndpointError(describe(exc, self.base_url)) from exc
            raise ModelOutputError(f"the model's answer stayed invalid after {exc.n_attempts} attempts: {_short(exc)}") from exc
        except openai.APIError as exc:
            raise EndpointError(describe(exc, self.base_url)) from exc
        raw_usage = getattr(completion, "usage", None)
        usage.calls = 1
        if raw_usage is not None:
            usage.prompt_tokens = raw_usage.prompt_tokens or 0
            usage.completion_tokens = raw_usage.completion_tokens or 0
        return result, usage

    def _admitted(self, budget: _Budget, response_model: type[T], messages: list[dict[str, str]],
                  context: dict[str, Any] | None) -> tuple[T, Any]:
        """One attempt, sent when the throttle admits it; its outcome is reported back."""
        ticket = self.throttle.acquire()
        budget.admitted(ticket)
        try:
            answer = self._create(response_model, messages, context)
        except BaseException as exc:
            outcome = _outcome(exc)
            budget.ended(outcome)
            self.throttle.release(ticket, outcome, _retry_after(exc) if outcome == "refused" else None)
            raise
        self.throttle.release(ticket, "answered")
        return answer

    def _create(self, response_model: type[T], messages: list[dict[str, str]],
                context: dict[str, Any] | None) -> tuple[T, Any]:
        return self.client.chat.completions.create_with_completion(
            model=self.model,
            response_model=response_model,
            messages=messages,  # type: ignore[arg-type]  # instructor accepts plain dicts
            context=context or {},
            max_retries=self.settings.max_reasks,
            temperature=self.settings.temperature,
            max_tokens=self.settings.max_tokens,
        )

    def _log_retry(self, state: RetryCallState) -> None:
        exc = state.outcome.exception() if state.outcome else None
        if exc is not None and is_rate_limited(exc):
            # Expected under load and handled by the throttle (the progress line shows it):
            # a storm must not print a line per refused request.
            log.debug("rate-limited (HTTP 429), held by the throttle: %s", describe(exc, self.base_url))
            return
        log.warning("transient endpoint error, retrying: %s", describe(exc, self.base_url) if exc else "?")
