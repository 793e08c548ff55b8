"""Opening the DuckDB file: who may hold it, how long to wait for it, and what its errors mean.

DuckDB lets one process write a database file, or any number read it, never both at once. A run
therefore opens the file only while it writes a document (store.py, pipeline.py) and readers get
their turn in between; whoever finds the file locked waits a little and tries again.
"""

from __future__ import annotations

import errno
import signal
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import duckdb

from llm_extract.errors import StoreError

# How long `sql`, `show` and `export` wait for a run to finish writing a document (milliseconds,
# usually) before they give up.
READ_WAIT = 10.0
RETRY_EVERY = 0.05
# Every connection: no extension is ever installed or loaded (a file that is not DuckDB, say
# SQLite, would otherwise make DuckDB download one), and DuckDB's temporary files go to a private
# folder of this process, never to `<db>.tmp`, which anyone who can write beside the database
# could make a link to any folder (readers may read inside the temp folder).
BASE_CONFIG: dict[str, Any] = {
    "autoload_known_extensions": False,
    "autoinstall_known_extensions": False,
}
# A reader's settings frozen (SET log_query_path and PRAGMA profiling_output would otherwise write
# over any file, the database included), applied right after connecting (DuckDB refuses the
# temp folder in the same config as enable_external_access), before any statement of the user.
EXPORTER_CONFIG: dict[str, Any] = {"lock_configuration": True}
# And nothing outside the database file, unless the reader is export, which writes its own files.
READER_CONFIG: dict[str, Any] = {"enable_external_access": False, **EXPORTER_CONFIG}
DUCKDB_MAGIC = b"DUCK"  # at offset 8 of every DuckDB file
_temp: list[str] = []


def private_temp() -> str:
    """This process's own folder for DuckDB's temporary files (created once, removed at exit)."""
    if not _temp:
        import atexit
        import shutil
        import tempfile

        folder = tempfile.mkdtemp(prefix="llm-extract-duckdb-")
        atexit.register(shutil.rmtree, folder, ignore_errors=True)
        _temp.append(folder)
    return _temp[0]


def _open(path: Path, read_only: bool, after: dict[str, Any]) -> duckdb.DuckDBPyConnection:
    _refuse_foreign(path)
    con = duckdb.connect(str(path), read_only=read_only, config={"temp_directory": private_temp(), **BASE_CONFIG})
    try:
        for name, value in after.items():  # lock_configuration last: it freezes the others
            con.execute(f"SET {name} = {'true' if value else 'false'}")
    except BaseException:
        con.close()
        raise
    return con


def _refuse_foreign(path: Path) -> None:
    """StoreError (one line) for an existing file that is not a DuckDB database (SQLite, a
    report given as --db by mistake): DuckDB would only say it cannot read it, or try to load
    an extension for it."""
    try:
        with open(path, "rb") as file:
            head = file.read(16)
    except FileNotFoundError:
        return
    except IsADirectoryError as exc:
        raise StoreError(f"{path} is a folder, not a DuckDB database; pass the database file with --db") from exc
    except OSError:
        return  # DuckDB says what is wrong with it (errors below)
    if head and head[8:12] != DUCKDB_MAGIC:
        kind = "an SQLite database" if head.startswith(b"SQLite format 3") else "another kind of file"
        raise StoreError(f"{path} is {kind}, not a DuckDB database; pass a DuckDB file (or a new name) with --db")


# A full disk (or quota, or file size limit) as DuckDB words it and as the OS numbers it.
DISK_FULL_WORDS = ("No space left on device", "Disk quota exceeded", "File too large")
DISK_FULL_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EFBIG})


class DiskFull(StoreError):
    """The database's disk is full: nothing is lost, the run stops and says so."""


def _disk_full(path: Path, message: str) -> str:
    return (f"the disk of {path} is full ({message}); free some space and run the same command again: "
            "documents already saved are kept, the one being saved is not")


class DatabaseLocked(StoreError):
    """Another process holds the database file for longer than we would wait."""


