"""The guard in front of `llm-extract sql`: one statement, and only one that reads.

A read-only DuckDB connection is not enough: it still lets COPY write over the database's own file
and its WAL, and SET point a log at them. So the statement is parsed with DuckDB's own parser and
accepted only when its kind reads; the connection's configuration is locked as well (store.py).
"""

from __future__ import annotations

import duckdb

from llm_extract.errors import StoreError

# PRAGMAs that only report; any other (enable_profiling, profiling_output=…, threads=…) changes
# the session or writes a file.
READING_PRAGMAS = frozenset({
    "collations", "database_list", "database_size", "functions", "metadata_info", "platform", "show",
    "show_databases", "show_tables", "show_tables_expanded", "storage_info", "table_info", "user_agent",
    "version",
})
HINT = "`llm-extract sql` runs one SELECT, WITH … SELECT, DESCRIBE, SHOW, SUMMARIZE, EXPLAIN or reading PRAGMA"


class RefusedStatement(StoreError):
    """A statement `llm-extract sql` will not run."""


def reading_statement(sql: str) -> str:
    """The one statement in sql, if it only reads; RefusedStatement naming why otherwise."""
    statements = _parse(sql)
    if not statements:
        raise RefusedStatement(f"empty query: {HINT}")
    if len(statements) > 1:
        raise RefusedStatement(f"refused: {len(statements)} statements; {HINT}, one at a time")
    statement = statements[0]
    kind = statement.type
    if kind == duckdb.StatementType.SELECT:
        # DuckDB's parser accepts a data-changing CTE (WITH d AS (DELETE …) SELECT …) as a SELECT.
        if _changes_data(statement.query):
            raise RefusedStatement(f"refused: the query changes data; {HINT}")
        return statement.query
    if kind == duckdb.StatementType.EXPLAIN:
        # EXPLAIN ANALYZE runs the statement it explains, so that statement must read too.
        reading_statement(_after_explain(statement.query))
        return statement.query
    if kind == duckdb.StatementType.PRAGMA:
        name, assigns = _pragma(statement.query)
        if name in READING_PRAGMAS and not assigns:
            return statement.query
        raise RefusedStatement(f"refused: PRAGMA {name} is not one that only reads; {HINT}")
    raise RefusedStatement(f"refused: {kind.name} statements change data, settings or files; {HINT}")


def _parse(sql: str) -> list[duckdb.Statement]:
    try:
        return duckdb.extract_statements(sql)
    except duckdb.Error as exc:
        raise RefusedStatement(" ".join(str(exc).split())) from exc
    except ValueError as exc:  # a statement kind this duckdb's Python enum does not know
        raise RefusedStatement(f"refused: unknown statement kind; {HINT}") from exc


def _tokens(sql: str) -> list[tuple[str, duckdb.token_type]]:
    """(text, type) of each token, comments left out."""
    marks = duckdb.tokenize(sql)
    ends = [start for start, _ in marks[1:]] + [len(sql)]
    return [(sql[start:end].strip(), kind) for (start, kind), end in zip(marks, ends)
            if kind != duckdb.token_type.comment]


DATA_CHANGING = {"INSERT", "UPDATE", "DELETE"}


def _changes_data(sql: str) -> bool:
    """A data-changing statement inside a SELECT: one that opens a parenthesis (a CTE's body,
    `AS (DELETE …)`). The same words elsewhere are names (`SELECT 1 AS update`)."""
    tokens = _tokens(sql)
    return any(kind == duckdb.token_type.keyword and text.upper() in DATA_CHANGING and k and tokens[k - 1][0].endswith("(")
               for k, (text, kind) in enumerate(tokens))


def _after_explain(sql: str) -> str:
    """The statement EXPLAIN explains: after EXPLAIN, its ANALYZE and its (option, …) list."""
    marks = [(start, kind) for start, kind in duckdb.tokenize(sql) if kind != duckdb.token_type.comment]
    ends = [start for start, _ in marks[1:]] + [len(sql)]
    texts = [sql[start:end].strip() for (start, _), end in zip(marks, ends)]
    k = 1
    if k < len(marks) and texts[k].upper() == "ANALYZE":
        k += 1
    if k < len(marks) and texts[k].startswith("("):
        depth = 0
        while k < len(marks):
            depth += texts[k].count("(") - texts[k].count(")")
            k += 1
            if depth <= 0:
                break
    return sql[marks[k][0]:] if k < len(marks) else ""


def _pragma(sql: str) -> tuple[str, bool]:
    tokens = _tokens(sql)
    name = tokens[1][0].lower() if len(tokens) > 1 else ""
    return name, any(text.startswith("=") for text, _ in tokens)
