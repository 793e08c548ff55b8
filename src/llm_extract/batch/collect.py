"""`batch collect`: a batch endpoint's answers stored as `run` stores a live run's.

Each prepared document is re-read from its path and extracted again by the normal
`extract_document`, with a backend that answers every request from the results (validated as
live answers are). A document is stored only when every answer it needs is usable; the others
are listed, and their requests are asked live or written as a follow-up batch.
"""

from __future__ import annotations

import contextlib
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from llm_extract.batch.backends import ReplayBackend, Unanswered
from llm_extract.batch.requests import (
    Manifest,
    ManifestDoc,
    Results,
    manifest_path,
    read_manifest,
    read_results,
    request_line,
    write_jsonl,
)
from llm_extract.config import Settings
from llm_extract.errors import BatchError, InputError, LlmExtractError, StoreError
from llm_extract.ingest.documents import Document, load
from llm_extract.label.backend import Backend
from llm_extract.label.labellers import LLMLabeller, extraction_version
from llm_extract.label.prompts import Prompts
from llm_extract.run.extract import extract_document
from llm_extract.schemas import Extraction, Usage
from llm_extract.store.checkstore import refresh_series
from llm_extract.store.database import Store
from llm_extract.store.writer import Writer
from llm_extract.store.dbfile import run_lock
from llm_extract.store.outpaths import check_output

Reask = Literal["live"]
Say = Callable[[str, str, str], None]  # (kind, path, message)


@dataclass(frozen=True)
class Listed:
    """A request a document still needs an answer for."""

    path: str
    custom_id: str
    task: str
    reason: str
    followup: dict[str, Any] = field(repr=False, compare=False, default_factory=dict)  # the body to send


@dataclass
class CollectSummary:
    run_id: str
    model: str
    prompt_version: str
    base_url: str
    ok: list[str] = field(default_factory=list)
    partial: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    failed: list[tuple[str, str]] = field(default_factory=list)
    waiting: list[Listed] = field(default_factory=list)  # requests of documents not stored
    asked_live: list[Listed] = field(default_factory=list)
    bad_lines: list[str] = field(default_factory=list)
    unknown_ids: int = 0  # result lines for no document of this request file
    followup: Path | None = None
    followup_lines: int = 0
    metrics: int = 0
    problems: int = 0
    dropped: int = 0
    usage: Usage = field(default_factory=Usage)
    seconds: float = 0.0
    aborted: str | None = None

    @property
    def not_stored(self) -> list[str]:
        return list(dict.fromkeys(item.path for item in self.waiting))

    @property
    def exit_code(self) -> int:
        """As `run`: 0 all stored, 1 some documents need answers, failed or are partial, 2 aborted."""
        if self.aborted:
            return 2
        return 1 if self.failed or self.partial or self.waiting else 0


