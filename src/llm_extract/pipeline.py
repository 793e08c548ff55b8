"""The library API: report files in, grounded extractions in DuckDB out. The CLI and the evals
both call `run`; neither does any extraction work of its own.
"""

from __future__ import annotations

import contextlib
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from .config import Settings
from .documents import Document, discover, load
from .errors import EndpointError, InputError
from .extract import extract_document
from .labellers import Labeller, LLMLabeller, RulesLabeller, extraction_version
from .llm import InstructorBackend
from .prompts import Prompts
from .schemas import Extraction, Usage
from .store import Store

BackendKind = Literal["llm", "rules"]
Event = Callable[[str, dict[str, object]], None]


@dataclass
class RunSummary:
    run_id: str
    model: str
    prompt_version: str
    ok: list[str] = field(default_factory=list)
    partial: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    failed: list[tuple[str, str]] = field(default_factory=list)
    metrics: int = 0
    problems: int = 0
    dropped: int = 0
    usage: Usage = field(default_factory=Usage)
    seconds: float = 0.0
    aborted: str | None = None
    per_doc: dict[str, Extraction] = field(default_factory=dict)

    @property
    def exit_code(self) -> int:
        """0 all good; 1 some documents failed or came out partial; 2 the run was aborted."""
        if self.aborted:
            return 2
        return 1 if self.failed or self.partial else 0


@contextlib.contextmanager
def open_labeller(settings: Settings, backend: BackendKind = "llm",
                  prompts: Prompts | None = None) -> Iterator[tuple[Labeller, str | None]]:
    """The labeller and the base URL it talks to; starts (and stops) the embedded model if needed."""
    if backend == "rules":
        yield RulesLabeller(), None
        return
    prompts = prompts or Prompts()
    api_key = settings.api_key.get_secret_value() if settings.api_key else None
    if settings.base_url:
        yield LLMLabeller(InstructorBackend(settings, settings.base_url, api_key), prompts, settings.resolved_model()), settings.base_url
        return
    from .local import serve  # only the local path needs the runtime

    with serve(settings) as server:
        yield LLMLabeller(InstructorBackend(settings, server.base_url), prompts, settings.resolved_model()), server.base_url


def run(paths: list[Path], settings: Settings, *, backend: BackendKind = "llm", force: bool = False,
        on_event: Event | None = None, prompts: Prompts | None = None) -> RunSummary:
    """Extract every report under paths into settings.db; see RunSummary.exit_code."""
    emit = on_event or (lambda _kind, _data: None)
    started = time.monotonic()
    files, bad = discover(paths)
    run_id = uuid.uuid4().hex[:12]
    with Store(settings.db) as store:
        model = "rules" if backend == "rules" else settings.resolved_model()
        version = RulesLabeller.version if backend == "rules" else extraction_version(prompts or Prompts())
        summary = RunSummary(run_id=run_id, model=model, prompt_version=version)
        for path, reason in bad:
            summary.failed.append((str(path), reason))
            emit("failed", {"path": str(path), "reason": reason})
        docs = []
        for path in files:
            try:
                doc = load(path)
            except InputError as exc:
                summary.failed.append((str(path), str(exc)))
                emit("failed", {"path": str(path), "reason": str(exc)})
                continue
            if not force and store.is_current(doc.doc_id, model, version):
                summary.skipped.append(str(path))
                emit("skipped", {"path": str(path)})
                continue
            docs.append(doc)
        emit("start", {"total": len(docs)})
        if docs:
            store.start_run(run_id, settings.base_url, model)
            try:
                _extract_all(docs, settings, backend, prompts, store, summary, emit)
            finally:
                store.finish_run(run_id, len(docs), len(summary.ok) + len(summary.partial), len(summary.failed),
                                 summary.dropped, summary.usage.prompt_tokens, summary.usage.completion_tokens)
    summary.seconds = time.monotonic() - started
    return summary


def _extract_all(docs: list[Document], settings: Settings, backend: BackendKind, prompts: Prompts | None,
                 store: Store, summary: RunSummary, emit: Event) -> None:
    with open_labeller(settings, backend, prompts) as (labeller, _base_url):
        for doc in docs:
            emit("doc", {"path": str(doc.path), "chars": len(doc.text)})
            try:
                extraction = extract_document(doc, labeller, settings.resolved_concurrency(),
                                              progress=lambda step: emit("step", {"step": step}))
            except EndpointError as exc:
                # The endpoint, not this document, is the problem: stop before failing them all.
                summary.failed.append((str(doc.path), str(exc)))
                summary.aborted = str(exc)
                emit("failed", {"path": str(doc.path), "reason": str(exc)})
                return
            store.save(extraction, doc.text, summary.run_id, summary.model, summary.prompt_version)
            (summary.partial if extraction.failed_steps else summary.ok).append(str(doc.path))
            summary.metrics += len(extraction.metrics)
            summary.problems += len(extraction.problems)
            summary.dropped += extraction.dropped
            summary.usage.add(extraction.usage)
            summary.per_doc[str(doc.path)] = extraction
            emit("done", {"path": str(doc.path), "extraction": extraction})
