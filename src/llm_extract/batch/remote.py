"""`batch submit` / `batch status`: a request file through an endpoint's `/v1/files` and
`/v1/batches` (OpenAI, Alibaba Model Studio), with the openai client."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import openai

from llm_extract.batch.requests import write_text
from llm_extract.config import Settings
from llm_extract.errors import BatchError, EndpointError
from llm_extract.model.client import describe
from llm_extract.store.outpaths import check_output

DONE = "completed"
OVER = ("failed", "expired", "cancelled", "cancelling")


@dataclass
class BatchInfo:
    id: str
    status: str
    total: int = 0
    completed: int = 0
    failed: int = 0
    errors: list[str] = field(default_factory=list)  # why the batch itself failed (bad lines, quota)
    written: int = 0  # result lines written (output and error files)


def _client(settings: Settings) -> openai.OpenAI:
    if not settings.base_url:
        raise BatchError("batch submit and status need a hosted endpoint with /v1/batches: set LLM_EXTRACT_BASE_URL "
                         "and LLM_EXTRACT_API_KEY (for vLLM or the embedded model, run the file with a runner such as "
                         "vLLM's run_batch)")
    key = settings.api_key.get_secret_value() if settings.api_key else "not-needed"
    return openai.OpenAI(base_url=settings.base_url, api_key=key, timeout=settings.timeout)


def _info(batch: Any) -> BatchInfo:
    counts = batch.request_counts
    errors = [f"line {e.line}: {e.message}" if e.line is not None else str(e.message)
              for e in (batch.errors.data or [] if batch.errors else [])]
    return BatchInfo(batch.id, batch.status, counts.total if counts else 0, counts.completed if counts else 0,
                     counts.failed if counts else 0, errors)


def submit(settings: Settings, requests: Path) -> BatchInfo:
    """Upload the request file (purpose `batch`) and create a batch over it."""
    if not requests.is_file():
        raise BatchError(f"no request file {requests}; write one with `llm-extract batch prepare`")
    client = _client(settings)
    try:
        with requests.open("rb") as handle:
            uploaded = client.files.create(file=handle, purpose="batch")
        batch = client.batches.create(input_file_id=uploaded.id, endpoint="/v1/chat/completions", completion_window="24h",
                                      metadata={"tool": "llm-extract", "requests": requests.name})
    except openai.APIError as exc:
        raise EndpointError(_why(exc, settings.base_url or "")) from exc
    return _info(batch)


def status(settings: Settings, batch_id: str, output: Path | None = None) -> BatchInfo:
    """The batch's state; once it is completed and OUTPUT is given, its output lines and its error
    lines (requests the endpoint failed, which collect lists) are written there."""
    if output is not None:
        check_output(output, db=settings.db, what="results file", flag="-o")
    client = _client(settings)
    try:
        batch = client.batches.retrieve(batch_id)
        info = _info(batch)
        if output is not None and batch.status == DONE:
            # As downloaded, output then errors: collect reads both and says what is wrong with a line.
            texts = [client.files.content(f).text for f in (batch.output_file_id, batch.error_file_id) if f]
            text = "".join(t if t.endswith("\n") or not t else t + "\n" for t in texts)
            write_text(output, text)
            info.written = sum(1 for line in text.splitlines() if line.strip())
    except openai.APIError as exc:
        raise EndpointError(_why(exc, settings.base_url or "")) from exc
    return info


def _why(exc: openai.APIError, base_url: str) -> str:
    if isinstance(exc, openai.NotFoundError):
        return f"the endpoint {base_url} has no such batch or no batch API (HTTP 404); check the id, or run the file with a runner"
    return describe(exc, base_url)
