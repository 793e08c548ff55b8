"""Plays a batch endpoint for tests: each request line's body is POSTed as it stands to an
OpenAI-compatible server's /chat/completions, and the answers are written as OpenAI Batch
output lines (what OpenAI, Model Studio and vLLM's run-batch return)."""

from __future__ import annotations

import hashlib
import http.server
import json
import urllib.error
import urllib.request
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from tests.support.loopback import Loopback, QuietHandler


def post(base_url: str, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    request = urllib.request.Request(f"{base_url.rstrip('/')}/chat/completions", data=json.dumps(body).encode(),
                                     headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=900) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read() or b"{}")


def run_batch(requests: Path, output: Path, base_url: str, parallel: int = 4) -> list[dict[str, Any]]:
    lines = [json.loads(line) for line in requests.read_text(encoding="utf-8").splitlines() if line.strip()]
    assert all(line["method"] == "POST" and line["url"] == "/v1/chat/completions" for line in lines)
    with ThreadPoolExecutor(parallel) as pool:
        answers = list(pool.map(lambda line: post(base_url, line["body"]), lines))
    out = [{"id": f"batch_req_{k}", "custom_id": line["custom_id"],
            "response": {"status_code": status, "request_id": f"req_{k}", "body": body}, "error": None}
           for k, (line, (status, body)) in enumerate(zip(lines, answers))]
    output.write_text("".join(json.dumps(o, ensure_ascii=False) + "\n" for o in out), encoding="utf-8")
    return out


# --- an offline OpenAI-compatible server for the batch tests -------------------------------------

# (schema name, JSON schema of the answer, request body) -> the answer's arguments
Answerer = Callable[[str, dict[str, Any], dict[str, Any]], dict[str, Any]]


def schema_of(body: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    if "response_format" in body:
        spec = body["response_format"]["json_schema"]
        return spec["name"], spec["schema"]
    function = body["tools"][0]["function"]
    return function["name"], function["parameters"]


def some_answer(name: str, schema: dict[str, Any], body: dict[str, Any]) -> dict[str, Any]:
    """A valid answer that depends on the request (so a mixed-up answer would show): each item
    gets an enum value picked by a hash of the request (an item with several choices, one per
    field); metadata says nothing."""
    seed = hashlib.sha256(json.dumps(body["messages"], ensure_ascii=False).encode()).digest()
    return _answer(schema, schema.get("$defs", {}), seed, 0)


def _answer(schema: dict[str, Any], defs: dict[str, Any], seed: bytes, offset: int) -> dict[str, Any]:
    answer: dict[str, Any] = {}
    for k, (field, spec) in enumerate(schema.get("properties", {}).items()):
        target = defs.get(spec.get("$ref", "").rsplit("/", 1)[-1], spec) if "$ref" in spec else spec
        if "properties" in target:
            answer[field] = _answer(target, defs, seed, offset + k)
            continue
        enum = target.get("enum")
        answer[field] = enum[seed[(offset + k) % len(seed)] % len(enum)] if enum else None
    return answer


def completion(body: dict[str, Any], arguments: dict[str, Any] | str, finish: str = "stop") -> dict[str, Any]:
    """A chat.completion answering body in its mode (tool call or content)."""
    text = arguments if isinstance(arguments, str) else json.dumps(arguments, ensure_ascii=False)
    if "tools" in body:
        message: dict[str, Any] = {"role": "assistant", "content": None, "tool_calls": [
            {"id": "call_1", "type": "function", "function": {"name": schema_of(body)[0], "arguments": text}}]}
        finish = "tool_calls" if finish == "stop" else finish
    else:
        message = {"role": "assistant", "content": text}
    return {"id": "chatcmpl-1", "object": "chat.completion", "created": 0, "model": body["model"],
            "choices": [{"index": 0, "finish_reason": finish, "message": message}],
            "usage": {"prompt_tokens": 100, "completion_tokens": 20, "total_tokens": 120}}


class AnswerServer(Loopback):
    """Answers every chat completion with answerer's arguments in the request's mode and keeps
    each request body, as the live client sent it."""

    def __init__(self, answerer: Answerer = some_answer) -> None:
        self.answerer = answerer
        self.bodies: list[dict[str, Any]] = []
        super().__init__(self._handler())

    def answer(self, body: dict[str, Any]) -> dict[str, Any]:
        name, schema = schema_of(body)
        return completion(body, self.answerer(name, schema, body))

    def _handler(self) -> type[http.server.BaseHTTPRequestHandler]:
        owner = self

        class Handler(QuietHandler):
            def do_GET(self) -> None:
                self.send_response(404)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))))
                owner.bodies.append(body)
                payload = json.dumps(owner.answer(body), ensure_ascii=False).encode()
                self.send_body(200, payload)

        return Handler



def answer_lines(requests: Path, answer: Callable[[dict[str, Any]], dict[str, Any]]) -> list[dict[str, Any]]:
    """Batch output lines for a request file, each body answered by answer (no HTTP)."""
    lines = [json.loads(line) for line in requests.read_text(encoding="utf-8").splitlines() if line.strip()]
    return [{"id": f"batch_req_{k}", "custom_id": line["custom_id"],
             "response": {"status_code": 200, "request_id": f"req_{k}", "body": answer(line["body"])}, "error": None}
            for k, line in enumerate(lines)]


def write_lines(path: Path, lines: list[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(line, ensure_ascii=False) + "\n" for line in lines), encoding="utf-8")
    return path


