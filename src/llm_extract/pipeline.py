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
from .labellers import (
    Labeller,
    LLMLabeller,
    RulesLabeller,
    extraction_version,
)
from .llm import Backend, InstructorBackend
from .prompts import Prompts
from .schemas import Extraction, Usage
from .store import Store

BackendKind = Literal["llm", "rules"]


# --- events: what a run reports as it goes (the CLI prints them) ------------------------------
@dataclass(frozen=True)
class Failed:
    path: str
    reason: str


@dataclass(frozen=True)
class Skipped:
    path: str


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


Event = Failed | Skipped | Started | DocStarted | DocDone
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
    files, bad = discover(paths)
    for path, reason in bad:
        _fail(summary, emit, str(path), reason)
    with Store(settings.db) as store:
        docs = _to_extract(files, store, ident, force, summary, emit)
        emit(Started(len(docs)))
        if docs:
            _extract_all(docs, settings, backend, prompts, model_backend, store, summary, emit)
    summary.seconds = time.monotonic() - started
    return summary


def _fail(summary: RunSummary, emit: OnEvent, path: str, reason: str) -> None:
    summary.failed.append((path, reason))
    emit(Failed(path, reason))


def _to_extract(files: list[Path], store: Store, ident: Identity, force: bool, summary: RunSummary,
                emit: OnEvent) -> list[Document]:
    """Load every file; keep those not already extracted with this model and version."""
    docs = []
    for path in files:
        try:
            doc = load(path)
        except InputError as exc:
            _fail(summary, emit, str(path), str(exc))
            continue
        if not force and store.is_current(doc.doc_id, ident.model, ident.version):
            summary.skipped.append(str(path))
            emit(Skipped(str(path)))
            continue
        docs.append(doc)
    return docs


def _extract_all(docs: list[Document], settings: Settings, backend: BackendKind, prompts: Prompts | None,
                 model_backend: Backend | None, store: Store, summary: RunSummary, emit: OnEvent) -> None:
    with open_labeller(settings, backend, prompts, model_backend) as (labeller, base_url):
        summary.base_url = base_url
        store.start_run(summary.run_id, base_url, summary.model)
        try:
            for doc in docs:
                if not _extract_one(doc, labeller, settings, store, summary, emit):
                    return
        finally:
            store.finish_run(summary.run_id, len(docs), len(summary.ok) + len(summary.partial),
                             len(summary.failed), summary.dropped, summary.usage.prompt_tokens,
                             summary.usage.completion_tokens)


def _extract_one(doc: Document, labeller: Labeller, settings: Settings, store: Store,
                 summary: RunSummary, emit: OnEvent) -> bool:
    """Extract and store one document; False when the endpoint failed and the run must stop."""
    emit(DocStarted(str(doc.path), len(doc.text)))
    try:
        extraction = extract_document(doc, labeller, settings.resolved_concurrency())
    except EndpointError as exc:
        # The endpoint, not this document, is the problem: stop before failing them all.
        _fail(summary, emit, str(doc.path), str(exc))
        summary.aborted = str(exc)
        return False
    extraction = extraction.model_copy(update={"run_id": summary.run_id, "base_url": summary.base_url})
    store.save(extraction)
    (summary.partial if extraction.failed_steps else summary.ok).append(str(doc.path))
    summary.metrics += len(extraction.metrics)
    summary.problems += len(extraction.problems)
    summary.dropped += extraction.dropped
    summary.fallbacks += extraction.fallbacks
    summary.usage.add(extraction.usage)
    emit(DocDone(str(doc.path), extraction))
    return True
