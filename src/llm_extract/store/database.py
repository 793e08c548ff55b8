"""DuckDB storage: named, append-only migrations; one transaction per document.

The tables and columns created here are a public interface (README): add columns in new
migrations, never rename or drop.
"""

from __future__ import annotations

import functools
import json
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, TypeVar, cast

import duckdb

from llm_extract.errors import StoreError
from llm_extract.ingest.fsnames import stored, unstored
from llm_extract.propose.ground import is_grounded
from llm_extract.schemas import (
    Extraction,
    MetricRecord,
    PageRecord,
    ProblemRecord,
    ReportMeta,
    SectionRecord,
)
from llm_extract.store import dbfile
from llm_extract.store.checkstore import write_document_findings
from llm_extract.store.readonly import reading_statement
from llm_extract.store.migrations import MIGRATIONS

# Every table with a doc_id column: what replacing or forgetting a document deletes from.
DOCUMENT_TABLES = ("metrics", "problems", "sections", "pages", "checks", "documents")

Method = TypeVar("Method", bound=Callable[..., Any])


def _file_errors(method: Method) -> Method:
    """Run a Store method under dbfile.errors: a damaged file or a lock is one StoreError line and
    Ctrl-C inside DuckDB is KeyboardInterrupt."""
    @functools.wraps(method)
    def wrapper(self: Store, *args: Any, **kwargs: Any) -> Any:
        with dbfile.errors(self.path, self.con):
            return method(self, *args, **kwargs)
    return cast(Method, wrapper)


def now() -> datetime:
    """Naive UTC: DuckDB returns TIMESTAMPTZ through pytz, which we do not depend on."""
    return datetime.now(timezone.utc).replace(tzinfo=None)