def collect(results_paths: list[Path], settings: Settings, requests_path: Path, *, reask: Reask | None = None,
            reask_file: Path | None = None, prompts: Prompts | None = None, say: Say | None = None,
            live_backend: Backend | None = None) -> CollectSummary:
    """Store the documents of REQUESTS_PATH's manifest whose answers are all in the results.

    `live_backend` replaces the HTTP client of `--reask live` (offline tests), as in `pipeline.run`.
    """
    if reask and reask_file:
        raise BatchError("choose one of --reask live and --reask-file")
    say = say or (lambda _kind, _path, _message: None)
    started = time.monotonic()
    prompts = prompts or Prompts()
    manifest = read_manifest(requests_path)
    if reask_file is not None:  # checked before anything is stored: never over what this collect reads
        inputs = [*results_paths, requests_path, manifest_path(requests_path), *(d.path for d in manifest.documents)]
        check_output(reask_file, db=settings.db, inputs=inputs, what="follow-up batch file", flag="--reask-file")
    version = extraction_version(prompts, manifest.names)
    if version != manifest.prompt_version:
        raise BatchError(f"the prompts or the deciding code changed since these requests were prepared "
                         f"(version {manifest.prompt_version}, now {version}): their answers belong to the old "
                         "version; run `llm-extract batch prepare` and submit again")
    results = read_results(results_paths)
    names = ",".join(p.name for p in results_paths)
    summary = CollectSummary(uuid.uuid4().hex[:12], manifest.shape.model, version, f"batch:{names}"[:200],
                             bad_lines=results.bad_lines)
    for line in results.bad_lines:
        say("note", line.split(":", 1)[0], f"skipped line {line.split(':', 1)[1].strip()}")
    for line in results.repeated:
        say("note", line.split(":", 1)[0], f"line {line.split(':', 1)[1].strip()}")
    # Answers for other documents or another version (another request file's) are never used.
    known = {f"{d.doc_id[:16]}-{manifest.prompt_version}" for d in manifest.documents}
    summary.unknown_ids = sum(1 for cid in results.by_id if cid.rsplit("-", 1)[0] not in known)
    with run_lock(settings.db):
        with _store(settings, say) as store:
            store.mark_interrupted_runs()
            docs = _to_collect(manifest, store, summary, say)
            store.record_paths({d.doc_id: str(d.path) for d in docs})
            if docs:
                store.start_run(summary.run_id, summary.base_url, summary.model)
        status = "interrupted"
        try:
            with Writer(settings.db, wait=settings.lock_wait,
                        on_wait=lambda message: say("waiting", str(settings.db), message)) as writer:
                _collect_all(docs, manifest, results, settings, prompts, reask, live_backend, writer, summary, say)
            if summary.ok or summary.partial:  # as `run`: the series of the issuers of the stored documents
                with _store(settings, say) as store:
                    refresh_series(store, [d.doc_id for d in docs])
            status = "aborted" if summary.aborted else "finished"
        finally:
            if docs:
                _finish(settings, summary, len(docs), status, say)
    if reask_file is not None and summary.waiting:
        summary.followup = reask_file
        summary.followup_lines = _write_followup(reask_file, summary.waiting)
    summary.seconds = time.monotonic() - started
    return summary


def _store(settings: Settings, say: Say) -> Store:
    return Store(settings.db, wait=settings.lock_wait, on_wait=lambda message: say("waiting", str(settings.db), message))


def _to_collect(manifest: Manifest, store: Store, summary: CollectSummary, say: Say) -> list[Document]:
    """The prepared documents still as they were (same bytes) and not stored already."""
    docs = []
    current = store.current_documents(manifest.shape.model, manifest.prompt_version)  # one query, as run asks
    for entry in manifest.documents:
        doc = _reread(entry, summary, say)
        if doc is None:
            continue
        if doc.doc_id in current and current[doc.doc_id] == doc.converter:
            summary.skipped.append(str(doc.path))
            say("skipped", str(doc.path), "already stored with this model and version")
            continue
        docs.append(doc)
    return docs


def _reread(entry: ManifestDoc, summary: CollectSummary, say: Say) -> Document | None:
    try:
        doc = load(Path(entry.path))
    except InputError as exc:
        reason = f"cannot be read again: {exc}"
    else:
        if doc.doc_id == entry.doc_id and doc.converter == entry.converter:
            return doc
        reason = ("changed since the requests were prepared; its answers are for the old content: "
                  "prepare it again" if doc.doc_id != entry.doc_id else
                  f"now converted by {doc.converter}, prepared with {entry.converter}: prepare it again")
    summary.failed.append((entry.path, reason))
    say("failed", entry.path, reason)
    return None


