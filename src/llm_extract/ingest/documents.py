"""Load report files: find them, decode them, and keep the text that offsets point into."""

from __future__ import annotations

import errno
import hashlib
import os
import stat
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from llm_extract.ingest.encoding import decode_bytes
from llm_extract.errors import InputError
from llm_extract.ingest.formats import SUFFIXES as CONVERTED_SUFFIXES
from llm_extract.ingest.formats import PageSpan, Span, convert, expected_converter

TEXT_SUFFIXES = (".txt", ".md")
SUFFIXES = TEXT_SUFFIXES + CONVERTED_SUFFIXES
# Larger files are not township reports; reading them whole would only waste memory.
MAX_BYTES = 5 * 1024 * 1024
# Word, PDF and web pages carry images, fonts and markup around the same few pages of text.
MAX_CONVERTED_BYTES = 50 * 1024 * 1024
MIB = 1024 * 1024
TEXT_CONVERTER = "llm-extract text decoding"


@dataclass(frozen=True)
class Document:
    # Resolved and absolute: the same file has one path however it was named on the command line
    # (a document is its bytes; this is where they were last seen).
    path: Path
    doc_id: str  # sha256 of the file bytes: a changed file is a new document
    text: str  # decoded, BOM removed, line endings normalised; offsets index this
    source_format: str = "txt"  # the file's format: txt, md, docx, pdf, html, doc, wps
    converter: str = TEXT_CONVERTER  # what made `text` from the bytes, with its version
    pages: tuple[PageSpan, ...] = ()  # (page, char_start, char_end), for formats with pages
    generated: tuple[Span, ...] = ()  # characters the converter generated (list labels): never read as numbers

    @property
    def name(self) -> str:
        return self.path.name


@dataclass
class Discovery:
    files: list[Path] = field(default_factory=list)  # as found: the spelling given, joined with walked names
    resolved: dict[Path, str] = field(default_factory=dict)  # file -> its real path (symbolic links followed)
    bad: list[tuple[Path, str]] = field(default_factory=list)  # (path, reason) of unusable paths
    notes: list[tuple[Path, str]] = field(default_factory=list)  # (path, what to know) of files still read


def find_reports(paths: list[Path]) -> Discovery:
    """Expand folders to report files, each once; say which paths cannot be used and why, and
    which symbolic links lead out of the folder they were found in."""
    found = Discovery()
    seen: set[str] = set()
    real_dirs: dict[str, str] = {}

    def resolve(path: Path) -> str:
        # A file that is not a link is where its folder really is: one realpath per folder, not
        # per file (realpath checks every component; 10,000 files would cost seconds).
        if path.is_symlink():
            return os.path.realpath(path)  # never raises; a loop is caught when the file is opened
        folder = str(path.parent)
        if folder not in real_dirs:
            real_dirs[folder] = os.path.realpath(folder)
        return os.path.join(real_dirs[folder], path.name)

    def add(path: Path) -> None:
        real = resolve(path)
        if real not in seen:
            seen.add(real)
            found.files.append(path)
            found.resolved[path] = real

    for path in paths:
        if path.is_dir():
            root = os.path.realpath(path)
            for file in _walk(path, found.bad, found.notes):
                if file.is_symlink() and file.exists() and os.path.commonpath([root, os.path.realpath(file)]) != root:
                    found.notes.append((file, f"a symbolic link to {os.path.realpath(file)}, outside {path}; followed"))
                add(file)
        elif path.is_file():
            add(path)
        elif path.is_symlink() and not path.exists():
            found.bad.append((path, _link_problem(path)))
        elif path.exists():  # a device, a pipe, a socket: there, but not a report
            found.bad.append((path, f"not a regular file ({_kind(os.stat(path).st_mode)})"))
        else:
            found.bad.append((path, "no such file or folder"))
    return found


def _walk(root: Path, bad: list[tuple[Path, str]], notes: list[tuple[Path, str]]) -> Iterator[Path]:
    """Report files under root; a symbolic link to a folder is followed and said, each real
    folder walked once, so a link loop (a link to a folder above it) cannot trap the walk."""
    walked = {os.path.realpath(root)}
    for dirpath, dirnames, filenames in os.walk(root, followlinks=True, onerror=lambda e: bad.append((Path(e.filename or root), e.strerror or str(e)))):
        keep = []
        for name in sorted(dirnames):
            folder = os.path.join(dirpath, name)
            real = os.path.realpath(folder)
            linked = os.path.islink(folder)
            if real in walked:
                if linked:
                    notes.append((Path(folder), f"a symbolic link to the folder {real}, which is walked already; not followed again"))
                continue
            walked.add(real)
            if linked:
                notes.append((Path(folder), f"a symbolic link to the folder {real}; followed"))
            keep.append(name)
        dirnames[:] = keep
        for filename in sorted(filenames):
            path = Path(dirpath) / filename
            # "~$report.docx" is the lock file Word keeps beside an open document, not a report.
            if path.suffix.lower() in SUFFIXES and not filename.startswith("~$"):
                yield path


