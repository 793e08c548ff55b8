"""The client's error handling offline: which errors are transient, how Retry-After is read, and
the one line each failure becomes (naming the fix). Real openai exception objects over real
httpx responses; the HTTP paths themselves are tested against the embedded model (test_faults)."""

from __future__ import annotations

import httpx
import openai
import pytest
from instructor.core.exceptions import InstructorRetryException

from llm_extract.model.client import _retry_after, describe, is_transient

URL = "http://127.0.0.1:9/v1"
REQUEST = httpx.Request("POST", f"{URL}/chat/completions")


def _status(cls: type[openai.APIStatusError], code: int, headers: dict[str, str] | None = None) -> openai.APIStatusError:
    response = httpx.Response(code, headers=headers or {}, request=REQUEST, json={"error": {"message": "boom"}})
    return cls("boom", response=response, body=None)


CASES = [
    (_status(openai.RateLimitError, 429), True, "kept rate-limiting (HTTP 429); lower --concurrency"),
    (_status(openai.InternalServerError, 503), True, "failed with HTTP 503"),
    (openai.APIConnectionError(request=REQUEST), True, f"cannot reach {URL}; check LLM_EXTRACT_BASE_URL"),
    (openai.APITimeoutError(request=REQUEST), True, "timed out; raise LLM_EXTRACT_TIMEOUT"),
    (_status(openai.AuthenticationError, 401), False, "refused the API key (HTTP 401); set LLM_EXTRACT_API_KEY"),
    (_status(openai.PermissionDeniedError, 403), False, "refused the API key (HTTP 403)"),
    (_status(openai.NotFoundError, 404), False, "has no such model (HTTP 404); set LLM_EXTRACT_MODEL"),
    (_status(openai.BadRequestError, 400), False, "rejected the request (HTTP 400"),
]


@pytest.mark.parametrize(("exc", "transient", "line"), CASES, ids=[type(c[0]).__name__ for c in CASES])
def test_transient_or_not_and_one_line_naming_the_fix(exc, transient, line):
    assert is_transient(exc) is transient
    message = describe(exc, URL)
    assert line in message and "\n" not in message


def test_errors_wrapped_by_instructor_are_classified_by_their_root():
    root = _status(openai.InternalServerError, 500)
    try:
        try:
            raise root
        except openai.APIError as inner:
            raise InstructorRetryException("wrapped", n_attempts=2, total_usage=0) from inner
    except InstructorRetryException as wrapped:
        assert is_transient(wrapped) and "HTTP 500" in describe(wrapped, URL)


@pytest.mark.parametrize(("header", "expected"), [("2", 2.0), ("0.5", 0.5), ("600", 60.0), ("-3", 0.0),
                                                   ("Wed, 21 Oct 2015 07:28:00 GMT", None)])
def test_retry_after_is_honoured_within_bounds(header, expected):
    assert _retry_after(_status(openai.RateLimitError, 429, {"retry-after": header})) == expected


def test_no_retry_after_header_means_backoff():
    assert _retry_after(_status(openai.RateLimitError, 429)) is None
