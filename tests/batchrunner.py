"""Plays a batch endpoint for tests: each request line's body is POSTed as it stands to an
OpenAI-compatible server's /chat/completions, and the answers are written as OpenAI Batch
output lines (what OpenAI, Model Studio and vLLM's run-batch return)."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any


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
