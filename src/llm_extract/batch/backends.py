"""Two `Backend`s that stand in for the live client inside the normal `extract_document`:
recording (prepare: what would be asked) and replaying (collect: what the batch answered).

Both raise a `ModelOutputError` where a live call would answer or fail, so `extract_document`
records the step and goes on to the next one: every request of a document is made in one pass
(its calls are independent of each other's answers), with nothing asked of a model.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any, TypeVar

from instructor.core.exceptions import IncompleteOutputException
from instructor.processing import handle_reask_kwargs, process_response
from openai.types.chat import ChatCompletion
from pydantic import BaseModel, ValidationError

from llm_extract.errors import ModelOutputError, TruncatedOutput
from llm_extract.label.backend import Backend
from llm_extract.schemas import Usage
from llm_extract.batch.requests import Answer, Shape, custom_id, plain, prepare_request

T = TypeVar("T", bound=BaseModel)


@dataclass(frozen=True)
class Request:
    custom_id: str
    task: str  # the response model's name (Sections3, MetadataAnswer, …), for messages
    body: dict[str, Any]


DEFERRED = "deferred to the batch"


class Deferred(ModelOutputError):
    """The request was recorded for the batch; its answer comes later."""


class NeedsAsking(ModelOutputError):
    """The results hold no usable answer for this request: it has to be asked (again)."""


class RecordingBackend:
    """Records every request of one document and answers none."""

    def __init__(self, shape: Shape, doc_id: str, version: str) -> None:
        self.shape, self.doc_id, self.version = shape, doc_id, version
        self.requests: list[Request] = []

    def complete(self, response_model: type[T], messages: list[dict[str, str]],
                 context: dict[str, Any] | None = None) -> tuple[T, Usage]:
        _, kwargs = prepare_request(self.shape, response_model, messages, context)
        body = plain(kwargs)
        cid = custom_id(self.doc_id, self.version, body)
        self.requests.append(Request(cid, response_model.__name__, body))
        raise Deferred(f"{response_model.__name__} {DEFERRED} as {cid}")


@dataclass(frozen=True)
class Unanswered:
    """A request of a document without a usable answer: why, and what to send instead."""

    custom_id: str
    task: str
    reason: str
    followup: dict[str, Any]  # the request body to send: the original, or it with the re-ask turns


class ReplayBackend:
    """Answers one document's requests from batch results, validated as a live answer is.

    The answer is parsed by instructor's response processing for the mode with the same
    response model and the same validation context, so the labellers' checks, groundings and
    drops are those of `run`. Several answers for one request are its attempts, in the order
    the result files were given: an invalid one followed by another is a re-ask (the context
    carries what its validation recorded, as instructor's retry loop shares it); a valid one
    followed by another is overridden. An invalid last answer with re-asks left, an error or a
    missing answer make the request `Unanswered` (asked of `live` when one is given); an answer
    still invalid after `max_reasks` re-asks fails its step, as in a live run.
    """

    def __init__(self, shape: Shape, doc_id: str, version: str, answers: dict[str, list[Answer]],
                 max_reasks: int, live: Backend | None = None) -> None:
        self.shape, self.doc_id, self.version = shape, doc_id, version
        self.answers, self.max_reasks, self.live = answers, max_reasks, live
        self.unanswered: list[Unanswered] = []
        # Requests whose answer was cut off at max_tokens: the step may split its input (metric
        # batches) or fail; `collect` lists those that failed a step, to ask again with more room.
        self.truncated: list[Unanswered] = []

    def complete(self, response_model: type[T], messages: list[dict[str, str]],
                 context: dict[str, Any] | None = None) -> tuple[T, Usage]:
        context = {} if context is None else context
        prepared, kwargs = prepare_request(self.shape, response_model, messages, context)
        cid = custom_id(self.doc_id, self.version, plain(kwargs))
        outcome = self._settle(cid, response_model.__name__, prepared, kwargs, context)
        if isinstance(outcome, Unanswered):
            self.unanswered.append(outcome)
            if self.live is not None:
                # Asked afresh with the live client's own re-asks; the context is untouched by
                # the batch's attempts (they were validated on a copy).
                return self.live.complete(response_model, messages, context)
            raise NeedsAsking(f"{cid}: {outcome.reason}")
        return outcome  # type: ignore[return-value]  # parsed into prepared, response_model's subclass

    def _settle(self, cid: str, task: str, prepared: type[BaseModel], kwargs: dict[str, Any],
                context: dict[str, Any]) -> tuple[BaseModel, Usage] | Unanswered:
        entries = self.answers.get(cid, [])
        if not entries:
            return Unanswered(cid, task, "no answer in the results", plain(kwargs))
        mode = self.shape.instructor_mode
        trial = copy.deepcopy(context)
        followup = copy.deepcopy(kwargs)
        failed = 0
        for k, entry in enumerate(entries):
            last = k == len(entries) - 1
            completion = _completion(entry)
            if isinstance(completion, str):
                if last:
                    return Unanswered(cid, task, f"{completion} ({entry.where})", plain(followup))
                continue  # a later line for the same request overrides this one
            before = copy.deepcopy(trial)
            try:
                parsed = process_response(completion, response_model=prepared, stream=False,
                                          validation_context=trial, strict=True, mode=mode)
            except IncompleteOutputException as exc:
                if last:
                    reason = f"the model's answer was cut off at max_tokens={self.shape.max_tokens} ({entry.where}, {cid})"
                    cut = Unanswered(cid, task, reason, _more_room(plain(followup)))
                    if self.live is not None:
                        return cut  # asked live, where the live client splits or fails as in `run`
                    self.truncated.append(cut)
                    # As live: the caller splits the batch rather than re-asking blindly.
                    raise TruncatedOutput(reason) from exc
                continue
            except Exception as exc:  # whatever parsing a foreign answer raises is the answer's fault
                failed += 1
                followup = handle_reask_kwargs(copy.deepcopy(followup), mode, completion, exc)
                if last:
                    if failed > self.max_reasks:
                        raise ModelOutputError(f"the model's answer stayed invalid after {failed} attempts "
                                               f"({entry.where}): {_short(exc)}") from exc
                    return Unanswered(cid, task, f"invalid answer ({entry.where}): {_short(exc)}", plain(followup))
                continue
            if not last:
                trial = before
                continue
            context.clear()
            context.update(trial)  # what validation recorded (rejected metadata, misaligned names)
            return parsed, _usage(completion)
        raise AssertionError("unreachable: the last entry returns")


def _more_room(body: dict[str, Any]) -> dict[str, Any]:
    """The request again with twice the max_tokens: the same answer would be cut off again."""
    for key in ("max_tokens", "max_completion_tokens"):
        if isinstance(body.get(key), int):
            body[key] = 2 * body[key]
    return body


def _completion(entry: Answer) -> ChatCompletion | str:
    if entry.completion is None:
        return entry.error or "no answer"
    try:
        return ChatCompletion.model_validate(entry.completion)
    except ValidationError as exc:
        return f"the response body is not a chat completion ({_short(exc)})"


def _usage(completion: ChatCompletion) -> Usage:
    usage = Usage(calls=1)
    if completion.usage is not None:
        usage.prompt_tokens = completion.usage.prompt_tokens or 0
        usage.completion_tokens = completion.usage.completion_tokens or 0
    return usage


def _short(exc: BaseException | str) -> str:
    return " ".join(str(exc).split())[:300]


def requests_of(recorder: RecordingBackend) -> list[Request]:
    """The document's requests once each (two steps asking the very same thing share an answer)."""
    seen: dict[str, Request] = {}
    for request in recorder.requests:
        seen.setdefault(request.custom_id, request)
    return list(seen.values())
