"""The one backend interface: structured completion through instructor over the openai client.

Transient endpoint errors are retried here with tenacity (backoff with jitter, Retry-After
honoured, bounded attempts and time). Validation failures are re-asked by instructor with the
error message, a bounded number of times. Everything else becomes a one-line LlmExtractError.
"""

from __future__ import annotations

import json
import logging
import urllib.error
import urllib.request
from typing import Any, Protocol, TypeVar

import instructor
import openai
from instructor.core.exceptions import (
    IncompleteOutputException,
    InstructorRetryException,
)
from pydantic import BaseModel
from tenacity import (
    RetryCallState,
    Retrying,
    retry_if_exception,
    stop_after_attempt,
    stop_after_delay,
    wait_random_exponential,
)

from .config import Settings
from .errors import EndpointError, ModelOutputError, TruncatedOutput
from .schemas import Usage

log = logging.getLogger(__name__)
# instructor logs every failed attempt at ERROR; we report outcomes ourselves, once.
logging.getLogger("instructor").setLevel(logging.CRITICAL)
T = TypeVar("T", bound=BaseModel)

MODES = {
    "tools": instructor.Mode.TOOLS,
    "json_schema": instructor.Mode.JSON_SCHEMA,
    "json": instructor.Mode.JSON,
    "md_json": instructor.Mode.MD_JSON,
}
MAX_RETRY_AFTER = 60.0


class Backend(Protocol):
    def complete(self, response_model: type[T], messages: list[dict[str, str]],
                 context: dict[str, Any] | None = None) -> tuple[T, Usage]: ...


def _root(exc: BaseException) -> BaseException:
    """instructor wraps API errors; find the openai error underneath, if any."""
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, openai.APIError | IncompleteOutputException):
            return seen
        seen = seen.__cause__ or seen.__context__
    return exc


def is_transient(exc: BaseException) -> bool:
    root = _root(exc)
    if isinstance(root, openai.APIConnectionError | openai.APITimeoutError | openai.RateLimitError):
        return True
    return isinstance(root, openai.APIStatusError) and root.status_code >= 500


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
    """Retry-After when the server gives one, else exponential backoff with full jitter."""

    def __init__(self) -> None:
        self.backoff = wait_random_exponential(multiplier=0.5, max=30)

    def __call__(self, state: RetryCallState) -> float:
        exc = state.outcome.exception() if state.outcome else None
        hinted = _retry_after(exc) if exc else None
        return hinted if hinted is not None else self.backoff(state)


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
    """Structured completions from any OpenAI-compatible endpoint."""

    def __init__(self, settings: Settings, base_url: str, api_key: str | None = None) -> None:
        self.settings = settings
        self.base_url = base_url
        self.model = settings.resolved_model()
        self.mode = MODES[settings.mode or endpoint_mode(base_url)]
        # openai's own retries are off: tenacity does it, with our bounds and our counting.
        raw = openai.OpenAI(base_url=base_url, api_key=api_key or "not-needed",
                            timeout=settings.timeout, max_retries=0)
        self.client = instructor.from_openai(raw, mode=self.mode)

    def complete(self, response_model: type[T], messages: list[dict[str, str]],
                 context: dict[str, Any] | None = None) -> tuple[T, Usage]:
        usage = Usage()
        retrying = Retrying(
            retry=retry_if_exception(is_transient),
            wait=_WaitRetryAfter(),
            stop=stop_after_attempt(self.settings.max_attempts) | stop_after_delay(self.settings.max_retry_seconds),
            before_sleep=self._log_retry,
            reraise=True,
        )
        try:
            result, completion = retrying(self._create, response_model, messages, context)
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
        log.warning("transient endpoint error, retrying: %s", describe(exc, self.base_url) if exc else "?")
