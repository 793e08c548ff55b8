"""The one guard in front of every file a command writes (report -o, batch prepare -o, batch
status -o, batch collect --reask-file, review --export-gold, export).

A path given for output must never be the database or one of its own files (.wal, .lock, the
.tmp folder), nor a file the same command reads (its reports, results, requests, manifest), under
any spelling: relative or absolute, through symbolic links (realpath) or as a hard link of it
(same device and inode). Where the user names the file to write (-o), replacing it is the point;
where a command fills a folder (export, export-gold), an existing file is replaced only if an
earlier run of the same command wrote it (recorded in a small ledger file in that folder).
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from pathlib import Path

from llm_extract.errors import LlmExtractError
from llm_extract.ingest.fsnames import printable

# DuckDB keeps these beside the database; filelock keeps a run's lock there.
DATABASE_SUFFIXES = ("", ".wal", ".lock", ".tmp")


class RefusedOutput(LlmExtractError):
    """An output path that would write over the database, an input or a file not ours to replace."""


def database_files(db: Path) -> list[tuple[Path, str]]:
    return [(Path(f"{db}{suffix}"), f"the database {db}" if not suffix else f"the database's {suffix} file {db}{suffix}")
            for suffix in DATABASE_SUFFIXES]


def check_output(target: Path, *, db: Path | None = None, inputs: Iterable[str | Path] = (),
                 what: str = "output", flag: str = "") -> None:
    """RefusedOutput (one line) if writing `target` would write over the database `db` (or its
    own files) or one of `inputs`."""
    protected: list[tuple[Path, str]] = database_files(db) if db is not None else []
    protected += [(Path(p), f"the input {p}") for p in inputs]
    hit = _same_as_any(target, protected)
    if hit is not None:
        said = f" ({flag})" if flag else ""
        raise RefusedOutput(printable(f"refused: the {what}{said} {target} is {hit}; writing it would destroy "
                                      "that file. Choose another path"))


def _same_as_any(target: Path, protected: list[tuple[Path, str]]) -> str | None:
    real = os.path.realpath(target)
    for path, name in protected:
        if os.path.realpath(path) == real:
            return name
    try:  # a hard link to a protected file has another name but the same inode
        st = os.stat(target)
    except OSError:
        return None
    for path, name in protected:
        try:
            other = os.stat(path)
        except OSError:
            continue
        if (other.st_dev, other.st_ino) == (st.st_dev, st.st_ino):
            return name
    return None


class Ledger:
    """What an earlier run of a command wrote into a folder: the only existing files it may replace.

    Recorded before the files are written (so an interrupted run's files are still known as ours)
    as relative names in `folder/NAME`, a small JSON file (named without .json: a glob for a
    folder's JSON files, as the gold loader's, must not read it).
    """

    def __init__(self, folder: Path, name: str) -> None:
        self.folder, self.path = folder, folder / name
        self.names: set[str] = set()
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
            self.names = {str(n) for n in data.get("written", [])}
        except (OSError, ValueError, AttributeError, TypeError):
            pass  # no ledger (a new folder) or an unreadable one: nothing there is ours

    def relative(self, target: Path) -> str:
        return os.path.relpath(target, self.folder)

    def check(self, targets: Iterable[Path], command: str) -> None:
        """RefusedOutput for the first target that exists and was not written by `command` before."""
        for target in targets:
            if (target.exists() or target.is_symlink()) and self.relative(target) not in self.names:
                raise RefusedOutput(printable(
                    f"refused: {target} exists and was not written by an earlier `{command}`; move it away "
                    f"or choose an empty folder"))

    def record(self, targets: Iterable[Path]) -> None:
        self.names |= {self.relative(t) for t in targets}
        self.folder.mkdir(parents=True, exist_ok=True)
        text = json.dumps({"written": sorted(self.names)}, ensure_ascii=False, indent=1) + "\n"
        self.path.write_text(text, encoding="utf-8", errors="surrogateescape")
