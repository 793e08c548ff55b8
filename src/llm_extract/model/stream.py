"""Requests to the embedded model, streamed: given up on when the server stops making progress,
not when they have taken long.

On a machine that other jobs keep busy, the embedded server decodes slowly but steadily; a total
timeout cuts such requests off, and the retry then queues behind the decoding the server is still
doing for the abandoned one. So each request streams its answer (`stream=true`) and is abandoned
only when nothing new has come for `stall` seconds, for it or for any other request of the run at
the same server: no new token, and, from llama.cpp's server, no prompt-processing progress either
(`return_progress`). The SSE keep-alive pings both servers
send while silent are not progress. The answer is assembled into one ChatCompletion (openai's
ChatCompletionStreamState), so instructor validates and re-asks exactly as without streaming.

Giving up closes the connection, and both servers then stop decoding that request: llama.cpp's
server checks the connection between tokens and cancels the slot's task; llama-cpp-python's
stops its token iterator when the client is gone (it does not for a non-streamed request, which
is one more reason to stream).

Each answered request reports how fast it was decoded (tokens per second between its first and
last token), which the run uses to keep fewer requests in flight when the machine slows down.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import openai
from openai.lib.streaming.chat import ChatCompletionStreamState
from openai.types.chat import ChatCompletion, ChatCompletionChunk
from openai.types.completion_usage import CompletionUsage

OnDecoded = Callable[[int, float], None]
SILENT_GRACE = 2.0  # a socket without even a ping is given up after this many stall timeouts  # (tokens, seconds between the first and the last)


class Stalled(openai.APITimeoutError):
    """No progress for the stall timeout: transient, like any timeout (the request is retried)."""


class _Pulse:
    """When the server last moved for any request of this client. A request waits while the
    server works on the others: one server step (a batch of several slots' prompts) can take
    longer on a loaded machine than the stall timeout, and only the requests in it move."""

    def __init__(self, clock: Callable[[], float]) -> None:
        self.last = clock()

    def beat(self, now: float) -> None:
        self.last = max(self.last, now)


class _Progress:
    """When the request last moved: a token, or more of the prompt processed."""

    def __init__(self, stall: float, clock: Callable[[], float], pulse: _Pulse) -> None:
        self.stall = stall
        self.clock = clock
        self.pulse = pulse
        self.last = clock()
        self.prompt_done = -1
        self.tokens = 0
        self.first_token: float | None = None
        self.last_token: float | None = None

    def saw(self, payload: dict[str, Any], chunk: ChatCompletionChunk) -> None:
        now = self.clock()
        progress = payload.get("prompt_progress")
        if isinstance(progress, dict):
            done = progress.get("processed")
            if isinstance(done, int) and done > self.prompt_done:
                self.prompt_done = done
                self.last = now
        for choice in chunk.choices:
            delta = choice.delta
            if delta.content or delta.tool_calls or delta.role or choice.finish_reason:
                self.last = now
            if delta.content or delta.tool_calls:
                self.tokens += 1
                self.first_token = self.first_token if self.first_token is not None else now
                self.last_token = now
        self.pulse.beat(self.last)

    def stalled(self) -> bool:
        return self.clock() - max(self.last, self.pulse.last) > self.stall


def _events(lines: Iterator[str]) -> Iterator[str | None]:
    """The data of each server-sent event, and None for every comment line (a keep-alive ping),
    so that the caller sees time pass while the server only pings."""
    data: list[str] = []
    for line in lines:
        if not line:
            if data:
                yield "\n".join(data)
                data = []
        elif line.startswith(":"):
            yield None
        elif line.startswith("data:"):
            data.append(line[5:].removeprefix(" "))
        # other fields (event:, id:, retry:) carry nothing for chat completions
    if data:
        yield "\n".join(data)


class StreamedCreate:
    """A drop-in for `client.chat.completions.create` (what instructor calls) that streams the
    answer, times out on no progress, and returns the assembled ChatCompletion."""

    def __init__(self, client: openai.OpenAI, stall: float, *, extra_body: dict[str, Any] | None = None,
                 on_decoded: OnDecoded | None = None, clock: Callable[[], float] = time.monotonic) -> None:
        # Both servers ping a silent stream (every 15 or 30 s), and each ping is a moment to judge
        # progress; the socket's own read timeout only catches a server that does not even ping.
        self.client = client.with_options(timeout=httpx.Timeout(stall * SILENT_GRACE, connect=min(stall, 10.0)))
        self.stall = stall
        self.pulse = _Pulse(clock)
        self.extra_body = extra_body or {}
        self.on_decoded = on_decoded
        self.clock = clock

    def __call__(self, **kwargs: Any) -> ChatCompletion:
        kwargs.pop("stream", None)
        extra_body = {**(kwargs.pop("extra_body", None) or {}), **self.extra_body}
        with self.client.chat.completions.with_streaming_response.create(
                **kwargs, stream=True, stream_options={"include_usage": True}, extra_body=extra_body) as response:
            request = response.http_request
            try:
                state, progress = self._read(response.iter_lines(), request)
            except httpx.TimeoutException as exc:
                raise Stalled(request=request) from exc
            except httpx.TransportError as exc:
                raise openai.APIConnectionError(request=request) from exc
        # Leaving the block closed the connection: had we stopped early, the server stops too.
        completion = state.current_completion_snapshot
        if completion.usage is None:  # llama-cpp-python's server sends no usage when streaming
            completion.usage = CompletionUsage(prompt_tokens=0, completion_tokens=progress.tokens,
                                               total_tokens=progress.tokens)
        if self.on_decoded and progress.first_token is not None and progress.last_token is not None \
                and progress.tokens > 1:
            self.on_decoded(progress.tokens - 1, progress.last_token - progress.first_token)
        return ChatCompletion.model_validate(completion.model_dump(exclude={"choices": {"__all__": {"message": {"parsed"}}}}))

    def _read(self, lines: Iterator[str], request: httpx.Request) -> tuple[ChatCompletionStreamState[Any], _Progress]:
        state: ChatCompletionStreamState[Any] = ChatCompletionStreamState()
        progress = _Progress(self.stall, self.clock, self.pulse)
        seen = role_seen = False
        for data in _events(lines):
            if data is not None:
                if data.strip() == "[DONE]":
                    break
                payload = json.loads(data)
                if isinstance(payload, dict) and "error" in payload:
                    raise openai.APIError(f"the server failed while answering: {_message(payload['error'])}",
                                          request, body=payload)
                # llama.cpp's server repeats the role in every delta; the state would join them.
                for choice in payload.get("choices") or ():
                    delta = choice.get("delta") if isinstance(choice, dict) else None
                    if isinstance(delta, dict) and delta.get("role"):
                        if role_seen:
                            delta.pop("role")
                        role_seen = True
                chunk = ChatCompletionChunk.model_validate(payload)
                progress.saw(payload, chunk)
                if chunk.choices or chunk.usage is not None or not seen:
                    state.handle_chunk(chunk)
                    seen = True
            if progress.stalled():
                raise Stalled(request=request)
        if not seen:
            raise openai.APIConnectionError(message="the server closed the stream without an answer", request=request)
        return state, progress


def _message(error: object) -> str:
    if isinstance(error, dict):
        return str(error.get("message") or error)
    return str(error)
