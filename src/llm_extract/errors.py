"""One root exception; every error the user can see is a subclass with a one-line message."""

from __future__ import annotations


class LlmExtractError(Exception):
    """Root of every error llm-extract raises on purpose."""


class InputError(LlmExtractError):
    """A report file cannot be read, decoded or used."""


class ConfigError(LlmExtractError):
    """Settings are missing or contradictory."""


class EndpointError(LlmExtractError):
    """The model endpoint failed in a way that retrying will not fix."""


class ModelOutputError(LlmExtractError):
    """The model's answer stayed malformed or ungroundable after the allowed re-asks."""


class LocalModelError(LlmExtractError):
    """The embedded local model cannot be assembled or served."""


class StoreError(LlmExtractError):
    """The DuckDB store refused an operation."""


class TruncatedOutput(ModelOutputError):
    """The model hit max_tokens: the caller should split its input, not retry blindly."""


class EvalError(LlmExtractError):
    """The evaluation could not run (an extraction aborted, a gold report is missing)."""


def from_ctrl_c(exc: BaseException) -> bool:
    """Whether exc is a Ctrl-C, or was raised while one was being handled.

    Python's own clean-up can turn a Ctrl-C into another error: a KeyboardInterrupt that lands
    inside `with condition:` of a thread pool's future ends as "RuntimeError: cannot release
    un-acquired lock", with the KeyboardInterrupt as its context. The user still pressed Ctrl-C.
    """
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        if isinstance(current, KeyboardInterrupt):
            return True
        seen.add(id(current))
        current = current.__context__
    return False


class ReviewError(LlmExtractError):
    """A reviewer's decision cannot be recorded as given (the message says what to change)."""


class BatchError(LlmExtractError):
    """A batch request or result file cannot be used as given (the message says what to do)."""
