"""The OpenAI Batch line formats, request bodies and custom ids.

A request body is built by instructor's own request preparation for the mode (the function its
patched `create` calls before sending), so a batch line is what the live client would POST.
Answers are parsed back by instructor's response processing with the same response model and
validation context (see `backends`).
"""

from __future__ import annotations

import copy
import hashlib
import json
import os
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, get_args

import instructor
from instructor.processing import handle_response_model
from instructor.templating import handle_templating  # type: ignore[attr-defined]  # a star re-export mypy misses
from pydantic import BaseModel

from llm_extract.errors import BatchError
from llm_extract.ingest.fsnames import json_safe
from llm_extract.schemas import Namer

URL = "/v1/chat/completions"
# Batch endpoints cannot be probed for the mode as the live client probes its endpoint (the file
# may be run elsewhere, later). `json_schema` is taken by all three targets (vLLM and llama.cpp
# enforce it by constrained decoding; OpenAI follows it, as instructor sends no `strict`) and puts
# no tool definition into every prompt, which a batch pays for per request; collect validates
# every answer whatever the mode.
DEFAULT_MODE = "json_schema"
MODES = {
    "tools": instructor.Mode.TOOLS,
    "json_schema": instructor.Mode.JSON_SCHEMA,
    "json": instructor.Mode.JSON,
    "md_json": instructor.Mode.MD_JSON,
}
FORMAT = 1  # of the manifest; a reader refuses another


@dataclass(frozen=True)
class Shape:
    """What a request body is made of besides the labeller's messages: fixed at prepare and
    recorded in the manifest, so collect rebuilds exactly the bodies that were sent."""

    model: str
    mode: str
    temperature: float
    max_tokens: int

    @property
    def instructor_mode(self) -> instructor.Mode:
        return MODES[self.mode]


def prepare_request(shape: Shape, response_model: type[BaseModel], messages: list[dict[str, str]],
                    context: dict[str, Any] | None) -> tuple[type[BaseModel], dict[str, Any]]:
    """(the response model as instructor parses into it, the request kwargs) as the live client
    makes them: instructor's request handler for the mode, then its templating with the context."""
    prepared, kwargs = handle_response_model(
        response_model, shape.instructor_mode, model=shape.model, messages=copy.deepcopy(messages),
        temperature=shape.temperature, max_tokens=shape.max_tokens)
    kwargs = handle_templating(kwargs, mode=shape.instructor_mode, context=context or {})
    assert prepared is not None  # a response model in gives one out
    return prepared, kwargs


def plain(kwargs: dict[str, Any]) -> dict[str, Any]:
    """The JSON the openai client puts on the wire for these kwargs."""
    return json.loads(json.dumps(kwargs, ensure_ascii=False))


