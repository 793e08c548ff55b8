"""The schema, as named migrations applied in order and recorded in `migrations`.

Append-only: the tables and columns are a public interface (docs/tables.md). A change is a new
migration at the end (add columns, never rename or drop); a migration that has run is never edited.
"""

from __future__ import annotations

from llm_extract.store.checksql import CHECKS_SQL
from llm_extract.store.reviewsql import AREAS_SQL, REVIEWS_SQL

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
    # Comparable labels: the area of the national framework of every metric and problem, the
    # catalogue indicator a metric states (NULL: none), who decided each; the reviewed views
    # again with them, and `indicator_values` over them (see reviewsql.AREAS_SQL).
    ("009_areas_and_indicators", AREAS_SQL),
    # Consistency and completeness findings (llm-extract checks; see the checks package and
    # checksql), and reviewers' dismissals of them.
    ("010_checks", CHECKS_SQL),
]
