"""Load report files: find them, decode them, and keep the text that offsets point into."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from .errors import InputError

SUFFIXES = (".txt", ".md")
# Larger files are not township reports; reading them whole would only waste memory.
MAX_BYTES = 5 * 1024 * 1024
# GB18030 is a superset of GBK and GB2312, so one attempt covers all three.
ENCODINGS = ("utf-8", "gb18030")


@dataclass(frozen=True)
class Document:
    path: Path
    doc_id: str  # sha256 of the file bytes: a changed file is a new document
    text: str  # decoded, BOM removed, line endings normalised; offsets index this

    @property
    def name(self) -> str:
        return self.path.name


def discover(paths: list[Path]) -> tuple[list[Path], list[tuple[Path, str]]]:
    """Expand folders to report files; return (files, [(path, reason)] for unusable paths)."""
    files: list[Path] = []
    bad: list[tuple[Path, str]] = []
    seen: set[Path] = set()
    for path in paths:
        if path.is_dir():
            for found in _walk(path, bad):
                if found.resolve() not in seen:
                    seen.add(found.resolve())
                    files.append(found)
        elif path.is_file():
            if path.resolve() not in seen:
                seen.add(path.resolve())
                files.append(path)
        elif path.is_symlink():
            bad.append((path, "broken symbolic link"))
        else:
            bad.append((path, "no such file or folder"))
    return files, bad


def _walk(root: Path, bad: list[tuple[Path, str]]) -> Iterator[Path]:
    # followlinks=False: a symlink loop cannot trap the walk.
    for dirpath, dirnames, filenames in os.walk(root, followlinks=False, onerror=lambda e: bad.append((Path(e.filename or root), e.strerror or str(e)))):
        dirnames.sort()
        for filename in sorted(filenames):
            path = Path(dirpath) / filename
            if path.suffix.lower() in SUFFIXES:
                yield path


def decode(data: bytes) -> str:
    """Decode report bytes; raise InputError with the reason when they are not text."""
    if not data.strip():
        raise InputError("empty file")
    if b"\x00" in data[:8192]:
        raise InputError("binary file (NUL bytes), not text")
    for encoding in ENCODINGS:
        try:
            text = data.decode(encoding)
        except UnicodeDecodeError:
            continue
        return normalise_newlines(text.removeprefix("\ufeff"))
    raise InputError("cannot decode as UTF-8 or GB18030/GBK")


def normalise_newlines(text: str) -> str:
    return text.replace("\r\n", "\n").replace("\r", "\n")


def load(path: Path) -> Document:
    """Read one report; every failure is an InputError naming the reason."""
    try:
        size = path.stat().st_size
        if size > MAX_BYTES:
            raise InputError(f"file is {size / 1e6:.1f} MB; reports over {MAX_BYTES // 2**20} MiB are refused")
        data = path.read_bytes()
    except OSError as exc:
        if path.is_symlink() and not path.exists():
            raise InputError("broken symbolic link") from exc
        raise InputError(exc.strerror or str(exc)) from exc
    text = decode(data)
    if not _looks_like_text(text):
        raise InputError("binary file (mostly control characters), not text")
    return Document(path=path, doc_id=hashlib.sha256(data).hexdigest(), text=text)


def _looks_like_text(text: str) -> bool:
    sample = text[:4096]
    control = sum(1 for ch in sample if ord(ch) < 32 and ch not in "\n\t\f\v")
    return control <= len(sample) * 0.01