def body_hash(body: dict[str, Any]) -> str:
    canonical = json.dumps(body, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()[:12]


def custom_id(doc_id: str, version: str, body: dict[str, Any]) -> str:
    """`<doc_id[:16]>-<extraction version>-<request hash>`: an answer can only be matched to the
    document bytes, the prompt and code version, and the exact request it was asked for."""
    return f"{doc_id[:16]}-{version}-{body_hash(body)}"


def request_line(cid: str, body: dict[str, Any]) -> dict[str, Any]:
    return {"custom_id": cid, "method": "POST", "url": URL, "body": body}


def write_jsonl(path: Path, lines: Iterable[dict[str, Any]]) -> int:
    """Write one JSON object a line; returns how many."""
    text = [json_safe(json.dumps(line, ensure_ascii=False, separators=(",", ":"))) + "\n" for line in lines]
    write_text(path, "".join(text))
    return len(text)


def write_json(path: Path, value: dict[str, Any]) -> None:
    # json_safe: a report whose name is not UTF-8 is named by its \u escapes, read back as the name.
    write_text(path, json_safe(json.dumps(value, ensure_ascii=False, indent=1)) + "\n")


def write_text(path: Path, text: str) -> None:
    """Atomically (a temporary file beside it, then renamed): a reader, or an upload started
    meanwhile, never sees half a file, and an interrupted write leaves the old file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(text)
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


# --- the manifest: which documents a request file is for ------------------------------------
@dataclass
class ManifestDoc:
    doc_id: str
    path: str
    converter: str
    custom_ids: list[str] = field(default_factory=list)


@dataclass
class Manifest:
    """Written beside the request file by prepare: batch lines carry ids, not paths, and collect
    re-reads each document from where prepare found it."""

    shape: Shape
    prompt_version: str
    names: Namer
    max_reasks: int
    documents: list[ManifestDoc] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {
            "format": FORMAT, "model": self.shape.model, "mode": self.shape.mode,
            "temperature": self.shape.temperature, "max_tokens": self.shape.max_tokens,
            "prompt_version": self.prompt_version, "names": self.names, "max_reasks": self.max_reasks,
            "documents": [{"doc_id": d.doc_id, "path": d.path, "converter": d.converter, "custom_ids": d.custom_ids}
                          for d in self.documents],
        }

    @classmethod
    def from_json(cls, data: Any, where: Path) -> Manifest:
        try:
            if data.get("format") != FORMAT:
                raise BatchError(f"{where} is a manifest of another format ({data.get('format')!r}); "
                                 "run `llm-extract batch prepare` again with this version")
            shape = Shape(str(data["model"]), str(data["mode"]), float(data["temperature"]), int(data["max_tokens"]))
            if shape.mode not in MODES or data["names"] not in get_args(Namer):
                raise BatchError(f"{where}: unknown mode {shape.mode!r} or namer {data['names']!r}; "
                                 "run `llm-extract batch prepare` again")
            docs = [ManifestDoc(str(d["doc_id"]), str(d["path"]), str(d["converter"]), [str(c) for c in d["custom_ids"]])
                    for d in data["documents"]]
            return cls(shape, str(data["prompt_version"]), data["names"], int(data["max_reasks"]), docs)
        except (AttributeError, KeyError, TypeError, ValueError) as exc:
            raise BatchError(f"{where} is not a manifest written by `llm-extract batch prepare` ({exc}); "
                             "prepare the requests again") from exc


def manifest_path(requests: Path) -> Path:
    """`requests.jsonl` → `requests.manifest.json`."""
    return requests.with_name(f"{requests.stem}.manifest.json")


def read_manifest(requests: Path) -> Manifest:
    where = manifest_path(requests)
    try:
        data = json.loads(where.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise BatchError(f"no {where} beside {requests}: collect needs the manifest `batch prepare` wrote "
                         "with the request file (pass that file with --requests)") from exc
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise BatchError(f"cannot read {where} ({exc}); prepare the requests again") from exc
    return Manifest.from_json(data, where)


# --- result lines -------------------------------------------------------------------------------
@dataclass(frozen=True)
class Answer:
    """One result line for a request: the chat completion, or why there is none."""

    where: str  # file:line, for the user
    completion: dict[str, Any] | None = None
    error: str | None = None


@dataclass
class Results:
    by_id: dict[str, list[Answer]] = field(default_factory=dict)  # in the order given: later files last
    bad_lines: list[str] = field(default_factory=list)  # lines that name no request: "file:line: why"
    repeated: list[str] = field(default_factory=list)  # a custom_id answered twice in one file: "file:line: …"

    def add(self, cid: str, answer: Answer) -> None:
        self.by_id.setdefault(cid, []).append(answer)


def read_results(paths: list[Path]) -> Results:
    """Batch output lines (`{"id", "custom_id", "response": {"status_code", "body"}, "error"}`)
    of every file, in order; a later answer for a custom_id overrides an earlier one."""
    results = Results()
    for path in paths:
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError as exc:
            raise BatchError(f"no results file {path}") from exc
        except (OSError, UnicodeDecodeError) as exc:
            raise BatchError(f"cannot read {path} ({exc}); download the batch output again") from exc
        first_at: dict[str, str] = {}
        for number, line in enumerate(text.splitlines(), 1):
            # A BOM at the start of a line (a file saved by an editor, files joined with cat) is
            # not part of the JSON.
            line = line.lstrip("\ufeff")
            if line.strip():
                where = f"{path.name}:{number}"
                cid = parse_result_line(line, where, results)
                if cid is not None and cid in first_at:
                    results.repeated.append(f"{where}: a second answer for {cid} in this file (the first at "
                                            f"{first_at[cid]}); the later one is used")
                elif cid is not None:
                    first_at[cid] = where
    return results


def parse_result_line(line: str, where: str, results: Results) -> str | None:
    """Add the line's answer to results; its custom_id, or None for a line that names none."""
    try:
        data = json.loads(line)
    except json.JSONDecodeError as exc:
        results.bad_lines.append(f"{where}: not JSON ({exc.msg}, column {exc.colno}); the rest of the file is read")
        return None
    cid = data.get("custom_id") if isinstance(data, dict) else None
    if not isinstance(cid, str) or not cid:
        results.bad_lines.append(f"{where}: no custom_id")
        return None
    results.add(cid, _answer(data, where))
    return cid


def _answer(data: dict[str, Any], where: str) -> Answer:
    error = data.get("error")
    if error:
        if isinstance(error, dict):
            error = f"{error.get('code') or 'error'}: {error.get('message') or ''}".strip()
        return Answer(where, error=f"the batch endpoint failed the request ({_short(error)})")
    response = data.get("response")
    if not isinstance(response, dict):
        return Answer(where, error="the line has no response")
    status, body = response.get("status_code"), response.get("body")
    if status != 200:
        message = body.get("error", body) if isinstance(body, dict) else body
        if isinstance(message, dict):
            message = message.get("message", message)
        return Answer(where, error=f"the endpoint answered HTTP {status} ({_short(message)})")
    if not isinstance(body, dict) or not body.get("choices"):
        return Answer(where, error="the response body is not a chat completion (no choices)")
    return Answer(where, completion=body)


def _short(value: Any) -> str:
    return " ".join(str(value).split())[:200]
