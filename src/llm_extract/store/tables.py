"""`llm-extract table`: one row per document, one column per indicator, from `indicator_values`.

The rule when a report states one indicator more than once: the first mention in reading order
(smallest char_start) is the value; every other mention of it in that report with a different
value (or range) is counted in the column `<indicator>__conflicts`. Mentions are never summed: a
report that says 12 cases in its summary and 12 again in its detail states one quantity, and two
different numbers for one quantity are something to look at (`indicator_values` lists them), not
to add up. A mention that repeats the first value is not a conflict.

The whole table is one SQL statement in DuckDB (window, aggregate, conditional pivot), so it
costs one scan of the reviewed metrics whatever the number of reports.
"""

from __future__ import annotations

import os
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb

from llm_extract.store import dbfile
from llm_extract.errors import StoreError
from llm_extract.label.indicator_ids import indicators as known_indicators
from llm_extract.store.rows import json_rows
from llm_extract.store.database import Store

DOC_COLUMNS = ("doc_id", "path", "issuer", "issuer_level", "county", "township", "year")
CONFLICTS = "__conflicts"
FORMATS = ("table", "csv", "parquet", "json")
SUFFIX_FORMATS = {".csv": "csv", ".parquet": "parquet", ".json": "json"}
# Indicator ids are inlined in the statement as identifiers and literals (COPY takes no
# parameters); only ids of this shape are ever inlined.
ID_SHAPE = re.compile(r"^[a-z][a-z0-9_]*\.[a-z][a-z0-9_]*$")


@dataclass
class IndicatorTable:
    columns: list[str]
    rows: list[tuple[Any, ...]]
    indicators: list[str]


def stated_indicators(store: Store) -> list[str]:
    """The indicators some reviewed metric states, in catalogue order (ids the catalogue no
    longer has last, sorted)."""
    present = {str(r["indicator"]) for r in store.query("SELECT DISTINCT indicator FROM indicator_values")}
    order = list(known_indicators())
    listed = [i for i in order if i in present]
    return listed + sorted(present - set(order))


def choose_indicators(store: Store, spec: str | None) -> list[str]:
    """`--indicators a,b` checked against the catalogue (and what the database holds); without
    it, every indicator some metric states."""
    if not spec:
        return [i for i in stated_indicators(store) if ID_SHAPE.match(i)]
    chosen = list(dict.fromkeys(part.strip() for part in spec.split(",") if part.strip()))
    allowed = set(known_indicators()) | set(stated_indicators(store))
    unknown = [i for i in chosen if i not in allowed or not ID_SHAPE.match(i)]
    if unknown or not chosen:
        first = unknown[0] if unknown else spec
        hint = [i for i in known_indicators() if i.startswith(first.partition(".")[0] + ".")] or list(known_indicators())[:6]
        raise StoreError(f"unknown indicator {first!r}; ids look like {', '.join(hint[:6])} "
                         "(see the README's indicator list)")
    return chosen


def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def table_sql(chosen: list[str]) -> str:
    """The one statement: every document, its first value of each chosen indicator and the count
    of its other, different mentions."""
    for ident in chosen:
        if not ID_SHAPE.match(ident):  # a programming error: choose_indicators checks user input
            raise StoreError(f"not an indicator id: {ident!r}")
    wanted = ", ".join(_literal(i) for i in chosen) or "NULL"
    pivot = "".join(
        f", any_value(value) FILTER (WHERE indicator = {_literal(i)}) AS {_ident(i)}"
        f", any_value(conflicts) FILTER (WHERE indicator = {_literal(i)}) AS {_ident(i + CONFLICTS)}"
        for i in chosen)
    shown = "".join(f", w.{_ident(i)}, coalesce(w.{_ident(i + CONFLICTS)}, 0) AS {_ident(i + CONFLICTS)}"
                    for i in chosen)
    documents = ", ".join(f"d.{c}" for c in DOC_COLUMNS)
    return f"""
        WITH ranked AS (
            SELECT doc_id, indicator, value, value_max,
                   row_number() OVER w AS mention,
                   first_value(value) OVER w AS first_value, first_value(value_max) OVER w AS first_max
            FROM indicator_values WHERE indicator IN ({wanted})
            WINDOW w AS (PARTITION BY doc_id, indicator ORDER BY char_start, char_end, value)
        ), per_doc AS (
            SELECT doc_id, indicator,
                   any_value(value) FILTER (WHERE mention = 1) AS value,
                   count(*) FILTER (WHERE mention > 1 AND (value <> first_value
                                    OR value_max IS DISTINCT FROM first_max)) AS conflicts
            FROM ranked GROUP BY doc_id, indicator
        ), wide AS (
            SELECT doc_id{pivot} FROM per_doc GROUP BY doc_id
        )
        SELECT {documents}{shown}
        FROM documents d LEFT JOIN wide w USING (doc_id)
        ORDER BY d.path, d.doc_id"""


