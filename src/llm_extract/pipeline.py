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
from .labellers import (
    Labeller,
    LLMLabeller,
    RulesLabeller,
    extraction_version,
)
from .llm import Backend, InstructorBackend
from .prompts import Prompts
from .schemas import Extraction, Usage
from .store import Store, Writer

BackendKind = Literal["llm", "rules"]


# --- events: what a run reports as it goes (the CLI prints them) ------------------------------
@dataclass(frozen=True)
class Failed:
    path: str
    reason: str


@dataclass(frozen=True)
class Skipped:
    path: str
    same_as: str | None = None  # the path with the same bytes, when skipped as a duplicate


@dataclass(frozen=True)
class Note:
    path: str
    note: str  # something the user should know that is not a failure (a link followed outside)


@dataclass(frozen=True)
class Waiting:
    message: str  # the database is held by another process; the run waits


@dataclass(frozen=True)
class Started:
    total: int  # documents to extract (after skips)


@dataclass(frozen=True)
class DocStarted:
    path: str
    chars: int


@dataclass(frozen=True)
class DocDone:
    path: str
    extraction: Extraction


Event = Failed | Skipped | Note | Waiting | Started | DocStarted | DocDone
OnEvent = Callable[[Event], None]


@dataclass
class RunSummary:
    run_id: str
    model: str
    prompt_version: str
    base_url: str | None = None
    ok: list[str] = field(default_factory=list)
    partial: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    failed: list[tuple[str, str]] = field(default_factory=list)
    metrics: int = 0
    problems: int = 0
    dropped: int = 0
    fallbacks: int = 0
    usage: Usage = field(default_factory=Usage)
    seconds: float = 0.0
    aborted: str | None = None

    @property
    def exit_code(self) -> int:
        """0 all good; 1 some documents failed or came out partial; 2 the run was aborted."""
        if self.aborted:
            return 2
        return 1 if self.failed or self.partial else 0


@dataclass(frozen=True)
class Identity:
    """What an extraction is keyed by besides the document: decided once per run."""

    model: str
    version: str


def identity(settings: Settings, backend: BackendKind, prompts: Prompts | None = None) -> Identity:
    if backend == "rules":
        rules = RulesLabeller()
        return Identity(rules.name, rules.version)
    return Identity(settings.resolved_model(), extraction_version(prompts or Prompts(), settings.names))


@contextlib.contextmanager
def open_labeller(settings: Settings, backend: BackendKind = "llm", prompts: Prompts | None = None,
                  model_backend: Backend | None = None) -> Iterator[tuple[Labeller, str | None]]:
    """The labeller and the base URL it talks to; starts (and stops) the embedded model if needed.

    `model_backend` replaces the HTTP client only (a scripted backend in offline tests); where the
    endpoint comes from, and what is recorded about it, stays the same.
    """
    if backend == "rules":
        yield RulesLabeller(), None
        return
    with _endpoint(settings) as (base_url, api_key):
        client = model_backend or InstructorBackend(settings, base_url, api_key)
        labeller = LLMLabeller(client, prompts or Prompts(), settings.resolved_model(), settings.max_reasks,
                               settings.names)
        yield labeller, base_url


@contextlib.contextmanager
def _endpoint(settings: Settings) -> Iterator[tuple[str, str | None]]:
    """The configured endpoint and key, or the embedded model's, started for the block."""
    if settings.base_url:
        yield settings.base_url, settings.api_key.get_secret_value() if settings.api_key else None
        return
    from . import local  # only the local path needs the runtime

    with local.serve(settings) as server:
        yield server.base_url, None


def run(paths: list[Path], settings: Settings, *, backend: BackendKind = "llm", force: bool = False,
        on_event: OnEvent | None = None, prompts: Prompts | None = None,
        model_backend: Backend | None = None) -> RunSummary:
    """Extract every report under paths into settings.db; see RunSummary.exit_code."""
    emit = on_event or (lambda _event: None)
    started = time.monotonic()
    ident = identity(settings, backend, prompts)
    summary = RunSummary(run_id=uuid.uuid4().hex[:12], model=ident.model, prompt_version=ident.version)
    found = find_reports(paths)
    for path, note in found.notes:
        emit(Note(str(path), note))
    for path, reason in found.bad:
        _fail(summary, emit, str(path), reason)
    loaded, seen = _load_all(found.files, summary, emit)
    # The database is opened only for short spells (here, and while documents are written in
    # _extract_all) so that sql, show and export can read between them; run_lock keeps a second
    # run out meanwhile.
    with run_lock(settings.db):
        with _open_store(settings, emit) as store:
            store.mark_interrupted_runs()  # under run_lock, a run without finished_at was killed
            docs = _to_extract(loaded, store, ident, force, summary, emit)
            store.record_paths(seen)  # before any save: a renamed file keeps its rows under its new name
        emit(Started(len(docs)))
        if docs:
            _extract_all(docs, settings, backend, prompts, model_backend, summary, emit)
    summary.seconds = time.monotonic() - started
    return summary


