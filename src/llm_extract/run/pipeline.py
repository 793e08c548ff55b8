"""The library API: report files in, grounded extractions in DuckDB out. The CLI and the evals
both call `run`; neither does any extraction work of its own.
"""

from __future__ import annotations

import contextlib
import time
import uuid
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import wait as wait_for
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from llm_extract.config import Settings
from llm_extract.store.dbfile import run_lock
from llm_extract.ingest.documents import Document, Fingerprint, find_reports, fingerprint, load
from llm_extract.errors import EndpointError, InputError, StoreError
from llm_extract.run.extract import extract_document
from llm_extract.model.governor import governor_of
from llm_extract.label.labellers import (
    Labeller,
    LLMLabeller,
    RulesLabeller,
    extraction_version,
)
from llm_extract.label.prompts import Prompts
from llm_extract.schemas import Extraction, Usage
from llm_extract.store.database import Store
from llm_extract.store.writer import Writer
from llm_extract.model.throttle import Throttle, throttle_of

if TYPE_CHECKING:  # the client (instructor, openai) is imported only by runs that use a model
    from llm_extract.label.backend import Backend

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


@dataclass(frozen=True)
class Throughput:
    """How fast the run goes (for progress): since its first document, after every document and
    about every second while documents are in flight."""

    docs_per_minute: float
    requests_per_second: float  # requests the endpoint answered
    in_flight: int  # requests at the endpoint now
    limit: int  # requests allowed at once now: below `concurrency` while the endpoint rate-limits
    concurrency: int
    refused: int  # HTTP 429s so far
    slowed: int | None = None  # requests allowed at once while the machine is slow (embedded model)
    tokens_per_second: float | None = None  # per request lately (embedded model)


Event = Failed | Skipped | Note | Waiting | Started | DocStarted | DocDone | Throughput
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
    todo: int = 0  # documents to extract, after skips
    metrics: int = 0
    problems: int = 0
    dropped: int = 0
    fallbacks: int = 0
    usage: Usage = field(default_factory=Usage)
    seconds: float = 0.0
    aborted: str | None = None
    saved: list[str] = field(default_factory=list)  # doc_ids stored by this run
    series_findings: int = 0  # findings across years in the series of the documents saved

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
    return Identity(settings.resolved_model(),
                    extraction_version(prompts or Prompts(), settings.names, settings.model_labels))


@dataclass(frozen=True)
class Endpoint:
    base_url: str
    api_key: str | None
    parallel: int | None  # requests the server decodes at once, when we know it (the embedded one)
    note: str | None = None  # what the user should know about it


@dataclass(frozen=True)
class Labelling:
    """What a run labels with: the labeller, the endpoint behind it, and how many requests to
    keep in flight (the flag, else what the embedded server decodes at once, else the default)."""

    labeller: Labeller
    base_url: str | None
    concurrency: int
    note: str | None = None


@contextlib.contextmanager
def open_labeller(settings: Settings, backend: BackendKind = "llm", prompts: Prompts | None = None,
                  model_backend: Backend | None = None) -> Iterator[Labelling]:
    """The labeller and the endpoint it talks to; starts (and stops) the embedded model if needed.

    `model_backend` replaces the HTTP client only (a scripted backend in offline tests); where the
    endpoint comes from, and what is recorded about it, stays the same.
    """
    if backend == "rules":
        yield Labelling(RulesLabeller(), None, 1)
        return
    from llm_extract.model.client import InstructorBackend

    prompts = prompts or Prompts()
    with _endpoint(settings, prompts) as endpoint:
        client = model_backend or InstructorBackend(settings, endpoint.base_url, endpoint.api_key,
                                                    local=settings.is_local)
        labeller = LLMLabeller(client, prompts, settings.resolved_model(), settings.max_reasks, settings.names,
                               settings.model_labels)
        concurrency = settings.concurrency or endpoint.parallel or settings.resolved_concurrency()
        yield Labelling(labeller, endpoint.base_url, concurrency, endpoint.note)


@contextlib.contextmanager
def _endpoint(settings: Settings, prompts: Prompts) -> Iterator[Endpoint]:
    """The configured endpoint and key, or the embedded model's, started for the block."""
    if settings.base_url:
        yield Endpoint(settings.base_url, settings.api_key.get_secret_value() if settings.api_key else None, None)
        return
    from llm_extract.model import local  # only the local path needs the runtime

    with local.serve(settings) as server:
        server.share_prefix(prompts.render("system"))
        note = None if server.binary else (
            "the embedded model runs on llama-cpp-python's server, one request at a time; "
            "`llm-extract build-server` builds llama.cpp's server, which decodes several at once")
        yield Endpoint(server.base_url, None, server.slots, note)


