"""`batch prepare`: every model request `run` would make, as OpenAI Batch input lines.

The requests are not rebuilt here: the normal `extract_document` runs with a recording backend,
so the lines are the run's requests by construction (same documents, same proposals, same
prompts, same request bodies).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from llm_extract.batch.backends import DEFERRED, RecordingBackend, Request, requests_of
from llm_extract.batch.requests import (
    DEFAULT_MODE,
    Manifest,
    ManifestDoc,
    Shape,
    manifest_path,
    request_line,
    write_json,
    write_jsonl,
)
from llm_extract.config import Settings
from llm_extract.errors import BatchError, InputError, ModelOutputError
from llm_extract.ingest.documents import Document, find_reports, load
from llm_extract.label.labellers import LLMLabeller, extraction_version
from llm_extract.label.prompts import Prompts
from llm_extract.run.extract import extract_document
from llm_extract.run.pipeline import (
    Event,
    Failed,
    Note,
    RunSummary,
    Skipped,
    find_documents,
    to_extract,
)
from llm_extract.store.database import Store
from llm_extract.store.outpaths import check_output

Say = Callable[[str, str, str], None]  # (kind, path, message): skipped, failed, note, prepared


@dataclass
class PrepareSummary:
    requests_path: Path
    manifest_path: Path
    model: str
    mode: str
    prompt_version: str
    documents: list[tuple[str, int]] = field(default_factory=list)  # (path, requests)
    skipped: list[str] = field(default_factory=list)
    failed: list[tuple[str, str]] = field(default_factory=list)

    @property
    def requests(self) -> int:
        return sum(n for _, n in self.documents)

    @property
    def exit_code(self) -> int:
        return 1 if self.failed else 0


def shape_of(settings: Settings) -> Shape:
    return Shape(settings.resolved_model(), settings.mode or DEFAULT_MODE, settings.temperature, settings.max_tokens)


def select(paths: list[Path], settings: Settings, version: str, force: bool, say: Say,
           failed: list[tuple[str, str]], skipped: list[str]) -> list[Document]:
    """The documents `run` would extract, decided as `run` decides (pipeline.find_documents and
    to_extract: each content once, not already current with this model and version unless
    `force`), then loaded."""
    model = settings.resolved_model()
    summary = RunSummary(run_id="", model=model, prompt_version=version)

    def told(event: Event) -> None:
        if isinstance(event, Note):
            say("note", event.path, event.note)
        elif isinstance(event, Failed):
            say("failed", event.path, event.reason)
        elif isinstance(event, Skipped):
            say("skipped", event.path, f"same content as {event.same_as}" if event.same_as
                else "already extracted (use --force to redo)")

    prints = find_documents(paths, summary, told)
    current: dict[str, str | None] | None = None
    if not force and prints and settings.db.exists():
        with Store(settings.db, read_only=True, wait=settings.lock_wait) as store:
            current = store.current_documents(model, version)
    todo = to_extract(prints, current, summary, told)
    docs: list[Document] = []
    for print_ in todo:
        try:
            docs.append(load(print_.path))
        except InputError as exc:
            summary.failed.append((str(print_.path), str(exc)))
            told(Failed(str(print_.path), str(exc)))
    failed.extend(summary.failed)
    skipped.extend(summary.skipped)
    return docs


def prepare(paths: list[Path], settings: Settings, output: Path, *, force: bool = False,
            prompts: Prompts | None = None, say: Say | None = None) -> PrepareSummary:
    """Write OUTPUT (the batch input file) and its manifest beside it; nothing is asked of a model."""
    say = say or (lambda _kind, _path, _message: None)
    prompts = prompts or Prompts()
    shape = shape_of(settings)
    version = extraction_version(prompts, settings.names)
    summary = PrepareSummary(output, manifest_path(output), shape.model, shape.mode, version)
    # Before anything is read: never the database, and never a report this run reads.
    inputs = find_reports(paths).files
    check_output(output, db=settings.db, inputs=inputs, what="request file", flag="-o")
    check_output(summary.manifest_path, db=settings.db, inputs=inputs, what="request file's manifest")
    docs = select(paths, settings, version, force, say, summary.failed, summary.skipped)
    manifest = Manifest(shape, version, settings.names, settings.max_reasks)
    lines = []
    for doc in docs:
        requests = record(doc, shape, version, prompts, settings)
        manifest.documents.append(ManifestDoc(doc.doc_id, str(doc.path), doc.converter, [r.custom_id for r in requests]))
        lines += [request_line(r.custom_id, r.body) for r in requests]
        summary.documents.append((str(doc.path), len(requests)))
        say("prepared", str(doc.path), f"{len(requests)} requests")
    write_jsonl(output, lines)
    write_json(summary.manifest_path, manifest.to_json())
    return summary


def record(doc: Document, shape: Shape, version: str, prompts: Prompts, settings: Settings) -> list[Request]:
    """The document's requests, in the order `run` asks them one at a time.

    Recorded twice, one request at a time and all submitted at once: the two agree only if every
    call was made although none was answered, i.e. no call waits on another's answer and a
    deferred step stops nothing. Otherwise the file would miss requests a run makes.
    """
    found = []
    for concurrency in (1, 4):
        recorder = RecordingBackend(shape, doc.doc_id, version)
        labeller = LLMLabeller(recorder, prompts, shape.model, settings.max_reasks, settings.names)
        try:
            extraction = extract_document(doc, labeller, concurrency)
        except ModelOutputError as exc:  # a deferred answer stopped the document
            raise BatchError(f"recording the requests of {doc.path} stopped at {exc}; this is a bug, please report it") from exc
        others = [step for step in extraction.failed_steps if DEFERRED not in step]
        if others or len(extraction.failed_steps) != len(recorder.requests):
            raise BatchError(f"recording the requests of {doc.path} went wrong ({len(recorder.requests)} recorded, "
                             f"steps {extraction.failed_steps}); this is a bug, please report it")
        found.append(requests_of(recorder))
    in_order, at_once = found
    if sorted(r.custom_id for r in in_order) != sorted(r.custom_id for r in at_once):
        raise BatchError(f"the requests of {doc.path} depend on how they are asked ({len(in_order)} one at a time, "
                         f"{len(at_once)} at once); this is a bug, please report it")
    return in_order