def connect(path: Path, *, read_only: bool, wait: float, on_wait: Callable[[str], None] | None = None,
            config: dict[str, Any] | None = None) -> duckdb.DuckDBPyConnection:
    """A connection to path, waiting up to `wait` seconds for another process to let go of it.
    A read-only one gets READER_CONFIG unless config says otherwise."""
    if not read_only:
        _make_parent(path)
    deadline = time.monotonic() + wait
    told = False
    while True:
        try:
            with errors(path):
                if read_only:
                    return _open(path, True, READER_CONFIG if config is None else config)
                return _open(path, False, {})
        except DatabaseLocked as exc:
            if time.monotonic() >= deadline:
                raise DatabaseLocked(f"{exc} (waited {wait:g} s); {_what_to_do(read_only)}") from exc
            if on_wait and not told:
                on_wait(str(exc))
                told = True
            time.sleep(RETRY_EVERY)


def _make_parent(path: Path) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise StoreError(f"cannot create the folder for the database {path}: {exc.strerror or exc}") from exc


def _what_to_do(read_only: bool) -> str:
    if read_only:
        return ("a run lets readers in between documents, so try again in a moment, or wait longer "
                "with --wait SECONDS (LLM_EXTRACT_WAIT)")
    return ("close the program that has it open and run the same command again: documents already "
            "saved are kept (LLM_EXTRACT_LOCK_WAIT sets how long a run waits)")


@contextmanager
def errors(path: Path, con: duckdb.DuckDBPyConnection | None = None) -> Iterator[None]:
    """DuckDB's errors about the file itself as one-line StoreErrors, and Ctrl-C as Ctrl-C.

    Left to itself, DuckDB takes SIGINT while a statement runs and then either raises
    RuntimeError("Query interrupted") in place of KeyboardInterrupt or, now and then, swallows it
    and runs on. So while the block runs, Ctrl-C interrupts the connection's statement through
    DuckDB's own API, and KeyboardInterrupt is raised when the block is left, whatever DuckDB did.
    Errors about a statement (constraints, syntax) pass through: they are not about the file.
    """
    hits: list[int] = []
    restore = _catch_sigint(con, hits)
    try:
        yield
    except duckdb.Error as exc:
        if hits or isinstance(exc, duckdb.InterruptException):
            raise KeyboardInterrupt from exc
        message = " ".join(str(exc).split())
        if any(words in message for words in DISK_FULL_WORDS):  # DuckDB says so in any kind of error
            raise DiskFull(_disk_full(path, message)) from exc
        if isinstance(exc, duckdb.IOException) and "Could not set lock" in message:
            raise DatabaseLocked(f"{path} is in use by another process ({message})") from exc
        if isinstance(exc, duckdb.IOException | duckdb.SerializationException | duckdb.FatalException
                      | duckdb.InternalException) or type(exc) is duckdb.Error:
            raise StoreError(f"cannot read the database {path} ({message}); if it is damaged, restore it "
                             "from a copy or start a new one with --db") from exc
        raise
    except RuntimeError as exc:
        if hits or "interrupted" in str(exc).lower():
            raise KeyboardInterrupt from exc
        raise
    except OSError as exc:
        if exc.errno in DISK_FULL_ERRNOS:
            raise DiskFull(_disk_full(path, exc.strerror or str(exc))) from exc
        raise
    finally:
        restore()
    if hits:
        raise KeyboardInterrupt


def _catch_sigint(con: duckdb.DuckDBPyConnection | None, hits: list[int]) -> Callable[[], None]:
    """Route SIGINT to con.interrupt() (main thread only: Python delivers signals there); returns
    what puts the previous handler back."""
    if threading.current_thread() is not threading.main_thread():
        return lambda: None

    def interrupt(signum: int, _frame: object) -> None:
        hits.append(signum)
        if con is not None:
            con.interrupt()

    previous = signal.signal(signal.SIGINT, interrupt)

    def restore() -> None:
        # None: the previous handler was not set from Python; the default is the nearest we have.
        signal.signal(signal.SIGINT, signal.SIG_DFL if previous is None else previous)

    return restore


@contextmanager
def run_lock(path: Path) -> Iterator[None]:
    """One run per database at a time, for the whole run (DuckDB's own lock is held only while a
    document is written). Released by the operating system if the run is killed."""
    from filelock import FileLock, Timeout  # only a run needs it

    _make_parent(path)
    lock = FileLock(f"{path}.lock", blocking=False)
    try:
        lock.acquire()
    except Timeout as exc:
        raise DatabaseLocked(f"another run is writing to {path}; wait for it to finish or use another --db") from exc
    except OSError as exc:
        raise StoreError(f"cannot lock {path}: {exc.strerror or exc}") from exc
    try:
        yield
    finally:
        lock.release()
