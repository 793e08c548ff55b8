"""Export the public tables to files, through DuckDB's own writers."""

from __future__ import annotations

import os
from pathlib import Path

import duckdb

from . import dbfile
from .errors import StoreError

TABLES = ("documents", "sections", "metrics", "problems", "pages", "runs")
FORMATS = {"parquet": "(FORMAT parquet)", "csv": "(FORMAT csv, HEADER true)", "jsonl": "(FORMAT json)"}


def export_tables(db: Path, folder: Path, fmt: str, wait: float | None = None) -> list[Path]:
    """One file per table in folder; StoreError (one line) when the database or folder will not do.
    wait: seconds to wait for a run that is writing the database (default dbfile.READ_WAIT)."""
    if not db.exists():
        raise StoreError(f"no database at {db}; run `llm-extract run` first or pass --db")
    targets = [folder / f"{table}.{fmt}" for table in TABLES]
    # A target that is (or links to) the database or its WAL would be written over it.
    own = {os.path.realpath(db), os.path.realpath(f"{db}.wal")}
    for target in targets:
        if os.path.realpath(target) in own:
            raise StoreError(f"refused: exporting to {target} would write over the database {db}")
    if folder.exists() and not folder.is_dir():
        raise StoreError(f"cannot export into {folder}: it is a file, not a folder")
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise StoreError(f"cannot create the folder {folder}: {exc.strerror or exc}") from exc
    con = dbfile.connect(db, read_only=True, wait=dbfile.READ_WAIT if wait is None else wait,
                         config=dbfile.EXPORTER_CONFIG)
    written = []
    try:
        with dbfile.errors(db, con):
            present = {row[0] for row in con.execute("SELECT table_name FROM information_schema.tables").fetchall()}
            for table, target in zip(TABLES, targets):
                if table not in present:
                    continue  # a database from before the migration that added it (e.g. pages)
                # Paths cannot be bound as parameters in COPY; quote them as SQL string literals.
                literal = "'" + str(target).replace("'", "''") + "'"
                con.execute(f"COPY {table} TO {literal} {FORMATS[fmt]}")
                written.append(target)
    except duckdb.Error as exc:
        raise StoreError(f"export failed: {' '.join(str(exc).split())}") from exc
    finally:
        con.close()
    return written
