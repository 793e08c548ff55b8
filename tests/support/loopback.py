"""What the tests' stand-in endpoints share: an HTTP server on 127.0.0.1 in a thread, started for
a `with` block, and a request handler that stays quiet and answers with a body and its length.
Each stand-in (canned answers, fault proxy, replay, batch runner) keeps only its own behaviour."""

from __future__ import annotations

import http.server
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Self


class Loopback:
    """A threaded HTTP server on a free 127.0.0.1 port; `base_url` is its OpenAI-style /v1 root."""

    def __init__(self, handler: type[http.server.BaseHTTPRequestHandler],
                 server_class: type[http.server.ThreadingHTTPServer] = http.server.ThreadingHTTPServer) -> None:
        self.server = server_class(("127.0.0.1", 0), handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_port}/v1"

    @contextmanager
    def running(self) -> Iterator[Self]:
        self.thread.start()
        try:
            yield self
        finally:
            self.server.shutdown()
            self.server.server_close()


class QuietHandler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as the openai client expects

    def log_message(self, *args: object) -> None:
        pass

    def send_body(self, status: int, body: bytes, headers: dict[str, str] | None = None,
                  content_type: str = "application/json") -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(body)
