"""An HTTP server on 127.0.0.1 that answers OpenAI chat completions with tool calls built by a
responder: the upstream for offline tests of the HTTP client (put a FaultProxy in front of it for
faults). The same client is tested against the real embedded model in the `llm` tests."""

from __future__ import annotations

import http.server
import json
from collections.abc import Callable
from typing import Any

# (tool name, request body) -> the tool call's arguments
Answer = Callable[[str, dict[str, Any]], dict[str, Any]]

from tests.support.loopback import Loopback, QuietHandler


class CannedServer(Loopback):
    def __init__(self, answer: Answer) -> None:
        self.answer = answer
        self.bodies: list[dict[str, Any]] = []
        super().__init__(self._handler())

    def _handler(self) -> type[http.server.BaseHTTPRequestHandler]:
        canned = self

        class Handler(QuietHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's naming
                body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))))
                canned.bodies.append(body)
                name = body["tools"][0]["function"]["name"]
                arguments = json.dumps(canned.answer(name, body), ensure_ascii=False)
                payload = json.dumps({
                    "id": "c1", "object": "chat.completion", "created": 0, "model": body["model"],
                    "choices": [{"index": 0, "finish_reason": "tool_calls", "message": {
                        "role": "assistant", "content": None,
                        "tool_calls": [{"id": "t1", "type": "function",
                                        "function": {"name": name, "arguments": arguments}}]}}],
                    "usage": {"prompt_tokens": 100, "completion_tokens": 20, "total_tokens": 120},
                }).encode()
                self.send_body(200, payload)

        return Handler