def run(paths: list[Path], settings: Settings, *, backend: BackendKind = "llm", force: bool = False,
        on_event: OnEvent | None = None, prompts: Prompts | None = None,
        model_backend: Backend | None = None) -> RunSummary:
    """Extract every report under paths into settings.db; see RunSummary.exit_code.

    Two passes, so that memory does not grow with the corpus: the first reads each file's bytes
    only to hash them (duplicates and unchanged documents are decided here, with one query), the
    second loads and extracts the documents to do one at a time, each saved as it comes.
    """
    emit = on_event or (lambda _event: None)
    started = time.monotonic()
    ident = identity(settings, backend, prompts)
    summary = RunSummary(run_id=uuid.uuid4().hex[:12], model=ident.model, prompt_version=ident.version)
    prints = find_documents(paths, summary, emit)
    # The database is opened only for short spells (here, and while documents are written in
    # _extract_all) so that sql, show and export can read between them; run_lock keeps a second
    # run out meanwhile.
    with run_lock(settings.db):
        with _open_store(settings, emit) as store:
            store.mark_interrupted_runs()  # under run_lock, a run without finished_at was killed
            current = None if force else store.current_documents(ident.model, ident.version)
            todo = to_extract(prints, current, summary, emit)
            # Before any save: a renamed file keeps its rows under its new name.
            store.record_paths({p.doc_id: str(p.path) for p in prints})
        summary.todo = len(todo)
        emit(Started(len(todo)))
        if todo:
            _extract_all(_loaded(todo, summary, emit), settings, backend, prompts, model_backend, summary, emit)
            refresh_series_of(settings, summary, emit)
    summary.seconds = time.monotonic() - started
    return summary


def refresh_series_of(settings: Settings, summary: RunSummary, emit: OnEvent) -> None:
    """A new year of an issuer changes its series: recompute the findings across years of every
    issuer a document of this run belongs to (each document's own checks were written with it)."""
    if not summary.saved:
        return
    from llm_extract.store.checkstore import refresh_series

    with _open_store(settings, emit) as store:
        summary.series_findings = refresh_series(store, summary.saved)


def _fail(summary: RunSummary, emit: OnEvent, path: str, reason: str) -> None:
    summary.failed.append((path, reason))
    emit(Failed(path, reason))


def find_documents(paths: list[Path], summary: RunSummary, emit: OnEvent) -> list[Fingerprint]:
    """Every readable report under paths once per content (the same bytes at a second path are
    one document), from the bytes alone; unusable paths are failures, duplicates skips."""
    found = find_reports(paths)
    for path, note in found.notes:
        emit(Note(str(path), note))
    for path, reason in found.bad:
        _fail(summary, emit, str(path), reason)
    prints = []
    seen: dict[str, str] = {}  # doc_id -> the path it was first found at
    for path in found.files:
        try:
            print_ = fingerprint(path, found.resolved.get(path))
        except InputError as exc:
            _fail(summary, emit, str(path), str(exc))
            continue
        if print_.doc_id in seen:
            summary.skipped.append(str(print_.path))
            emit(Skipped(str(print_.path), same_as=seen[print_.doc_id]))
            continue
        seen[print_.doc_id] = str(print_.path)
        prints.append(print_)
    return prints


def to_extract(prints: list[Fingerprint], current: dict[str, str | None] | None, summary: RunSummary,
               emit: OnEvent) -> list[Fingerprint]:
    """The files not already extracted: `current` is Store.current_documents for the model and
    version (doc_id -> converter, one query), None to redo them all (--force)."""
    if current is None:
        return prints
    todo = []
    for print_ in prints:
        if print_.doc_id in current and print_.converter in (None, current[print_.doc_id]):
            summary.skipped.append(str(print_.path))
            emit(Skipped(str(print_.path)))
        else:
            todo.append(print_)
    return todo


def _loaded(todo: list[Fingerprint], summary: RunSummary, emit: OnEvent) -> Iterator[Document]:
    """The documents to extract, each read (decoded or converted) only when its turn comes; a
    file that cannot be read is one failure line and the run goes on."""
    for print_ in todo:
        try:
            yield load(print_.path)
        except InputError as exc:
            _fail(summary, emit, str(print_.path), str(exc))


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
        if status == "finished":
            raise
        # Stopping (on Ctrl-C, or with the reason already said: a full disk) matters more than
        # this row; the next run marks it interrupted.


def _extract_all(docs: Iterable[Document], settings: Settings, backend: BackendKind, prompts: Prompts | None,
                 model_backend: Backend | None, summary: RunSummary, emit: OnEvent) -> None:
    with open_labeller(settings, backend, prompts, model_backend) as labelling, \
            _writer(settings, emit) as writer:
        summary.base_url = labelling.base_url
        if labelling.note:
            emit(Note("embedded model", labelling.note))
        with _open_store(settings, emit) as store:
            store.start_run(summary.run_id, labelling.base_url, summary.model)
        status = "interrupted"
        try:
            _extract_in_order(docs, labelling, writer, summary, emit)
            status = "aborted" if summary.aborted else "finished"
        finally:
            writer.close()
            _finish_run(settings, summary, summary.todo, status, emit)


# How often progress hears about requests while the run waits for the next document in order.
PROGRESS_EVERY = 1.0