def _fail(summary: RunSummary, emit: OnEvent, path: str, reason: str) -> None:
    summary.failed.append((path, reason))
    emit(Failed(path, reason))


def _load_all(files: list[Path], summary: RunSummary, emit: OnEvent) -> tuple[list[Document], dict[str, str]]:
    """Every readable file once per content: (documents, doc_id -> the path it was found at)."""
    loaded = []
    seen: dict[str, str] = {}
    for path in files:
        try:
            doc = load(path)
        except InputError as exc:
            _fail(summary, emit, str(path), str(exc))
            continue
        if doc.doc_id in seen:  # the same bytes at a second path: one document
            summary.skipped.append(str(doc.path))
            emit(Skipped(str(doc.path), same_as=seen[doc.doc_id]))
            continue
        seen[doc.doc_id] = str(doc.path)
        loaded.append(doc)
    return loaded, seen


def _to_extract(loaded: list[Document], store: Store, ident: Identity, force: bool, summary: RunSummary,
                emit: OnEvent) -> list[Document]:
    """The documents not already extracted with this model and version."""
    docs = []
    for doc in loaded:
        if not force and store.is_current(doc.doc_id, ident.model, ident.version, doc.converter):
            summary.skipped.append(str(doc.path))
            emit(Skipped(str(doc.path)))
            continue
        docs.append(doc)
    return docs


def _open_store(settings: Settings, emit: OnEvent) -> Store:
    return Store(settings.db, wait=settings.lock_wait, on_wait=lambda message: emit(Waiting(message)))


def _writer(settings: Settings, emit: OnEvent) -> Writer:
    return Writer(settings.db, wait=settings.lock_wait, on_wait=lambda message: emit(Waiting(message)))


def _finish_run(settings: Settings, summary: RunSummary, n_docs: int, status: str, emit: OnEvent) -> None:
    try:
        with _open_store(settings, emit) as store:
            store.finish_run(summary.run_id, n_docs, len(summary.ok) + len(summary.partial), len(summary.failed),
                             summary.dropped, summary.usage.prompt_tokens, summary.usage.completion_tokens, status)
    except StoreError:
        if status != "interrupted":
            raise
        # Stopping on Ctrl-C matters more than this row; the next run marks it interrupted.


def _extract_all(docs: list[Document], settings: Settings, backend: BackendKind, prompts: Prompts | None,
                 model_backend: Backend | None, summary: RunSummary, emit: OnEvent) -> None:
    with open_labeller(settings, backend, prompts, model_backend) as (labeller, base_url), \
            _writer(settings, emit) as writer:
        summary.base_url = base_url
        with _open_store(settings, emit) as store:
            store.start_run(summary.run_id, base_url, summary.model)
        status = "interrupted"
        try:
            for doc in docs:
                if not _extract_one(doc, labeller, settings, writer, summary, emit):
                    break
            status = "aborted" if summary.aborted else "finished"
        finally:
            writer.close()
            _finish_run(settings, summary, len(docs), status, emit)


def _extract_one(doc: Document, labeller: Labeller, settings: Settings, writer: Writer,
                 summary: RunSummary, emit: OnEvent) -> bool:
    """Extract and store one document; False when the endpoint or the database failed and the
    run must stop (every document saved so far is kept)."""
    emit(DocStarted(str(doc.path), len(doc.text)))
    try:
        extraction = extract_document(doc, labeller, settings.resolved_concurrency())
        extraction = extraction.model_copy(update={"run_id": summary.run_id, "base_url": summary.base_url})
        writer.save(extraction)
    except (EndpointError, StoreError) as exc:
        # The endpoint or the database (held by a reader for too long, or damaged), not this
        # document, is the problem: stop before failing them all.
        _fail(summary, emit, str(doc.path), str(exc))
        summary.aborted = str(exc)
        return False
    (summary.partial if extraction.failed_steps else summary.ok).append(str(doc.path))
    summary.metrics += len(extraction.metrics)
    summary.problems += len(extraction.problems)
    summary.dropped += extraction.dropped
    summary.fallbacks += extraction.fallbacks
    summary.usage.add(extraction.usage)
    emit(DocDone(str(doc.path), extraction))
    return True
