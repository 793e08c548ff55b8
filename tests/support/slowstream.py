"""An HTTP server on 127.0.0.1 that streams chat completions (server-sent events) at a pace the
test sets: a slow but steady server, one that only pings, one that goes silent. It records when
a client went away in the middle of an answer (the write that failed), which is what a real
server sees when a client gives up on a request."""

from __future__ import annotations

import http.server
import json
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from tests.support.loopback import Loopback, QuietHandler


@dataclass
class Pace:
    """What the server sends, in order: `progress` prompt-progress events, then the answer in
    `pieces` token events, `gap` seconds before each event; `pings` comment lines instead of
    the answer (a server that is alive but makes no progress); `silent_after` events, then
    nothing at all (connection open)."""

    answer: str
    gap: float = 0.0
    pieces: int = 8
    progress: int = 0
    pings: int = 0
    silent_after: int | None = None
    tools: bool = False  # the answer as a tool call's arguments (llama-cpp-python's TOOLS mode)
    usage: bool = True
    repeat_role: bool = False  # the role in every delta, as llama.cpp's server sends it


@dataclass
class Seen:
    bodies: list[dict[str, Any]] = field(default_factory=list)
    gone: threading.Event = field(default_factory=threading.Event)  # a client left mid-answer
    finished: int = 0


def _chunk(delta: dict[str, Any], finish: str | None = None, **extra: Any) -> bytes:
    body = {"id": "s1", "object": "chat.completion.chunk", "created": 0, "model": "slow",
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish}], **extra}
    return f"data: {json.dumps(body, ensure_ascii=False)}\n\n".encode()


def _pieces(text: str, n: int) -> list[str]:
    size = max(1, -(-len(text) // n))
    return [text[i:i + size] for i in range(0, len(text), size)]


class SlowStream(Loopback):
    def __init__(self, pace: Pace) -> None:
        self.pace = pace
        self.seen = Seen()
        super().__init__(self._handler())

    def events(self, name: str) -> list[bytes]:
        pace = self.pace
        out = [f'data: {{"id": "s1", "object": "chat.completion.chunk", "created": 0, "model": "slow", '
               f'"choices": [], "prompt_progress": {{"total": {pace.progress}, "cache": 0, '
               f'"processed": {k + 1}, "time_ms": 0}}}}\n\n'.encode() for k in range(pace.progress)]
        if pace.pings:
            return out + [b": ping\n\n"] * pace.pings
        out.append(_chunk({"role": "assistant", "content": None}))
        for k, piece in enumerate(_pieces(pace.answer, pace.pieces)):
            if pace.tools:
                call: dict[str, Any] = {"index": 0, "function": {"arguments": piece}}
                if k == 0:
                    call.update(id="t1", type="function", function={"name": name, "arguments": piece})
                out.append(_chunk({"tool_calls": [call]}))
            else:
                out.append(_chunk({"content": piece, **({"role": "assistant"} if pace.repeat_role else {})}))
        out.append(_chunk({}, "tool_calls" if pace.tools else "stop"))
        if pace.usage:
            out.append(f'data: {{"id": "s1", "object": "chat.completion.chunk", "created": 0, "model": "slow", '
                       f'"choices": [], "usage": {{"prompt_tokens": 50, "completion_tokens": {pace.pieces}, '
                       f'"total_tokens": {50 + pace.pieces}}}}}\n\n'.encode())
        return out + [b"data: [DONE]\n\n"]

    def _handler(self) -> type[http.server.BaseHTTPRequestHandler]:
        server = self

        class Handler(QuietHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's naming
                body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))))
                server.seen.bodies.append(body)
                tools = body.get("tools") or []
                name = tools[0]["function"]["name"] if tools else ""
                if body.get("stream") is not True:
                    self._whole(name)
                    return
                self.send_response(200)
                self.send_header("Content-Type", "text/event-stream")
                self.send_header("Connection", "close")
                self.end_headers()
                self.close_connection = True
                try:
                    for k, event in enumerate(server.events(name)):
                        if server.pace.silent_after is not None and k >= server.pace.silent_after:
                            self._wait_for_client_to_leave()
                            return
                        time.sleep(server.pace.gap)
                        self.wfile.write(event)
                        self.wfile.flush()
                    server.seen.finished += 1
                except (BrokenPipeError, ConnectionResetError):
                    server.seen.gone.set()

            def _whole(self, name: str) -> None:
                # Not streamed: the same work, then the answer at once (nothing to read meanwhile).
                time.sleep(server.pace.gap * len(server.events(name)))
                payload = json.dumps({
                    "id": "s1", "object": "chat.completion", "created": 0, "model": "slow",
                    "choices": [{"index": 0, "finish_reason": "stop",
                                 "message": {"role": "assistant", "content": server.pace.answer}}],
                    "usage": {"prompt_tokens": 50, "completion_tokens": server.pace.pieces,
                              "total_tokens": 50 + server.pace.pieces}}, ensure_ascii=False).encode()
                try:
                    self.send_body(200, payload)
                    server.seen.finished += 1
                except (BrokenPipeError, ConnectionResetError):
                    server.seen.gone.set()

            def _wait_for_client_to_leave(self) -> None:
                # Silent, as a server stuck before its next token; a read returns b"" once the
                # client has closed the connection.
                self.connection.settimeout(30)
                try:
                    if self.connection.recv(1) == b"":
                        server.seen.gone.set()
                except OSError:
                    server.seen.gone.set()

        return Handler