def _extract_in_order(docs: Iterable[Document], labelling: Labelling, writer: Writer, summary: RunSummary,
                      emit: OnEvent) -> None:
    """Extract documents with `concurrency` requests in flight across documents, and save them in
    input order, one at a time, from this thread.

    One request pool of `concurrency` workers serves the whole run: a document alone (about four
    calls) rarely fills it, so up to 2 x concurrency documents are started ahead, each on a thread
    that submits its calls to the pool and takes the answers in order. Documents ahead are
    bounded, so memory does not grow with the corpus. The endpoint's 429s lower the requests
    admitted through the backend's throttle; on a failure or Ctrl-C nothing more is sent and
    every document saved so far stays saved.
    """
    throttle = throttle_of(labelling.labeller)
    pace = _Pace(summary, throttle, labelling.concurrency, labelling.labeller)
    if labelling.concurrency == 1:
        # One request at a time: nothing to overlap, so the document is extracted on this thread
        # (a Ctrl-C then lands in the extraction itself, not in a wait on another thread).
        for doc in docs:
            emit(DocStarted(str(doc.path), len(doc.text)))
            if not _finish_one(doc, partial(extract_document, doc, labelling.labeller, 1), writer, summary, emit):
                return
            emit(pace.now())
        return
    n = labelling.concurrency
    if throttle is not None:
        throttle.set_ceiling(n)
    ahead = 2 * n
    pending: deque[tuple[Document, Future[Extraction]]] = deque()
    requests = ThreadPoolExecutor(max_workers=n, thread_name_prefix="llm-extract-request")
    documents = ThreadPoolExecutor(max_workers=ahead, thread_name_prefix="llm-extract-document")

    def finish_oldest() -> bool:
        doc, future = pending.popleft()
        while not wait_for([future], timeout=PROGRESS_EVERY).done:
            emit(pace.now())
        # The next document already done: keep the database open for it (see Writer).
        next_ready = bool(pending) and pending[0][1].done()
        if not _finish_one(doc, future.result, writer, summary, emit, next_ready):
            return False
        emit(pace.now())
        return True

    finished = False
    try:
        for doc in docs:
            if len(pending) == ahead and not finish_oldest():
                return
            emit(DocStarted(str(doc.path), len(doc.text)))
            pending.append((doc, documents.submit(extract_document, doc, labelling.labeller, n, requests)))
        while pending:
            if not finish_oldest():
                return
        finished = True
    finally:
        if not finished:
            _stop(throttle, requests, documents)
        documents.shutdown(wait=True)
        requests.shutdown(wait=True)


def _stop(throttle: Throttle | None, requests: ThreadPoolExecutor, documents: ThreadPoolExecutor) -> None:
    """Send nothing more: queued requests are cancelled, requests held by the throttle (a 429
    pause, a retry's backoff) give up at once, and no further document starts. Requests already
    at the endpoint end by themselves (answer or timeout); their answers are not saved."""
    if throttle is not None:
        throttle.stop()
    requests.shutdown(wait=False, cancel_futures=True)
    documents.shutdown(wait=False, cancel_futures=True)


class _Pace:
    """Documents per minute and requests per second since the run's first document."""

    def __init__(self, summary: RunSummary, throttle: Throttle | None, concurrency: int,
                 labeller: object = None) -> None:
        self.summary = summary
        self.labeller = labeller
        self.throttle = throttle
        self.concurrency = concurrency
        self.started = time.monotonic()
        self.answered_before = throttle.state().answered if throttle is not None else 0

    def now(self) -> Throughput:
        minutes = max(time.monotonic() - self.started, 1e-9) / 60
        docs = len(self.summary.ok) + len(self.summary.partial)
        if self.throttle is None:  # a backend without a throttle (offline tests): what documents said
            return Throughput(docs / minutes, self.summary.usage.calls / minutes / 60, 0, self.concurrency,
                              self.concurrency, 0)
        state = self.throttle.state()
        limit = min(state.limit or self.concurrency, self.concurrency)
        governor = governor_of(self.labeller)
        return Throughput(docs / minutes, (state.answered - self.answered_before) / minutes / 60, state.in_flight,
                          limit, self.concurrency, state.refused, state.capped,
                          governor.speed() if governor is not None else None)


def _finish_one(doc: Document, extracting: Callable[[], Extraction], writer: Writer, summary: RunSummary,
                emit: OnEvent, next_ready: bool = False) -> bool:
    """Store one extracted document; False when the endpoint or the database failed and the
    run must stop (every document saved so far is kept)."""
    try:
        extraction = extracting()
        extraction = extraction.model_copy(update={"run_id": summary.run_id, "base_url": summary.base_url})
        writer.save(extraction, next_ready)
    except (EndpointError, StoreError) as exc:
        # The endpoint or the database (held by a reader for too long, or damaged), not this
        # document, is the problem: stop before failing them all.
        _fail(summary, emit, str(doc.path), str(exc))
        summary.aborted = str(exc)
        return False
    (summary.partial if extraction.failed_steps else summary.ok).append(str(doc.path))
    summary.saved.append(extraction.doc_id)
    summary.metrics += len(extraction.metrics)
    summary.problems += len(extraction.problems)
    summary.dropped += extraction.dropped
    summary.fallbacks += extraction.fallbacks
    summary.usage.add(extraction.usage)
    emit(DocDone(str(doc.path), extraction))
    return True
