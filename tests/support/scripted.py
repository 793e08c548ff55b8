"""A scripted implementation of the `Backend` protocol: the offline model seam.

It validates each scripted answer exactly as instructor does (the response model with the
validation context) and re-asks an invalid one with the error, up to `max_reasks` times, so the
labellers' own checks, re-asks and fallbacks run unchanged. Only the HTTP client is replaced;
the paths that talk to a real server are tested against the embedded model (marker `llm`).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any, get_args

from pydantic import BaseModel, ValidationError

from llm_extract.errors import ModelOutputError
from llm_extract.schemas import Usage

# An answer (a dict for the response model) or an exception to raise, given the task name
# ("Metrics", "Problems", "Sections", "MetadataAnswer"), the response model and the messages.
Responder = Callable[[str, type[BaseModel], list[dict[str, str]]], Any]


def task_of(response_model: type[BaseModel]) -> str:
    return re.sub(r"\d+$", "", response_model.__name__)


def items_shown(messages: list[dict[str, str]]) -> list[str]:
    """The numbered lines `[k] …` of the task's message (a re-ask appends one without them)."""
    for message in reversed(messages):
        found = re.findall(r"^\[\d+\] (.*)$", message["content"], flags=re.M)
        if found:
            return found
    return []


def plausible(task: str, response_model: type[BaseModel], messages: list[dict[str, str]]) -> Any:
    """A well-formed answer for every task: names from each item's own words."""
    fields = list(response_model.model_fields)
    shown = items_shown(messages)
    if task == "Metrics":
        return {f: {"name": re.sub(r"[\d\s.]+.*$", "", line)[:10] or "数量", "category": "other"}
                for f, line in zip(fields, shown)}
    if task == "Sections":
        return {f: "achievements" for f in fields}
    if task in ("MetricCategories", "ProblemCategories"):
        return {f: first_choices(response_model.model_fields[f].annotation) for f in fields}
    return {"township": None, "county": None, "year": None, "issuer": None, "report_date": None}


def first_choices(item: Any) -> Any:
    """An item's answer that picks, for each of its enum fields, "other" when allowed, else the
    first choice (code's own choice heads every shortlist)."""
    if isinstance(item, type) and issubclass(item, BaseModel):
        return {name: first_choices(f.annotation) for name, f in item.model_fields.items()}
    allowed = get_args(item)
    return "other" if "other" in allowed else allowed[0]


class ScriptedBackend:
    def __init__(self, responder: Responder = plausible, max_reasks: int = 1) -> None:
        self.responder = responder
        self.max_reasks = max_reasks
        self.calls: list[tuple[str, list[dict[str, str]]]] = []

    def complete(self, response_model: type[Any], messages: list[dict[str, str]],
                 context: dict[str, Any] | None = None) -> tuple[Any, Usage]:
        context = {} if context is None else context
        error: ValidationError | None = None
        for _attempt in range(self.max_reasks + 1):
            task = task_of(response_model)
            self.calls.append((task, messages))
            reply = self.responder(task, response_model, messages)
            if isinstance(reply, BaseException):
                raise reply
            try:
                return response_model.model_validate(reply, context=context), Usage(calls=1, prompt_tokens=10, completion_tokens=5)
            except ValidationError as exc:
                error = exc
                # instructor sends the validation error back as the next user message.
                messages = [*messages, {"role": "user", "content": f"Please correct: {exc}"}]
        raise ModelOutputError(f"the model's answer stayed invalid after {self.max_reasks + 1} attempts: {error}")