class Store:
    """One connection to the database file. Open it for as short a time as the work allows: while
    it is open for writing no other process can read the file (see dbfile)."""

    def __init__(self, path: Path, read_only: bool = False, wait: float | None = None,
                 on_wait: Callable[[str], None] | None = None) -> None:
        """wait: seconds to wait for another process that has the file (default dbfile.READ_WAIT)."""
        self.path = path
        if read_only and not path.exists():
            raise StoreError(f"no database at {path}; run `llm-extract run` first or pass --db")
        self.con = dbfile.connect(path, read_only=read_only, wait=dbfile.READ_WAIT if wait is None else wait,
                                  on_wait=on_wait)
        if not read_only:
            try:
                self.migrate()
            except BaseException:
                self.con.close()
                raise

    def close(self) -> None:
        with dbfile.errors(self.path, self.con):  # closing checkpoints: it writes the file
            self.con.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- schema -----------------------------------------------------------------------------
    @_file_errors
    def migrate(self) -> list[str]:
        self.con.execute("CREATE TABLE IF NOT EXISTS migrations (name VARCHAR PRIMARY KEY, applied_at TIMESTAMP)")
        done = {row[0] for row in self.con.execute("SELECT name FROM migrations").fetchall()}
        newer = sorted(done - {name for name, _ in MIGRATIONS})
        if newer:
            # Its tables have columns this version does not know: writing rows without them would
            # leave them empty for the newer version to read as facts. Reading is still fine.
            raise StoreError(f"{self.path} was written by a newer llm-extract (schema {newer[-1]}, which this version "
                             "does not know); upgrade llm-extract to write to it, or use another --db")
        applied = []
        for name, sql in MIGRATIONS:
            if name in done:
                continue
            with self.transaction():
                self.con.execute(sql)
                self.con.execute("INSERT INTO migrations VALUES (?, ?)", [name, now()])
            applied.append(name)
        return applied

    @contextmanager
    def transaction(self) -> Iterator[None]:
        self.con.execute("BEGIN TRANSACTION")
        try:
            yield
        except BaseException:
            self.con.execute("ROLLBACK")
            raise
        self.con.execute("COMMIT")

    # --- documents --------------------------------------------------------------------------
    @_file_errors
    def current_documents(self, model: str, prompt_version: str) -> dict[str, str | None]:
        """doc_id -> converter of every document extracted whole with this model and prompt
        version: what a run skips, decided for the whole corpus with one query."""
        rows = self.con.execute(
            "SELECT doc_id, converter FROM documents WHERE model = ? AND prompt_version = ? AND status = 'ok'",
            [model, prompt_version]).fetchall()
        return {str(doc_id): converter for doc_id, converter in rows}

    @_file_errors
    def record_paths(self, seen: dict[str, str]) -> None:
        """Record where documents (doc_id -> resolved path) were seen, before any is extracted.

        A document is its bytes; a path is where it was last seen. So a stored document moves to
        the path it was seen at (a renamed file keeps its rows), and a different document stored
        at that path is an older version of that file, replaced by the one seen there, and goes.
        Only documents already stored are moved; a path whose new content is still to be
        extracted keeps its old rows until `save` replaces them, so an interrupted run loses none.
        """
        if not seen:
            return
        with self.transaction():
            self.con.execute("CREATE OR REPLACE TEMP TABLE seen (doc_id VARCHAR, path VARCHAR)")
            self._insert_columns("seen", {"doc_id": list(seen), "path": [stored(p) for p in seen.values()]})
            self.con.execute("UPDATE documents SET path = seen.path FROM seen WHERE documents.doc_id = seen.doc_id")
            self.con.execute(
                """CREATE OR REPLACE TEMP TABLE stale AS
                   SELECT d.doc_id FROM documents d JOIN seen s ON d.path = s.path
                   WHERE d.doc_id NOT IN (SELECT doc_id FROM seen)
                     AND s.doc_id IN (SELECT doc_id FROM documents)""")
            for table in DOCUMENT_TABLES:
                self.con.execute(f"DELETE FROM {table} WHERE doc_id IN (SELECT doc_id FROM stale)")
            self.con.execute("DROP TABLE seen")
            self.con.execute("DROP TABLE stale")

    @_file_errors
    def document_paths(self) -> list[str]:
        """Where every stored document was last seen, as os functions take the name: the inputs
        an output file must never be written over."""
        return [unstored(str(row[0])) for row in self.con.execute("SELECT path FROM documents").fetchall()]

    @_file_errors
    def find_documents(self, key: str) -> list[tuple[str, str]]:
        """(doc_id, path) of the documents KEY names: a doc_id prefix, a file name or part of one,
        or a path. Literal text: `_` and `%` are characters, not wildcards. An exact name or path
        wins over a partial one."""
        rows = [(str(d), str(p)) for d, p in self.con.execute("SELECT doc_id, path FROM documents ORDER BY path").fetchall()]
        resolved, key = stored(os.path.realpath(key)), stored(key)
        exact = [(d, p) for d, p in rows if p in (key, resolved) or os.path.basename(p) == key or p.endswith(os.sep + key)]
        if exact:
            return exact
        return [(d, p) for d, p in rows if d.startswith(key) or key in os.path.basename(p)]

    @_file_errors
    def save(self, extraction: Extraction) -> None:
        """Replace everything stored for this document (or for an older version of its file).

        Refuses, before writing anything, an item whose quote is not the text at its offsets:
        that is a bug upstream, and a stored row must never claim characters it did not come from.
        """
        doc_id, text = extraction.doc_id, extraction.text
        path = stored(extraction.path)  # a name that is not UTF-8 is stored escaped, never refused
        items: list[MetricRecord | ProblemRecord] = [*extraction.metrics, *extraction.problems]
        for item in items:
            if not is_grounded(text, item.quote, item.char_start, item.char_end):
                raise StoreError(f"refusing to store {item.quote!r} at [{item.char_start}, {item.char_end}) "
                                 f"of {extraction.path}: the text there differs (a bug; please report it)")
        with self.transaction():
            # The rows of this document, or of an older version of its file. A new document has
            # none: the deletes (each a scan of a table that grows with the corpus) are skipped.
            old = [r[0] for r in self.con.execute(
                "SELECT doc_id FROM documents WHERE doc_id = ? OR path = ?", [doc_id, path]).fetchall()]
            for table in DOCUMENT_TABLES if old else ():
                self.con.execute(f"DELETE FROM {table} WHERE doc_id IN (SELECT unnest(?))", [old])
            meta = extraction.meta
            self.con.execute(
                """INSERT INTO documents (doc_id, path, title, township, county, year, issuer, report_date,
                   n_chars, text, run_id, model, prompt_version, extracted_at, status, failed_steps,
                   n_dropped, prompt_tokens, completion_tokens, model_calls, seconds, issuer_level, n_fallbacks,
                   source_format, converter)
                   VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)""",
                [doc_id, path, extraction.title, meta.township, meta.county, meta.year,
                 meta.issuer, meta.report_date, len(text), text, extraction.run_id, extraction.model,
                 extraction.prompt_version, now(), extraction.status,
                 json.dumps(extraction.failed_steps, ensure_ascii=False) if extraction.failed_steps else None,
                 extraction.dropped, extraction.usage.prompt_tokens, extraction.usage.completion_tokens,
                 extraction.usage.calls, extraction.seconds, meta.issuer_level, extraction.fallbacks,
                 extraction.source_format, extraction.converter],
            )
            self._insert("pages", doc_id, [p.model_dump() for p in extraction.pages])
            self._insert("sections", doc_id, [s.model_dump() for s in extraction.sections])
            township = {"township": meta.township}
            self._insert("metrics", doc_id, [m.model_dump(mode="json") | township for m in extraction.metrics])
            self._insert("problems", doc_id, [p.model_dump(mode="json") | township for p in extraction.problems])
            write_document_findings(self, extraction)  # its own checks; the series when the run ends

    def _insert(self, table: str, doc_id: str, rows: list[dict[str, Any]]) -> None:
        if not rows:
            return
        columns = {"doc_id": [doc_id] * len(rows)}
        columns.update({name: [row[name] for row in rows] for name in rows[0]})
        # A record field whose migration has not landed yet has no column: left out while it is
        # empty everywhere, refused once it holds anything (a value must never be lost unsaid).
        have = self._columns(table)
        for name in [n for n in columns if n not in have]:
            if any(value is not None for value in columns[name]):
                raise StoreError(f"the {table} table has no column {name} for the values to store; this is a bug, please report it")
            del columns[name]
        self._insert_columns(table, columns)

    def _columns(self, table: str) -> set[str]:
        cache: dict[str, set[str]] = self.__dict__.setdefault("_column_cache", {})
        if table not in cache:
            cache[table] = {str(r[0]) for r in self.con.execute(
                "SELECT column_name FROM duckdb_columns() WHERE table_name = ?", [table]).fetchall()}
        return cache[table]

    def _insert_columns(self, table: str, columns: dict[str, list[Any]]) -> None:
        """Insert rows given column by column: one statement with one list per column, unnested
        by DuckDB. A statement per row (executemany) cost more than extracting the report with the
        rules did; one statement per table does not grow with the rows (docs/benchmarks.md)."""
        names = ", ".join(columns)
        unnested = ", ".join(f"unnest(${i})" for i in range(1, len(columns) + 1))
        self.con.execute(f"INSERT INTO {table} ({names}) SELECT {unnested}", list(columns.values()))

    @_file_errors
    def load_extraction(self, doc_id: str) -> Extraction | None:
        """Read a stored extraction back as the same type the extractor returns."""
        doc = self.query("SELECT * FROM documents WHERE doc_id = ?", [doc_id])
        if not doc:
            return None
        d = doc[0]
        return Extraction(
            doc_id=doc_id, path=d["path"], text=d["text"], model=d["model"] or "",
            prompt_version=d["prompt_version"] or "", run_id=d["run_id"], title=d["title"],
            meta=ReportMeta(**{k: d[k] for k in ("township", "county", "year", "issuer", "report_date", "issuer_level")}),
            sections=[SectionRecord(**_drop(r)) for r in self.query("SELECT * FROM sections WHERE doc_id = ? ORDER BY section_id", [doc_id])],
            metrics=[MetricRecord(**_drop(r)) for r in self.query("SELECT * FROM metrics WHERE doc_id = ? ORDER BY metric_id", [doc_id])],
            problems=[ProblemRecord(**_drop(r)) for r in self.query("SELECT * FROM problems WHERE doc_id = ? ORDER BY problem_id", [doc_id])],
            source_format=d["source_format"] or "txt", converter=d["converter"],
            pages=[PageRecord(**_drop(r)) for r in self.query("SELECT * FROM pages WHERE doc_id = ? ORDER BY page", [doc_id])],
            dropped=d["n_dropped"] or 0, fallbacks=d["n_fallbacks"] or 0,
            failed_steps=json.loads(d["failed_steps"]) if d["failed_steps"] else [],
        )

    # --- reviews ------------------------------------------------------------------------------
    @_file_errors
    def append_review(self, row: dict[str, Any]) -> None:
        """The one write of `llm-extract review`: a decision appended to `reviews` (never updated
        or deleted; see reviewsql). review_id comes from its sequence."""
        columns = list(row)
        self.con.execute(f"INSERT INTO reviews ({', '.join(columns)}) VALUES ({', '.join('?' for _ in columns)})",
                         list(row.values()))

    @_file_errors
    def has_table(self, name: str) -> bool:
        """Whether the database has this table or view (a read-only database may predate a migration)."""
        return self.con.execute("SELECT 1 FROM duckdb_tables() WHERE table_name = ? UNION ALL "
                                "SELECT 1 FROM duckdb_views() WHERE view_name = ?", [name, name]).fetchone() is not None

    # --- runs ---------------------------------------------------------------------------------
    @_file_errors
    def start_run(self, run_id: str, base_url: str | None, model: str) -> None:
        self.con.execute("INSERT INTO runs (run_id, started_at, base_url, model, status) VALUES (?, ?, ?, ?, 'running')",
                         [run_id, now(), None if base_url is None else stored(base_url), model])

    @_file_errors
    def finish_run(self, run_id: str, n_docs: int, n_ok: int, n_failed: int, n_dropped: int,
                   prompt_tokens: int, completion_tokens: int, status: str = "finished") -> None:
        self.con.execute(
            """UPDATE runs SET finished_at = ?, n_docs = ?, n_ok = ?, n_failed = ?, n_dropped = ?,
               prompt_tokens = ?, completion_tokens = ?, status = ? WHERE run_id = ?""",
            [now(), n_docs, n_ok, n_failed, n_dropped, prompt_tokens, completion_tokens, status, run_id])

    @_file_errors
    def mark_interrupted_runs(self) -> int:
        """Close the rows of runs that were killed (no finished_at), with what they saved: their
        last saved document's time and count. Call only while holding dbfile.run_lock, when no
        other run can be live."""
        return len(self.con.execute(
            """UPDATE runs SET status = 'interrupted',
                   finished_at = coalesce((SELECT max(extracted_at) FROM documents d WHERE d.run_id = runs.run_id), started_at),
                   n_ok = (SELECT count(*) FROM documents d WHERE d.run_id = runs.run_id)
               WHERE finished_at IS NULL RETURNING run_id""").fetchall())

    # --- reading ------------------------------------------------------------------------------
    @_file_errors
    def query(self, sql: str, params: list[Any] | None = None) -> list[dict[str, Any]]:
        cursor = self.con.execute(sql, params or [])
        columns = [c[0] for c in cursor.description or []]
        return [dict(zip(columns, row)) for row in cursor.fetchall()]

    def query_table(self, sql: str) -> tuple[list[str], list[tuple[Any, ...]]]:
        """A user's query (`llm-extract sql`): one statement that only reads, or StoreError."""
        statement = reading_statement(sql)
        try:
            with dbfile.errors(self.path, self.con):
                cursor = self.con.execute(statement)
                columns = [c[0] for c in cursor.description or []]
                return columns, cursor.fetchall()
        except duckdb.Error as exc:
            raise StoreError(_sql_error(exc)) from exc


def _drop(row: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in row.items() if k not in ("doc_id", "township")}


def _sql_error(exc: duckdb.Error) -> str:
    message = " ".join(str(exc).split())
    if isinstance(exc, duckdb.InvalidInputException | duckdb.PermissionException) and (
        "read-only" in message or "read_only" in message or "disabled by configuration" in message
    ):
        return f"refused: `llm-extract sql` is read-only ({message[:160]})"
    return message[:300]