class RecordingProxy(Loopback):
    """A proxy on 127.0.0.1 in front of a real server that keeps every chat completion exchange
    (request body as the client sent it, response body as the server answered)."""

    def __init__(self, upstream: str) -> None:
        self.upstream = upstream.rstrip("/")
        self.exchanges: list[tuple[dict[str, Any], dict[str, Any]]] = []
        super().__init__(self._handler())

    def _handler(self) -> type[http.server.BaseHTTPRequestHandler]:
        proxy = self

        class Handler(QuietHandler):
            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))))
                status, answer = post(proxy.upstream, body)
                proxy.exchanges.append((body, answer))
                self.send_body(status, json.dumps(answer).encode())

            def do_GET(self) -> None:
                try:
                    with urllib.request.urlopen(proxy.upstream.removesuffix("/v1") + self.path, timeout=60) as response:
                        self.send_body(response.status, response.read())
                except urllib.error.HTTPError as exc:
                    self.send_body(exc.code, exc.read())

        return Handler



class BatchesServer(Loopback):
    """`/v1/files` and `/v1/batches` as OpenAI serves them, on 127.0.0.1: a batch is in progress
    when first retrieved and completed (every line answered by `answer`, those in `fail` as
    HTTP 500 in the error file) from the second retrieval on."""

    def __init__(self, answer: Callable[[dict[str, Any]], dict[str, Any]], fail: set[str] | None = None) -> None:
        self.answer, self.fail = answer, fail or set()
        self.files: dict[str, str] = {}
        self.batches: dict[str, dict[str, Any]] = {}
        super().__init__(self._handler())

    def _upload(self, content_type: str, raw: bytes) -> dict[str, Any]:
        import email
        import email.policy

        message = email.message_from_bytes(f"Content-Type: {content_type}\r\n\r\n".encode() + raw,
                                           policy=email.policy.HTTP)
        parts = {part.get_param("name", header="content-disposition"): part for part in message.iter_parts()}  # type: ignore[attr-defined]
        assert parts["purpose"].get_content().strip() == "batch"
        file_id = f"file-{len(self.files) + 1}"
        self.files[file_id] = parts["file"].get_payload(decode=True).decode()
        return {"id": file_id, "object": "file", "bytes": len(self.files[file_id]), "created_at": 0,
                "filename": "requests.jsonl", "purpose": "batch", "status": "processed"}

    def _create(self, request: dict[str, Any]) -> dict[str, Any]:
        assert request["endpoint"] == "/v1/chat/completions" and request["completion_window"] == "24h"
        batch_id = f"batch_{len(self.batches) + 1}"
        total = len([line for line in self.files[request["input_file_id"]].splitlines() if line.strip()])
        self.batches[batch_id] = {
            "id": batch_id, "object": "batch", "endpoint": request["endpoint"], "input_file_id": request["input_file_id"],
            "completion_window": "24h", "status": "validating", "created_at": 0, "errors": None,
            "request_counts": {"total": total, "completed": 0, "failed": 0}, "metadata": request.get("metadata"),
            "output_file_id": None, "error_file_id": None, "retrievals": 0}
        return self._public(batch_id)

    def _public(self, batch_id: str) -> dict[str, Any]:
        return {k: v for k, v in self.batches[batch_id].items() if k != "retrievals"}

    def _retrieve(self, batch_id: str) -> dict[str, Any]:
        batch = self.batches[batch_id]
        batch["retrievals"] += 1
        if batch["retrievals"] == 1:
            batch["status"] = "in_progress"
        elif batch["status"] != "completed":
            lines = [json.loads(line) for line in self.files[batch["input_file_id"]].splitlines() if line.strip()]
            out, errors = [], []
            for k, line in enumerate(lines):
                if line["custom_id"] in self.fail:
                    errors.append({"id": f"r{k}", "custom_id": line["custom_id"], "response": {
                        "status_code": 500, "request_id": f"q{k}", "body": {"error": {"message": "server busy"}}}, "error": None})
                else:
                    out.append({"id": f"r{k}", "custom_id": line["custom_id"], "response": {
                        "status_code": 200, "request_id": f"q{k}", "body": self.answer(line["body"])}, "error": None})
            for name, rows in (("output_file_id", out), ("error_file_id", errors)):
                if rows:
                    file_id = f"file-{len(self.files) + 1}"
                    self.files[file_id] = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows)
                    batch[name] = file_id
            batch["status"] = "completed"
            batch["request_counts"] = {"total": len(lines), "completed": len(out), "failed": len(errors)}
        return self._public(batch_id)

    def _handler(self) -> type[http.server.BaseHTTPRequestHandler]:
        owner = self

        class Handler(QuietHandler):
            def do_POST(self) -> None:
                raw = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                if self.path == "/v1/files":
                    return self.send_body(200, json.dumps(owner._upload(self.headers["Content-Type"], raw)).encode())
                if self.path == "/v1/batches":
                    return self.send_body(200, json.dumps(owner._create(json.loads(raw))).encode())
                return self.send_body(404, b'{"error": {"message": "not found"}}')

            def do_GET(self) -> None:
                parts = self.path.strip("/").split("/")
                if parts[:2] == ["v1", "batches"] and len(parts) == 3 and parts[2] in owner.batches:
                    return self.send_body(200, json.dumps(owner._retrieve(parts[2])).encode())
                if parts[:2] == ["v1", "files"] and len(parts) == 4 and parts[3] == "content" and parts[2] in owner.files:
                    return self.send_body(200, owner.files[parts[2]].encode(), content_type="application/octet-stream")
                return self.send_body(404, b'{"error": {"message": "not found"}}')

        return Handler