def _link_problem(path: Path) -> str:
    try:
        os.stat(path)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            return "symbolic link loop"
    return "broken symbolic link"


def decode(data: bytes) -> str:
    """Decode report bytes; raise InputError with the reason when they are not text."""
    if not data.strip():
        raise InputError("empty file")
    text = decode_bytes(data)
    if not text.strip():  # U+3000, a lone BOM and other blanks count as nothing too
        raise InputError("empty file (only blank characters)")
    return normalise_newlines(text)


def normalise_newlines(text: str) -> str:
    return text.replace("\r\n", "\n").replace("\r", "\n")


@dataclass(frozen=True)
class Fingerprint:
    """What a run needs to decide about a file before reading it as a report: its document id,
    and the converter that would read it (None: cannot be told without converting)."""

    path: Path  # resolved, as Document.path
    doc_id: str
    converter: str | None


def fingerprint(path: Path, real: str | None = None) -> Fingerprint:
    """The sha256 of a file's bytes and its expected converter, without decoding or converting
    (a re-run over thousands of unchanged files decides "skip" from this alone). InputError for
    a file that cannot be read, as `load` would say. real: its resolved path, when known."""
    suffix = path.suffix.lower()
    converted_format = suffix in CONVERTED_SUFFIXES
    data = read_bounded(path, MAX_CONVERTED_BYTES if converted_format else MAX_BYTES)
    converter = expected_converter(data, suffix) if converted_format else TEXT_CONVERTER
    return Fingerprint(Path(real or os.path.realpath(path)), hashlib.sha256(data).hexdigest(), converter)


def load(path: Path) -> Document:
    """Read one report; every failure is an InputError naming the reason.

    Plain text is decoded; other formats are converted by `formats`, by suffix. Either way the
    doc_id is the sha256 of the bytes read, and the text is what every offset points into.
    """
    suffix = path.suffix.lower()
    converted_format = suffix in CONVERTED_SUFFIXES
    data = read_bounded(path, MAX_CONVERTED_BYTES if converted_format else MAX_BYTES)
    doc_id = hashlib.sha256(data).hexdigest()
    real = Path(os.path.realpath(path))
    if converted_format:
        if not data.strip():
            raise InputError("empty file")
        converted = convert(data, suffix)
        if len(converted.text) > MAX_BYTES:
            raise InputError(f"its text is {len(converted.text):,} characters; reports over {MAX_BYTES:,} are refused")
        return Document(path=real, doc_id=doc_id, text=converted.text, source_format=converted.source_format,
                        converter=converted.converter, pages=converted.pages, generated=converted.generated)
    text = decode(data)
    if not _looks_like_text(text):
        raise InputError("binary file (mostly control characters), not text")
    return Document(path=real, doc_id=doc_id, text=text, source_format=suffix.lstrip(".") or "txt")


def read_bounded(path: Path, limit: int = MAX_BYTES) -> bytes:
    """The bytes of a regular file of at most MAX_BYTES; InputError for anything else.

    Opened without blocking and checked on the open descriptor, so a named pipe cannot stall the
    run and a device (/dev/zero says its size is 0) is never read; the read stops at the limit
    even if the file grows meanwhile.
    """
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise InputError("symbolic link loop") from exc
        if path.is_symlink() and not path.exists():
            raise InputError("broken symbolic link") from exc
        raise InputError(exc.strerror or str(exc)) from exc
    with os.fdopen(fd, "rb") as file:
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):
            raise InputError(f"not a regular file ({_kind(mode)})")
        size = os.fstat(fd).st_size
        if size > limit:
            raise InputError(_too_big(size, limit))
        data = file.read(limit + 1)
    if len(data) > limit:
        raise InputError(_too_big(len(data), limit))
    return data


def _too_big(size: int, limit: int = MAX_BYTES) -> str:
    return f"file is {size / MIB:.1f} MiB; reports over {limit // MIB} MiB are refused"


def _kind(mode: int) -> str:
    if stat.S_ISFIFO(mode):
        return "a named pipe"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    if stat.S_ISDIR(mode):
        return "a folder"
    return "not a plain file"


def _looks_like_text(text: str) -> bool:
    sample = text[:4096]
    control = sum(1 for ch in sample if ord(ch) < 32 and ch not in "\n\t\f\v")
    return control <= len(sample) * 0.01
