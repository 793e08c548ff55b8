"""Query results as text: JSON (strict: NaN and infinities are null) and CSV (LF line ends).
Used by `sql`, `checks` and `table`, whoever prints or writes them."""

from __future__ import annotations

import csv
import io
import json
import math
from typing import Any


def json_rows(columns: list[str], rows: list[tuple[Any, ...]]) -> str:
    """Rows as a JSON array of objects. JSON has no NaN or Infinity: those become null, as in
    JavaScript's JSON.stringify (DuckDB's own to_json would write bare NaN, which parsers refuse)."""
    records = [{c: _finite(v) for c, v in zip(columns, row)} for row in rows]
    return json.dumps(records, ensure_ascii=False, default=str, indent=2, allow_nan=False) + "\n"


def _finite(value: Any) -> Any:
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(v) for v in value]
    return value


def csv_rows(columns: list[str], rows: list[tuple[Any, ...]]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")  # as every other output: LF, not csv's default CRLF
    writer.writerow(columns)
    writer.writerows(rows)
    return buffer.getvalue()
