"""Export the public tables to files, through DuckDB's own writers."""

from __future__ import annotations

from pathlib import Path

import duckdb

from .errors import StoreError

TABLES = ("documents", "sections", "metrics", "problems", "runs")
FORMATS = {"parquet": "(FORMAT parquet)", "csv": "(FORMAT csv, HEADER true)", "jsonl": "(FORMAT json)"}


def export_tables(db: Path, folder: Path, fmt: str) -> list[Path]:
    if not db.exists():
        raise StoreError(f"no database at {db}; run `llm-extract run` first or pass --db")
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    con = duckdb.connect(str(db), read_only=True)
    try:
        for table in TABLES:
            target = folder / f"{table}.{fmt}"
            # Paths cannot be bound as parameters in COPY; quote them as SQL string literals.
            literal = "'" + str(target).replace("'", "''") + "'"
            con.execute(f"COPY {table} TO {literal} {FORMATS[fmt]}")
            written.append(target)
    except duckdb.Error as exc:
        raise StoreError(f"export failed: {' '.join(str(exc).split())[:200]}") from exc
    finally:
        con.close()
    return written
