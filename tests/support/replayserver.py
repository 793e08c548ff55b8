"""An OpenAI-compatible HTTP server on 127.0.0.1 that answers from answers the embedded model gave
(recorded by `FaultProxy(record=True)`), many requests at once (one thread each), with a latency
per request and scripted HTTP 429s: a remote GPU server or a hosted API, without the model.

A request is found by its body's sha256. A body never recorded gets HTTP 404 and is counted in
`unknown`, so a request that changed cannot pass silently. The server counts the requests it
holds at once (`peak`): from reading a request until just before its answer is written, so that
a client sending its next request on the same worker cannot be counted twice.
"""

from __future__ import annotations

import base64
import http.server
import json
import threading
import time
from pathlib import Path

from tests.support.faultproxy import body_key
from tests.support.loopback import Loopback, QuietHandler

Answers = dict[str, tuple[int, bytes]]
REFUSED = b'{"error": {"message": "rate limited", "type": "rate_limit_error"}}'


class ReplayServer(Loopback):
    """`script` is consumed one entry per chat-completion request (when empty, requests are
    answered): "429" (Retry-After: 1), "429-now" (Retry-After: 0), "429-no-header", "500".
    `refuse_all` answers every request with `refuse_all`'s action instead."""

    def __init__(self, answers: Answers, gets: Answers, latency: float = 0.0, script: list[str] | None = None,
                 refuse_all: str | None = None) -> None:
        self.answers = answers
        self.gets = gets
        self.latency = latency
        self.script = list(script or [])
        self.refuse_all = refuse_all
        self.lock = threading.Lock()
        self.requests = 0
        self.answered = 0
        self.refused = 0
        self.unknown = 0
        self.in_flight = 0
        self.peak = 0
        server_class = type("Server", (http.server.ThreadingHTTPServer,), {
            # Up to 64 clients connect at once; the default backlog of 5 would refuse some.
            "request_queue_size": 256, "daemon_threads": True})
        super().__init__(self._handler(), server_class)

    def _arrive(self) -> str:
        with self.lock:
            self.requests += 1
            self.in_flight += 1
            self.peak = max(self.peak, self.in_flight)
            if self.refuse_all:
                return self.refuse_all
            return self.script.pop(0) if self.script else "answer"

    def _handler(self) -> type[http.server.BaseHTTPRequestHandler]:
        replay = self

        class Handler(QuietHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's naming
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                action = replay._arrive()
                try:
                    if replay.latency:
                        time.sleep(replay.latency)  # a remote server's time per request
                    headers: dict[str, str] = {}
                    found = None
                    if action.startswith("429"):
                        status, payload = 429, REFUSED
                        headers = {"429": {"Retry-After": "1"}, "429-now": {"Retry-After": "0"}}.get(action, {})
                    elif action == "500":
                        status, payload = 500, b'{"error": {"message": "boom"}}'
                    else:
                        found = replay.answers.get(body_key(body))
                        status, payload = found if found else (404, b'{"error": {"message": "no recorded answer for this request body"}}')
                    with replay.lock:
                        replay.refused += status == 429
                        replay.answered += status == 200
                        replay.unknown += action == "answer" and found is None
                finally:
                    with replay.lock:
                        replay.in_flight -= 1
                return self.send_body(status, payload, headers)

            def do_GET(self) -> None:  # noqa: N802 - http.server's naming
                status, payload = replay.gets.get(self.path, (404, b'{"error": {"message": "not recorded"}}'))
                return self.send_body(status, payload)

        return Handler



def save(path: Path, answers: Answers, gets: Answers) -> None:
    """A recording as JSON (answers base64-encoded: they are bytes, kept exactly)."""
    def encoded(table: Answers) -> dict[str, list[object]]:
        return {k: [status, base64.b64encode(payload).decode()] for k, (status, payload) in table.items()}
    path.write_text(json.dumps({"answers": encoded(answers), "gets": encoded(gets)}))


def load(path: Path) -> tuple[Answers, Answers]:
    data = json.loads(path.read_text())

    def decoded(table: dict[str, list[object]]) -> Answers:
        return {k: (int(str(status)), base64.b64decode(str(payload))) for k, (status, payload) in table.items()}
    return decoded(data["answers"]), decoded(data["gets"])
