"""A real HTTP proxy on 127.0.0.1 in front of a real OpenAI-compatible server, injecting scripted
faults into chat-completion requests. Not a mock: the client under test speaks HTTP to it.

With `record=True` it also keeps every answer the server gave, keyed by the request body's
sha256 (and GETs by path), for `tests.support.replayserver.ReplayServer` to answer the same requests
again without the model."""

from __future__ import annotations

import hashlib
import http.server
import json
import threading
import time
import urllib.error
import urllib.request

from tests.support.loopback import Loopback, QuietHandler


class FaultProxy(Loopback):
    """`script` is consumed one entry per chat-completion request; when empty, requests pass."""

    def __init__(self, upstream: str, script: list[str], slow_seconds: float = 5.0, only: str | None = None,
                 record: bool = False) -> None:
        self.upstream = upstream.rstrip("/")
        self.script = list(script)
        self.slow_seconds = slow_seconds
        self.only = only  # when set, the script applies only to requests whose body contains it
        self.requests = 0
        self.faults: list[str] = []
        self.record = record
        self.recorded: dict[str, tuple[int, bytes]] = {}  # sha256 of a POST body -> (status, answer)
        self.recorded_gets: dict[str, tuple[int, bytes]] = {}  # path -> (status, answer)
        self.lock = threading.Lock()
        super().__init__(self._handler())

    def _next(self, body: bytes = b"") -> str:
        with self.lock:
            self.requests += 1
            applies = self.only is None or self.only.encode() in body
            action = self.script.pop(0) if self.script and applies else "pass"
            if action != "pass":
                self.faults.append(action)
            return action

    def _handler(self) -> type[http.server.BaseHTTPRequestHandler]:
        proxy = self

        class Handler(QuietHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's naming
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                action = proxy._next(body)
                if action == "429":
                    return self.send_body(429, b'{"error": {"message": "rate limited"}}', {"Retry-After": "1"})
                if action == "429-now":  # Retry-After: 0, so that a test can meet many quickly
                    return self.send_body(429, b'{"error": {"message": "rate limited"}}', {"Retry-After": "0"})
                if action == "429-no-header":
                    return self.send_body(429, b'{"error": {"message": "rate limited"}}')
                if action == "500":
                    return self.send_body(500, b'{"error": {"message": "boom"}}')
                if action == "401":
                    return self.send_body(401, b'{"error": {"message": "bad key"}}')
                if action == "drop":
                    self.close_connection = True
                    self.connection.shutdown(2)
                    return None
                if action == "slow":  # stall past the client's timeout, then hang up
                    time.sleep(proxy.slow_seconds)
                    self.close_connection = True
                    return None
                if action == "garbage":
                    return self.send_body(200, b"this is not json {")
                status, payload = self._forward(body)
                if proxy.record and action == "pass":
                    with proxy.lock:
                        proxy.recorded[body_key(body)] = (status, payload)
                if action == "truncate":
                    payload = _truncate(payload)
                return self.send_body(status, payload)

            def do_GET(self) -> None:  # noqa: N802 - http.server's naming
                # Reads (/v1/models, the server's /props the client asks to pick its mode) pass
                # through untouched and uncounted: the script is about chat completions.
                root = proxy.upstream.removesuffix("/v1")
                try:
                    with urllib.request.urlopen(root + self.path, timeout=60) as response:
                        status, payload = response.status, response.read()
                except urllib.error.HTTPError as exc:
                    status, payload = exc.code, exc.read()
                if proxy.record:
                    with proxy.lock:
                        proxy.recorded_gets[self.path] = (status, payload)
                return self.send_body(status, payload)

            def _forward(self, body: bytes) -> tuple[int, bytes]:
                request = urllib.request.Request(proxy.upstream + self.path.removeprefix("/v1"), data=body,
                                                 headers={"Content-Type": "application/json"}, method="POST")
                with urllib.request.urlopen(request, timeout=600) as response:
                    return response.status, response.read()

        return Handler



def body_key(body: bytes) -> str:
    """What a recorded answer is found by: the request's exact bytes (any change is another request)."""
    return hashlib.sha256(body).hexdigest()


def _truncate(payload: bytes) -> bytes:
    """Cut the answer in half and say so, as a server does at max_tokens."""
    data = json.loads(payload)
    choice = data["choices"][0]
    choice["finish_reason"] = "length"
    message = choice["message"]
    for call in message.get("tool_calls") or []:
        call["function"]["arguments"] = call["function"]["arguments"][: len(call["function"]["arguments"]) // 2]
    if message.get("content"):
        message["content"] = message["content"][: len(message["content"]) // 2]
    return json.dumps(data).encode()
