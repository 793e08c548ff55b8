"""Export the public tables to files, through DuckDB's own writers.

Parquet can be partitioned by document columns (`year`, `county`, ...) for a warehouse: one
folder per table, Hive-style (`metrics/year=2023/county=沁县/data_0.parquet`), read back with
`read_parquet('out/metrics/**/*.parquet', hive_partitioning = true)`. The rows and columns are
the tables' own; the partition columns come from each row's document.
"""

from __future__ import annotations

import os
from pathlib import Path

import duckdb

from llm_extract.errors import StoreError
from llm_extract.store import dbfile
from llm_extract.store.outpaths import Ledger, check_output, database_files

TABLES = ("documents", "sections", "metrics", "problems", "pages", "runs")
FORMATS = {"parquet": "(FORMAT parquet)", "csv": "(FORMAT csv, HEADER true)", "jsonl": "(FORMAT json)"}
# Document columns a corpus is partitioned by: what researchers compare (years, places, kinds).
PARTITION_KEYS = ("year", "county", "township", "issuer_level", "source_format")
# What earlier exports wrote into the folder: the only existing files an export replaces.
LEDGER = ".llm-extract-export"


def partition_keys(spec: str | None) -> tuple[str, ...]:
    """Parse `--partition-by year,county`; StoreError naming the allowed keys otherwise."""
    if not spec:
        return ()
    keys = tuple(k.strip() for k in spec.split(",") if k.strip())
    unknown = [k for k in keys if k not in PARTITION_KEYS]
    if unknown or len(set(keys)) != len(keys):
        raise StoreError(f"cannot partition by {spec!r}: use a comma-separated list of {', '.join(PARTITION_KEYS)}")
    return keys


def export_tables(db: Path, folder: Path, fmt: str, wait: float | None = None,
                  partition_by: tuple[str, ...] = ()) -> list[Path]:
    """One file per table in folder (with partition_by, one folder per table); StoreError (one
    line) when the database or folder will not do. wait: seconds to wait for a run that is
    writing the database (default dbfile.READ_WAIT)."""
    if not db.exists():
        raise StoreError(f"no database at {db}; run `llm-extract run` first or pass --db")
    if partition_by and fmt != "parquet":
        raise StoreError("--partition-by writes Parquet; add --format parquet")
    targets = [_target(folder, table, fmt, bool(partition_by)) for table in TABLES]
    ledger = Ledger(folder, LEDGER)
    _refuse_unsafe_targets(db, targets, partitioned=bool(partition_by))
    check_output(ledger.path, db=db, what="export ledger")
    if folder.exists() and not folder.is_dir():
        raise StoreError(f"cannot export into {folder}: it is a file, not a folder")
    ledger.check(targets, "llm-extract export")
    try:
        folder.mkdir(parents=True, exist_ok=True)
        ledger.record(targets)
        if partition_by:
            (folder / "runs").mkdir(exist_ok=True)
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
                con.execute(f"COPY {_source(con, table, partition_by)} TO {literal} {_options(fmt, table, partition_by)}")
                if partition_by and table != "runs":
                    _keep_schema_when_empty(con, table, target)
                written.append(target)
    except duckdb.Error as exc:
        raise StoreError(f"export failed: {' '.join(str(exc).split())}") from exc
    finally:
        con.close()
    return written


def _target(folder: Path, table: str, fmt: str, partitioned: bool) -> Path:
    if not partitioned:
        return folder / f"{table}.{fmt}"
    # runs are not per document: one file, in a folder like the others so one glob reads any table
    return folder / "runs" / "data_0.parquet" if table == "runs" else folder / table


def _refuse_unsafe_targets(db: Path, targets: list[Path], partitioned: bool) -> None:
    # A target that is (or links to) the database or its WAL would be written over it; a
    # partitioned export replaces its table folders whole, so the database must not be inside
    # one, and a folder holding anything but an earlier export is not ours to empty.
    own = {os.path.realpath(path) for path, _ in database_files(db)}
    for target in targets:
        check_output(target, db=db, what="export file")
        real = os.path.realpath(target)
        if partitioned and any(os.path.commonpath([real, o]) == real for o in own):
            raise StoreError(f"refused: exporting to {target} would write over the database {db}")
        if partitioned and target.suffix != ".parquet" and target.is_dir():
            foreign = next((p for p in target.rglob("*") if p.is_file() and p.suffix != ".parquet"), None)
            if foreign is not None:
                raise StoreError(f"refused: {target} holds {foreign.name}, which is not from an earlier export; "
                                 "export into an empty folder")
        elif partitioned and target.suffix != ".parquet" and target.exists():
            raise StoreError(f"cannot export into {target}: it is a file, not a folder")


def _source(con: duckdb.DuckDBPyConnection, table: str, partition_by: tuple[str, ...]) -> str:
    """The table, with the partition columns of each row's document when it does not have them."""
    if not partition_by or table == "documents":
        return table
    if table == "runs":
        return table  # not per document: written whole, unpartitioned
    own = {row[0] for row in con.execute(
        "SELECT column_name FROM information_schema.columns WHERE table_name = ?", [table]).fetchall()}
    added = ", ".join(f"d.{key}" for key in partition_by if key not in own)
    if not added:
        return table
    return f"(SELECT t.*, {added} FROM {table} t JOIN documents d USING (doc_id))"


def _keep_schema_when_empty(con: duckdb.DuckDBPyConnection, table: str, target: Path) -> None:
    # A partitioned COPY of no rows writes no file, and a glob over an empty folder is an error
    # for readers; one file with the table's columns and no rows reads as an empty table.
    if con.execute(f"SELECT count(*) FROM {table}").fetchone() == (0,):
        literal = "'" + str(target / "data_0.parquet").replace("'", "''") + "'"
        con.execute(f"COPY (SELECT * FROM {table}) TO {literal} (FORMAT parquet)")


def _options(fmt: str, table: str, partition_by: tuple[str, ...]) -> str:
    if not partition_by:
        return FORMATS[fmt]
    if table == "runs":
        return FORMATS[fmt]
    return f"(FORMAT parquet, PARTITION_BY ({', '.join(partition_by)}), OVERWRITE)"