def _collect_all(docs: list[Document], manifest: Manifest, results: Results, settings: Settings, prompts: Prompts,
                 reask: Reask | None, live_backend: Backend | None, writer: Writer, summary: CollectSummary,
                 say: Say) -> None:
    with contextlib.ExitStack() as stack:
        live: Backend | None = None
        for doc in docs:
            extraction, replay = _replay(doc, manifest, results, prompts, None)
            if replay.unanswered and reask == "live":
                try:
                    if live is None:
                        live = stack.enter_context(_live(settings, manifest, prompts, live_backend))
                    extraction, replay = _replay(doc, manifest, results, prompts, live)
                except LlmExtractError as exc:  # the endpoint (or the embedded model) failed: stop
                    _abort(summary, say, str(doc.path), str(exc))
                    return
                summary.asked_live += _listed(doc, replay.unanswered)
                for item in _listed(doc, replay.unanswered):
                    say("asked live", item.path, f"{item.custom_id} ({item.task}): {item.reason}")
            elif replay.unanswered:
                listed = _listed(doc, replay.unanswered)
                summary.waiting += listed
                for item in listed:
                    say("unanswered", item.path, f"{item.custom_id} ({item.task}): {item.reason}")
                continue
            try:
                writer.save(extraction.model_copy(update={"run_id": summary.run_id, "base_url": summary.base_url}))
            except StoreError as exc:
                _abort(summary, say, str(doc.path), str(exc))
                return
            (summary.partial if extraction.failed_steps else summary.ok).append(str(doc.path))
            summary.metrics += len(extraction.metrics)
            summary.problems += len(extraction.problems)
            summary.dropped += extraction.dropped
            summary.usage.add(extraction.usage)
            say(extraction.status, str(doc.path),
                f"{len(extraction.metrics)} metrics, {len(extraction.problems)} problems, {extraction.dropped} dropped"
                + (f"; failed: {'; '.join(extraction.failed_steps)}" if extraction.failed_steps else ""))


def _replay(doc: Document, manifest: Manifest, results: Results, prompts: Prompts,
            live: Backend | None) -> tuple[Extraction, ReplayBackend]:
    replay = ReplayBackend(manifest.shape, doc.doc_id, manifest.prompt_version, results.by_id, manifest.max_reasks, live)
    labeller = LLMLabeller(replay, prompts, manifest.shape.model, manifest.max_reasks, manifest.names)
    # One request at a time, as prepare recorded them: replaying needs no threads.
    extraction = extract_document(doc, labeller, 1)
    # A cut-off answer that failed its step (one it cannot split, as problems) is a request to
    # ask again, with more room, not a partial document stored unsaid.
    replay.unanswered += [cut for cut in replay.truncated
                          if any(cut.custom_id in step for step in extraction.failed_steps)]
    return extraction, replay


@contextlib.contextmanager
def _live(settings: Settings, manifest: Manifest, prompts: Prompts, live_backend: Backend | None) -> Iterator[Backend]:
    """The live client of `run` (starting the embedded model when no endpoint is set), asking in
    the mode and with the model the requests were prepared for, so answers parse the same."""
    from llm_extract.run.pipeline import (
        open_labeller,  # the endpoint logic lives there; only re-asks need it
    )

    live_settings = settings.model_copy(update={
        "mode": manifest.shape.mode, "model": manifest.shape.model, "temperature": manifest.shape.temperature,
        "max_tokens": manifest.shape.max_tokens, "max_reasks": manifest.max_reasks})
    with open_labeller(live_settings, "llm", prompts, live_backend) as labelling:
        if not isinstance(labelling.labeller, LLMLabeller):
            raise BatchError("re-asking live needs a model backend")
        yield labelling.labeller.backend


def _listed(doc: Document, unanswered: list[Unanswered]) -> list[Listed]:
    return [Listed(str(doc.path), u.custom_id, u.task, u.reason, u.followup) for u in unanswered]


def _abort(summary: CollectSummary, say: Say, path: str, reason: str) -> None:
    summary.failed.append((path, reason))
    summary.aborted = reason
    say("failed", path, reason)


def _finish(settings: Settings, summary: CollectSummary, n_docs: int, status: str, say: Say) -> None:
    try:
        with _store(settings, say) as store:
            store.finish_run(summary.run_id, n_docs, len(summary.ok) + len(summary.partial), len(summary.failed),
                             summary.dropped, summary.usage.prompt_tokens, summary.usage.completion_tokens, status)
    except StoreError:
        if status == "finished":
            raise  # an interrupted or aborted collect has said why already; the next one marks it


def _write_followup(path: Path, waiting: list[Listed]) -> int:
    """A batch input file with the requests still to answer, under their own custom_ids: a later
    collect given both result files takes the follow-up's answer as the later attempt."""
    lines = {item.custom_id: request_line(item.custom_id, item.followup) for item in waiting}
    return write_jsonl(path, lines.values())
