"""The one interface between labelling and a model: structured completion of a pydantic model.

Labellers, batch files and the scoreboard depend on this protocol only; the HTTP client that
implements it (`llm_extract.model.client`) is imported only by runs that talk to a model, so a
rules run imports neither instructor nor openai.
"""

from __future__ import annotations

from typing import Any, Protocol, TypeVar

from pydantic import BaseModel

from llm_extract.schemas import Usage

T = TypeVar("T", bound=BaseModel)


class Backend(Protocol):
    def complete(self, response_model: type[T], messages: list[dict[str, str]],
                 context: dict[str, Any] | None = None) -> tuple[T, Usage]: ...
