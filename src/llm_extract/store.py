"""DuckDB storage: named, append-only migrations; one transaction per document.

The tables and columns created here are a public interface (README): add columns in new
migrations, never rename or drop.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import duckdb

from .errors import StoreError
from .ground import is_grounded
from .schemas import Extraction, MetricRecord, ProblemRecord, ReportMeta, SectionRecord

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
    # Issuers that are not townships (county departments, districts); labels that failed their
    # check against their own item and were replaced by code's.
    ("005_issuer_level_and_label_source", """
        ALTER TABLE documents ADD COLUMN issuer_level VARCHAR;
        ALTER TABLE documents ADD COLUMN n_fallbacks INTEGER DEFAULT 0;
        ALTER TABLE metrics ADD COLUMN label_source VARCHAR DEFAULT 'model';
    """),
]


def now() -> datetime:
    """Naive UTC: DuckDB returns TIMESTAMPTZ through pytz, which we do not depend on."""
    return datetime.now(timezone.utc).replace(tzinfo=None)


class Store:
    def __init__(self, path: Path, read_only: bool = False) -> None:
        self.path = path
        try:
            if read_only:
                if not path.exists():
                    raise StoreError(f"no database at {path}; run `llm-extract run` first or pass --db")
                # No file access either: COPY … TO and friends are refused on this connection.
                self.con = duckdb.connect(str(path), read_only=True, config={"enable_external_access": False})
            else:
                path.parent.mkdir(parents=True, exist_ok=True)
                self.con = duckdb.connect(str(path))
                self.migrate()
        except duckdb.Error as exc:
            raise StoreError(f"cannot open {path}: {' '.join(str(exc).split())[:200]}") from exc

    def close(self) -> None:
        self.con.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- schema -----------------------------------------------------------------------------
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
    def is_current(self, doc_id: str, model: str, prompt_version: str) -> bool:
        """An unchanged file already extracted with this model and prompt version."""
        row = self.con.execute(
            "SELECT 1 FROM documents WHERE doc_id = ? AND model = ? AND prompt_version = ? AND status = 'ok'",
            [doc_id, model, prompt_version],
        ).fetchone()
        return row is not None

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
            old = [r[0] for r in self.con.execute(
                "SELECT doc_id FROM documents WHERE doc_id = ? OR path = ?", [doc_id, extraction.path]).fetchall()]
            for table in ("metrics", "problems", "sections", "documents"):
                self.con.executemany(f"DELETE FROM {table} WHERE doc_id = ?", [[d] for d in old + [doc_id]])
            meta = extraction.meta
            self.con.execute(
                """INSERT INTO documents (doc_id, path, title, township, county, year, issuer, report_date,
                   n_chars, text, run_id, model, prompt_version, extracted_at, status, failed_steps,
                   n_dropped, prompt_tokens, completion_tokens, model_calls, seconds, issuer_level, n_fallbacks)
                   VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)""",
                [doc_id, extraction.path, extraction.title, meta.township, meta.county, meta.year,
                 meta.issuer, meta.report_date, len(text), text, extraction.run_id, extraction.model,
                 extraction.prompt_version, now(), extraction.status,
                 json.dumps(extraction.failed_steps, ensure_ascii=False) if extraction.failed_steps else None,
                 extraction.dropped, extraction.usage.prompt_tokens, extraction.usage.completion_tokens,
                 extraction.usage.calls, extraction.seconds, meta.issuer_level, extraction.fallbacks],
            )
            self._insert("sections", doc_id, [s.model_dump() for s in extraction.sections])
            township = {"township": meta.township}
            self._insert("metrics", doc_id, [m.model_dump(mode="json") | township for m in extraction.metrics])
            self._insert("problems", doc_id, [p.model_dump(mode="json") | township for p in extraction.problems])

    def _insert(self, table: str, doc_id: str, rows: list[dict[str, Any]]) -> None:
        if not rows:
            return
        columns = ["doc_id", *rows[0].keys()]
        placeholders = ", ".join("?" for _ in columns)
        self.con.executemany(
            f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({placeholders})",
            [[doc_id, *row.values()] for row in rows],
        )

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
            dropped=d["n_dropped"] or 0, fallbacks=d["n_fallbacks"] or 0,
            failed_steps=json.loads(d["failed_steps"]) if d["failed_steps"] else [],
        )

    # --- runs ---------------------------------------------------------------------------------
    def start_run(self, run_id: str, base_url: str | None, model: str) -> None:
        self.con.execute("INSERT INTO runs (run_id, started_at, base_url, model) VALUES (?, ?, ?, ?)",
                         [run_id, now(), base_url, model])

    def finish_run(self, run_id: str, n_docs: int, n_ok: int, n_failed: int, n_dropped: int,
                   prompt_tokens: int, completion_tokens: int) -> None:
        self.con.execute(
            """UPDATE runs SET finished_at = ?, n_docs = ?, n_ok = ?, n_failed = ?, n_dropped = ?,
               prompt_tokens = ?, completion_tokens = ? WHERE run_id = ?""",
            [now(), n_docs, n_ok, n_failed, n_dropped, prompt_tokens, completion_tokens, run_id])

    # --- reading ------------------------------------------------------------------------------
    def query(self, sql: str, params: list[Any] | None = None) -> list[dict[str, Any]]:
        cursor = self.con.execute(sql, params or [])
        columns = [c[0] for c in cursor.description or []]
        return [dict(zip(columns, row)) for row in cursor.fetchall()]

    def query_table(self, sql: str) -> tuple[list[str], list[tuple[Any, ...]]]:
        try:
            cursor = self.con.execute(sql)
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
