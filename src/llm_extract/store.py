"""DuckDB storage: named, append-only migrations; one transaction per document.

The tables and columns created here are a public interface (README): add columns in new
migrations, never rename or drop.
"""

from __future__ import annotations

import functools
import json
import os
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, TypeVar, cast

import duckdb

from . import dbfile
from .errors import StoreError
from .ground import is_grounded
from .readonly import reading_statement
from .reviewsql import REVIEWS_SQL
from .schemas import Extraction, MetricRecord, PageRecord, ProblemRecord, ReportMeta, SectionRecord

MIGRATIONS: list[tuple[str, str]] = [
    ("001_core_tables", """
        CREATE TABLE documents (
            doc_id VARCHAR PRIMARY KEY, path VARCHAR NOT NULL, title VARCHAR,
            township VARCHAR, county VARCHAR, year INTEGER, issuer VARCHAR, report_date DATE,
            n_chars INTEGER NOT NULL, text VARCHAR NOT NULL, run_id VARCHAR,
            model VARCHAR, prompt_version VARCHAR, extracted_at TIMESTAMP
        );
        CREATE TABLE sections (
            doc_id VARCHAR NOT NULL, section_id INTEGER NOT NULL, parent_id INTEGER,
            level INTEGER NOT NULL, number VARCHAR NOT NULL, title VARCHAR NOT NULL, category VARCHAR,
            char_start INTEGER NOT NULL, char_end INTEGER NOT NULL, PRIMARY KEY (doc_id, section_id)
        );
        CREATE TABLE metrics (
            doc_id VARCHAR NOT NULL, metric_id INTEGER NOT NULL, section_id INTEGER,
            name VARCHAR NOT NULL, value DOUBLE NOT NULL, value_max DOUBLE, unit VARCHAR NOT NULL,
            approx BOOLEAN NOT NULL, category VARCHAR NOT NULL, quote VARCHAR NOT NULL,
            char_start INTEGER NOT NULL, char_end INTEGER NOT NULL, PRIMARY KEY (doc_id, metric_id)
        );
        CREATE TABLE problems (
            doc_id VARCHAR NOT NULL, problem_id INTEGER NOT NULL, section_id INTEGER,
            summary VARCHAR NOT NULL, category VARCHAR NOT NULL, quote VARCHAR NOT NULL,
            char_start INTEGER NOT NULL, char_end INTEGER NOT NULL, PRIMARY KEY (doc_id, problem_id)
        );
        CREATE TABLE runs (
            run_id VARCHAR PRIMARY KEY, started_at TIMESTAMP NOT NULL, finished_at TIMESTAMP,
            base_url VARCHAR, model VARCHAR, n_docs INTEGER DEFAULT 0, n_ok INTEGER DEFAULT 0,
            n_failed INTEGER DEFAULT 0, n_dropped INTEGER DEFAULT 0,
            prompt_tokens BIGINT DEFAULT 0, completion_tokens BIGINT DEFAULT 0
        );
    """),
    ("002_grounding_and_status", """
        ALTER TABLE metrics ADD COLUMN alignment VARCHAR DEFAULT 'exact';
        ALTER TABLE problems ADD COLUMN alignment VARCHAR DEFAULT 'exact';
        ALTER TABLE documents ADD COLUMN status VARCHAR DEFAULT 'ok';
        ALTER TABLE documents ADD COLUMN failed_steps VARCHAR;
        ALTER TABLE documents ADD COLUMN n_dropped INTEGER DEFAULT 0;
        ALTER TABLE documents ADD COLUMN prompt_tokens BIGINT DEFAULT 0;
        ALTER TABLE documents ADD COLUMN completion_tokens BIGINT DEFAULT 0;
        ALTER TABLE documents ADD COLUMN model_calls INTEGER DEFAULT 0;
        ALTER TABLE documents ADD COLUMN seconds DOUBLE;
    """),
    ("003_eval_runs", """
        CREATE TABLE eval_runs (
            eval_id VARCHAR NOT NULL, ran_at TIMESTAMP NOT NULL, model VARCHAR NOT NULL,
            prompt_version VARCHAR, git_commit VARCHAR, field VARCHAR NOT NULL, report VARCHAR NOT NULL,
            score_name VARCHAR NOT NULL, score DOUBLE
        );
    """),
    # The README's first query reads `township` straight from metrics; denormalised on purpose.
    ("004_township_on_items", """
        ALTER TABLE metrics ADD COLUMN township VARCHAR;
        ALTER TABLE problems ADD COLUMN township VARCHAR;
    """),
    # running | finished | aborted | interrupted. A run killed outright cannot say so itself; the
    # next run marks it (Store.mark_interrupted_runs). Runs from before this column were finished
    # unless finished_at is NULL.
    ("005_run_status", """
        ALTER TABLE runs ADD COLUMN status VARCHAR;
        UPDATE runs SET status = 'finished' WHERE finished_at IS NOT NULL;
    """),
    # Issuers that are not townships (county departments, districts); labels that failed their
    # check against their own item and were replaced by code's.
    ("006_issuer_level_and_label_source", """
        ALTER TABLE documents ADD COLUMN issuer_level VARCHAR;
        ALTER TABLE documents ADD COLUMN n_fallbacks INTEGER DEFAULT 0;
        ALTER TABLE metrics ADD COLUMN label_source VARCHAR DEFAULT 'model';
    """),
    # Reports as users have them (.docx, .pdf, .html, .doc/.wps): the format of the file and what
    # converted it to the stored text; for formats with pages, the page of each character range.
    # Every document stored before this migration was decoded plain text.
    ("007_source_format_and_pages", """
        ALTER TABLE documents ADD COLUMN source_format VARCHAR;
        ALTER TABLE documents ADD COLUMN converter VARCHAR;
        UPDATE documents SET source_format = CASE WHEN lower(path) LIKE '%.md' THEN 'md' ELSE 'txt' END,
                             converter = 'llm-extract text decoding';
        CREATE TABLE pages (
            doc_id VARCHAR NOT NULL, page INTEGER NOT NULL,
            char_start INTEGER NOT NULL, char_end INTEGER NOT NULL, PRIMARY KEY (doc_id, page)
        );
    """),
    # A reviewer's decisions (llm-extract review), append-only: extractions are never overwritten.
    # An item is keyed by its document, kind, span and (metrics) value, not by metric_id, which a
    # re-extraction renumbers: a review applies again whenever an item with the same key comes back.
    # The latest decision per key wins (review_id grows); the *_reviewed views apply it.
    ("008_reviews", REVIEWS_SQL),
    # The comparable labels: the area of the national framework for every metric and problem, the
    # catalogue indicator of a metric (NULL: not one of its quantities), and who decided each.
    ("009_areas_and_indicators", """
        ALTER TABLE metrics ADD COLUMN area VARCHAR;
        ALTER TABLE metrics ADD COLUMN area_source VARCHAR;
        ALTER TABLE metrics ADD COLUMN indicator VARCHAR;
        ALTER TABLE metrics ADD COLUMN indicator_source VARCHAR;
        ALTER TABLE problems ADD COLUMN area VARCHAR;
        ALTER TABLE problems ADD COLUMN area_source VARCHAR;
    """),
]
# Every table with a doc_id column: what replacing or forgetting a document deletes from.
DOCUMENT_TABLES = ("metrics", "problems", "sections", "pages", "documents")

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
    def is_current(self, doc_id: str, model: str, prompt_version: str, converter: str | None = None) -> bool:
        """An unchanged file already extracted with this model and prompt version (and, when given,
        converted by the same converter: a new converter version may read the file differently)."""
        row = self.con.execute(
            "SELECT 1 FROM documents WHERE doc_id = ? AND model = ? AND prompt_version = ? AND status = 'ok'"
            " AND (? IS NULL OR converter = ?)",
            [doc_id, model, prompt_version, converter, converter],
        ).fetchone()
        return row is not None

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
            self._insert_columns("seen", {"doc_id": list(seen), "path": list(seen.values())})
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
    def find_documents(self, key: str) -> list[tuple[str, str]]:
        """(doc_id, path) of the documents KEY names: a doc_id prefix, a file name or part of one,
        or a path. Literal text: `_` and `%` are characters, not wildcards. An exact name or path
        wins over a partial one."""
        rows = [(str(d), str(p)) for d, p in self.con.execute("SELECT doc_id, path FROM documents ORDER BY path").fetchall()]
        resolved = os.path.realpath(key)
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
        items: list[MetricRecord | ProblemRecord] = [*extraction.metrics, *extraction.problems]
        for item in items:
            if not is_grounded(text, item.quote, item.char_start, item.char_end):
                raise StoreError(f"refusing to store {item.quote!r} at [{item.char_start}, {item.char_end}) "
                                 f"of {extraction.path}: the text there differs (a bug; please report it)")
        with self.transaction():
            # The rows of this document, or of an older version of its file. A new document has
            # none: the deletes (each a scan of a table that grows with the corpus) are skipped.
            old = [r[0] for r in self.con.execute(
                "SELECT doc_id FROM documents WHERE doc_id = ? OR path = ?", [doc_id, extraction.path]).fetchall()]
            for table in DOCUMENT_TABLES if old else ():
                self.con.execute(f"DELETE FROM {table} WHERE doc_id IN (SELECT unnest(?))", [old])
            meta = extraction.meta
            self.con.execute(
                """INSERT INTO documents (doc_id, path, title, township, county, year, issuer, report_date,
                   n_chars, text, run_id, model, prompt_version, extracted_at, status, failed_steps,
                   n_dropped, prompt_tokens, completion_tokens, model_calls, seconds, issuer_level, n_fallbacks,
                   source_format, converter)
                   VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)""",
                [doc_id, extraction.path, extraction.title, meta.township, meta.county, meta.year,
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

    def _insert(self, table: str, doc_id: str, rows: list[dict[str, Any]]) -> None:
        if not rows:
            return
        columns = {"doc_id": [doc_id] * len(rows)}
        columns.update({name: [row[name] for row in rows] for name in rows[0]})
        self._insert_columns(table, columns)

    def _insert_columns(self, table: str, columns: dict[str, list[Any]]) -> None:
        """Insert rows given column by column: one statement with one list per column, unnested
        by DuckDB. A statement per row (executemany) cost ~35 ms for a report's 21 metrics, more
        than extracting it with the rules; this costs ~2 ms."""
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
                         [run_id, now(), base_url, model])

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


class Writer:
    """Saves a run's documents, holding the database file only while documents come fast.

    While a process has the file open for writing no other can read it, and each close costs a
    checkpoint that grows with the database (about 40 ms at 200 documents, 600 ms at 5,000 here):
    closing after every document would multiply a fast run's time. So the file is let go after
    each document that took long to extract (a model: seconds to minutes, so readers never wait
    for one), and kept while documents take milliseconds (the rules backend) or while the next
    document is already waiting to be saved (many in flight: each took long, but they arrive
    fast; opening and closing took most of a save), but for at most HOLD seconds at a time, then
    released for PAUSE so that waiting readers get their turn.

    The checkpoint grows with the database (DuckDB rewrites the documents table's last row group,
    texts included: ~0.65 s at 10,000 reports), so the file is held at least CLOSE_SHARE times
    as long as the last close took, keeping checkpoints to a bounded share of a long run's time,
    but never longer than MAX_HOLD, so a reader still gets in well within dbfile.READ_WAIT.
    """

    FAST = 0.5  # seconds of extraction below which the next document is expected soon
    HOLD = 2.0  # well under dbfile.READ_WAIT: a reader waits at most about this long
    CLOSE_SHARE = 10  # hold >= 10x the last close: checkpoints take at most ~1/11 of the time
    MAX_HOLD = dbfile.READ_WAIT / 2
    PAUSE = 3 * dbfile.RETRY_EVERY  # a waiting reader retries within this

    def __init__(self, path: Path, wait: float | None = None, on_wait: Callable[[str], None] | None = None) -> None:
        self.path, self.wait, self.on_wait = path, wait, on_wait
        self.store: Store | None = None
        self.opened = 0.0
        self.last_close = 0.0  # seconds the last close (its checkpoint) took

    def save(self, extraction: Extraction, next_ready: bool = False) -> None:
        """Save one document; `next_ready`: the caller has the next document ready to save now."""
        if self.store is None:
            self.store = Store(self.path, wait=self.wait, on_wait=self.on_wait)
            self.opened = time.monotonic()
        self.store.save(extraction)
        hold = min(max(self.HOLD, self.CLOSE_SHARE * self.last_close), self.MAX_HOLD)
        held_long = time.monotonic() - self.opened >= hold
        if (extraction.seconds >= self.FAST and not next_ready) or held_long:
            self.close()
            if held_long:
                time.sleep(self.PAUSE)

    def close(self) -> None:
        store, self.store = self.store, None
        if store is not None:
            started = time.monotonic()
            store.close()
            self.last_close = time.monotonic() - started

    def __enter__(self) -> Writer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _drop(row: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in row.items() if k not in ("doc_id", "township")}


def _sql_error(exc: duckdb.Error) -> str:
    message = " ".join(str(exc).split())
    if isinstance(exc, duckdb.InvalidInputException | duckdb.PermissionException) and (
        "read-only" in message or "read_only" in message or "disabled by configuration" in message
    ):
        return f"refused: `llm-extract sql` is read-only ({message[:160]})"
    return message[:300]