def open_for_tables(db: Path, wait: float | None = None) -> Store:
    """The database read-only, migrated first if it predates the indicator columns (the one
    write: the schema's own migration, as `review` does)."""
    store = Store(db, read_only=True, wait=wait)
    if store.has_table("indicator_values"):
        return store
    store.close()
    with Store(db, wait=dbfile.READ_WAIT if wait is None else wait):
        pass
    return Store(db, read_only=True, wait=wait)


def indicator_table(store: Store, spec: str | None = None) -> IndicatorTable:
    chosen = choose_indicators(store, spec)
    with dbfile.errors(store.path, store.con):
        cursor = store.con.execute(table_sql(chosen))
        columns = [c[0] for c in cursor.description or []]
        rows = cursor.fetchall()
    return IndicatorTable(columns, rows, chosen)


def output_format(fmt: str | None, target: Path | None) -> str:
    """The format asked for, or the one the target's suffix names; table when printing."""
    if fmt is not None:
        if fmt not in FORMATS:
            raise StoreError(f"unknown format {fmt!r}: one of {', '.join(FORMATS)}")
        if fmt == "parquet" and target is None:
            raise StoreError("Parquet is a file: add -o FILE.parquet")
        if fmt == "table" and target is not None:
            raise StoreError("-o writes csv, parquet or json: add --format csv|parquet|json")
        return fmt
    if target is None:
        return "table"
    found = SUFFIX_FORMATS.get(target.suffix.lower())
    if found is None:
        raise StoreError(f"cannot tell the format of {target.name}: name it .csv, .parquet or .json, or pass --format")
    return found


def check_target(db: Path, target: Path, replace: bool) -> None:
    """Refuse a target that is the database (or its WAL), a folder, or an existing file without
    --replace."""
    own = {os.path.realpath(db), os.path.realpath(f"{db}.wal")}
    if os.path.realpath(target) in own:
        raise StoreError(f"refused: writing the table to {target} would write over the database {db}")
    if target.is_dir():
        raise StoreError(f"cannot write the table to {target}: it is a folder; name a file")
    if target.exists() and not replace:
        raise StoreError(f"refused: {target} exists; pass --replace to write over it")


@dataclass
class Written:
    path: Path
    rows: int
    indicators: list[str]


def write_table(db: Path, target: Path, fmt: str, spec: str | None = None, replace: bool = False,
                wait: float | None = None) -> Written:
    """Write the table to target (csv, parquet or json) through a temporary file in its folder,
    moved into place only when complete: a failed write leaves an existing file as it was."""
    check_target(db, target, replace)
    with open_for_tables(db, wait) as store:
        chosen = choose_indicators(store, spec)
    folder = target.parent
    try:
        folder.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".part", dir=folder)
        os.close(handle)
    except OSError as exc:
        raise StoreError(f"cannot write into {folder}: {exc.strerror or exc}") from exc
    try:
        rows = _write(db, Path(temporary), fmt, chosen, wait)
        os.replace(temporary, target)
    except OSError as exc:
        raise StoreError(f"cannot write {target}: {exc.strerror or exc}") from exc
    finally:
        if os.path.exists(temporary):
            os.unlink(temporary)
    return Written(target, rows, chosen)


def _write(db: Path, temporary: Path, fmt: str, chosen: list[str], wait: float | None) -> int:
    """Rows written."""
    sql = table_sql(chosen)
    if fmt == "json":
        with Store(db, read_only=True, wait=wait) as store, dbfile.errors(store.path, store.con):
            cursor = store.con.execute(sql)
            columns = [c[0] for c in cursor.description or []]
            rows = cursor.fetchall()
        temporary.write_text(json_rows(columns, rows), encoding="utf-8")
        return len(rows)
    options = "(FORMAT parquet)" if fmt == "parquet" else "(FORMAT csv, HEADER true)"
    # The exporter's configuration: read-only, but allowed to write its own output file.
    con = dbfile.connect(db, read_only=True, wait=dbfile.READ_WAIT if wait is None else wait,
                         config=dbfile.EXPORTER_CONFIG)
    try:
        with dbfile.errors(db, con):
            written = con.execute(f"COPY ({sql}) TO {_literal(str(temporary))} {options}").fetchone()
    except duckdb.Error as exc:
        raise StoreError(f"table failed: {' '.join(str(exc).split())[:300]}") from exc
    finally:
        con.close()
    return int(written[0]) if written else 0
