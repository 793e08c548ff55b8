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
from .dbfile import run_lock
from .documents import Document, find_reports, load
from .errors import EndpointError, InputError, StoreError
from .extract import extract_document
from .labellers import Labeller, LLMLabeller, RulesLabeller, extraction_version
from .llm import InstructorBackend
from .prompts import Prompts
from .schemas import Extraction, Usage
from .store import Store, Writer

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
    found = find_reports(paths)
    run_id = uuid.uuid4().hex[:12]
    model = "rules" if backend == "rules" else settings.resolved_model()
    version = RulesLabeller.version if backend == "rules" else extraction_version(prompts or Prompts())
    summary = RunSummary(run_id=run_id, model=model, prompt_version=version)
    for path, note in found.notes:
        emit("note", {"path": str(path), "note": note})
    for path, reason in found.bad:
        summary.failed.append((str(path), reason))
        emit("failed", {"path": str(path), "reason": reason})
    loaded = []
    seen: dict[str, str] = {}  # doc_id -> where it was found in this run
    for path in found.files:
        try:
            doc = load(path)
        except InputError as exc:
            summary.failed.append((str(path), str(exc)))
            emit("failed", {"path": str(path), "reason": str(exc)})
            continue
        if doc.doc_id in seen:  # the same bytes at a second path: one document
            summary.skipped.append(str(doc.path))
            emit("skipped", {"path": str(doc.path), "same_as": seen[doc.doc_id]})
            continue
        seen[doc.doc_id] = str(doc.path)
        loaded.append(doc)
    # The database is opened only for short spells (here, and while documents are written in
    # _extract_all) so that sql, show and export can read between them; run_lock keeps a second
    # run out meanwhile.
    with run_lock(settings.db):
        with _open_store(settings, emit) as store:
            store.mark_interrupted_runs()  # under run_lock, a run without finished_at was killed
            docs = []
            for doc in loaded:
                if not force and store.is_current(doc.doc_id, model, version):
                    summary.skipped.append(str(doc.path))
                    emit("skipped", {"path": str(doc.path)})
                    continue
                docs.append(doc)
            store.record_paths(seen)  # before any save: a renamed file keeps its rows under its new name
            if docs:
                store.start_run(run_id, settings.base_url, model)
        emit("start", {"total": len(docs)})
        if docs:
            status = "interrupted"
            try:
                _extract_all(docs, settings, backend, prompts, summary, emit)
                status = "aborted" if summary.aborted else "finished"
            finally:
                _finish_run(settings, summary, len(docs), status, emit)
    summary.seconds = time.monotonic() - started
    return summary


def _open_store(settings: Settings, emit: Event) -> Store:
    return Store(settings.db, wait=settings.lock_wait, on_wait=lambda message: emit("waiting", {"message": message}))


def _writer(settings: Settings, emit: Event) -> Writer:
    return Writer(settings.db, wait=settings.lock_wait, on_wait=lambda message: emit("waiting", {"message": message}))


def _finish_run(settings: Settings, summary: RunSummary, n_docs: int, status: str, emit: Event) -> None:
    try:
        with _open_store(settings, emit) as store:
            store.finish_run(summary.run_id, n_docs, len(summary.ok) + len(summary.partial), len(summary.failed),
                             summary.dropped, summary.usage.prompt_tokens, summary.usage.completion_tokens, status)
    except StoreError:
        if status != "interrupted":
            raise
        # Stopping on Ctrl-C matters more than this row; the next run marks it interrupted.


def _extract_all(docs: list[Document], settings: Settings, backend: BackendKind, prompts: Prompts | None,
                 summary: RunSummary, emit: Event) -> None:
    with open_labeller(settings, backend, prompts) as (labeller, _base_url), _writer(settings, emit) as writer:
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
            try:
                writer.save(extraction, doc.text, summary.run_id, summary.model, summary.prompt_version)
            except StoreError as exc:
                # The database, not this document, is the problem (held by a reader for too long, or
                # damaged): stop, keeping every document saved so far.
                summary.failed.append((str(doc.path), str(exc)))
                summary.aborted = str(exc)
                emit("failed", {"path": str(doc.path), "reason": str(exc)})
                return
            (summary.partial if extraction.failed_steps else summary.ok).append(str(doc.path))
            summary.metrics += len(extraction.metrics)
            summary.problems += len(extraction.problems)
            summary.dropped += extraction.dropped
            summary.usage.add(extraction.usage)
            summary.per_doc[str(doc.path)] = extraction
            emit("done", {"path": str(doc.path), "extraction": extraction})
