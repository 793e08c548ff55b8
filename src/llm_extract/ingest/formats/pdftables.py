"""Tables in text PDFs, found by pdfplumber (MIT, over pdfminer.six): each table becomes one line
per row, cells in reading order separated by a tab, as `.docx` tables are. PDFium reads a table
cell by cell, so without this a header cell that wraps comes out one piece per line and a row's
label lands on one line and its numbers on the next.

Two kinds of table, both by their geometry, never by their words:
- ruled: the cells are drawn (lines or rectangles); pdfplumber's "lines" strategy finds them.
- aligned: no rules, columns kept by alignment alone. pdfplumber's "text" strategy finds column
  and row edges from word alignment, which ordinary paragraphs can also show, so such a
  "table" is kept only if it looks like one: at least 3 rows of at least 2 cells, short cells,
  and a column that is mostly numbers.

The table's text replaces the PDFium lines that lie inside it; the rest of the page keeps
PDFium's lines (`pdf.py`). Pages without drawn paths or lines with several number columns are
not given to pdfplumber at all (it is slower than PDFium by far).
"""

from __future__ import annotations

import io
import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from llm_extract.ingest.formats import package_version

MIN_ROWS_ALIGNED = 3
MAX_CELL_ALIGNED = 30  # characters; an aligned "table" with longer cells is a paragraph's lines
NUMBER_CELL = re.compile(r"[-+]?[0-9０-９][0-9０-９,，.．]*\s*[%％]?\s*\S{0,2}")
_NUMBER_TOKEN = re.compile(r"[0-9０-９][0-9０-９,，.．%％]*\S{0,3}")  # 12, 7.1%, 12场, 5200人次
RULED = {"vertical_strategy": "lines", "horizontal_strategy": "lines"}
ALIGNED = {"vertical_strategy": "text", "horizontal_strategy": "text", "min_words_vertical": MIN_ROWS_ALIGNED,
           "min_words_horizontal": 1, "text_x_tolerance_ratio": 0.6, "text_keep_blank_chars": True}


@dataclass(frozen=True)
class Row:
    cells: tuple[str, ...]
    top: float  # PDF user space: y grows upwards, as PDFium's boxes
    bottom: float


@dataclass(frozen=True)
class Table:
    left: float
    right: float
    top: float
    bottom: float
    rows: tuple[Row, ...]

    def holds(self, left: float, right: float, top: float, bottom: float) -> bool:
        """A PDFium line belongs to the table if its middle lies inside it."""
        y = (top + bottom) / 2
        x = (left + right) / 2
        return self.bottom - 1 <= y <= self.top + 1 and self.left - 1 <= x <= self.right + 1


@lru_cache(maxsize=1)
def tables_name() -> str:
    return f"pdfplumber {package_version('pdfplumber')} tables"


def find_tables(data: bytes, page_indexes: Sequence[int]) -> dict[int, list[Table]]:
    """The tables of the given pages (0-based), top to bottom on each page."""
    if not page_indexes:
        return {}
    import pdfplumber

    found: dict[int, list[Table]] = {}
    with pdfplumber.open(io.BytesIO(data)) as pdf:
        for index in page_indexes:
            page = pdf.pages[index]
            try:
                tables = page_tables(page)
            finally:
                page.close()  # pdfplumber caches every char of the page until it is closed
            if tables:
                found[index] = tables
    return found


def page_tables(page: Any) -> list[Table]:
    # pdfplumber measures `top` down from the page's height, PDFium's boxes up from y = 0 of
    # user space (whatever the MediaBox origin): y = height - top.
    top_edge = float(page.height)
    tables = [t for t in (_table(found, top_edge) for found in page.find_tables(RULED)) if t is not None]
    for region in aligned_regions(page):
        if any(_overlaps(region, other) for other in tables):
            continue  # the words of a ruled table also align
        px0, ptop, px1, pbottom = (float(v) for v in page.bbox)
        box = (max(px0, region.left - 1), max(ptop, top_edge - region.top - 1),
               min(px1, region.right + 1), min(pbottom, top_edge - region.bottom + 1))
        if box[0] >= box[2] or box[1] >= box[3]:
            continue
        for found in page.crop(box).find_tables(ALIGNED):
            table = _table(found, top_edge)
            if table is not None and _looks_aligned(table):
                tables.append(table)
    return sorted(tables, key=lambda t: -t.top)


def aligned_regions(page: Any) -> list[Table]:
    """Where the page may hold a table without rules: MIN_ROWS_ALIGNED or more consecutive lines
    that each have a wide gap (more than half a character; the spacing some typesetters put
    between Chinese and digits is a quarter). pdfplumber's text strategy is then run on that
    region only: over a whole page it reads the page's paragraphs as one wide column."""
    words = page.extract_words(x_tolerance_ratio=0.6, keep_blank_chars=True, use_text_flow=False)
    lines: list[list[dict[str, Any]]] = []
    for word in sorted(words, key=lambda w: (w["top"], w["x0"])):
        if lines and abs(lines[-1][0]["top"] - word["top"]) <= 2:
            lines[-1].append(word)
        else:
            lines.append([word])
    top_edge = float(page.height)
    regions: list[Table] = []
    run: list[list[dict[str, Any]]] = []
    for line in [*lines, []]:
        if len(line) >= 2:
            run.append(line)
            continue
        if len(run) >= MIN_ROWS_ALIGNED:
            flat = [w for ln in run for w in ln]
            regions.append(Table(min(w["x0"] for w in flat), max(w["x1"] for w in flat),
                                 top_edge - min(w["top"] for w in flat), top_edge - max(w["bottom"] for w in flat), ()))
        run = []
    return regions


def _table(found: Any, top_edge: float) -> Table | None:
    texts = found.extract()
    width = max((len(row.cells) for row in found.rows), default=0)
    starts = [next((float(row.cells[j][0]) for row in found.rows if j < len(row.cells) and row.cells[j] is not None), None)
              for j in range(width)]
    rows: list[Row] = []
    for row, cells_text in zip(found.rows, texts, strict=False):
        cells = _cells(row.cells, cells_text, starts)
        if not any(cells):
            continue
        x0, top, x1, bottom = row.bbox
        del x0, x1
        rows.append(Row(tuple(cells), top=top_edge - float(top), bottom=top_edge - float(bottom)))
    if not rows or max(len(r.cells) for r in rows) < 2:
        return None  # one column: a framed paragraph, not a table; PDFium's lines do
    x0, top, x1, bottom = found.bbox
    return Table(float(x0), float(x1), top_edge - float(top), top_edge - float(bottom), tuple(rows))


def _cells(boxes: Sequence[Any], texts: Sequence[str | None], starts: Sequence[float | None]) -> list[str]:
    """The row's cells left to right. A cell merged across columns is one cell (as in .docx); a
    cell merged down from the row above is an empty cell here, so the columns stay in place.
    `starts` is each column's left edge (None where no row has a cell starting there)."""
    cells: list[str] = []
    covered_to = float("-inf")
    for column, (box, text) in enumerate(zip(boxes, texts, strict=False)):
        if box is None:
            start = starts[column] if column < len(starts) else None
            if start is not None and start < covered_to - 1:
                continue  # spanned by the cell to its left
            cells.append("")
            continue
        covered_to = float(box[2])
        cells.append(cell_text(text or ""))
    return cells


def cell_text(text: str) -> str:
    """A cell's lines on one line: joined with nothing (Chinese wraps anywhere, and a wrap inside a
    number is still one number), one space only between two Latin letters. A tab would read as a
    cell boundary, so it becomes a space."""
    pieces = [piece.strip() for piece in text.replace("\t", " ").split("\n")]
    out = ""
    for piece in pieces:
        if not piece:
            continue
        if out and out[-1].isascii() and out[-1].isalpha() and piece[0].isascii() and piece[0].isalpha():
            out += " "
        out += piece
    return out


def _looks_aligned(table: Table) -> bool:
    rows = [r for r in table.rows if sum(1 for c in r.cells if c) >= 2]
    if len(rows) < MIN_ROWS_ALIGNED:
        return False
    if any(len(c) > MAX_CELL_ALIGNED for r in table.rows for c in r.cells):
        return False
    width = max(len(r.cells) for r in rows)
    for column in range(width):
        values = [r.cells[column] for r in rows if column < len(r.cells) and r.cells[column]]
        numbers = sum(1 for v in values if NUMBER_CELL.fullmatch(v))
        if numbers >= max(2, len(rows) // 2):
            return True
    return False


def _overlaps(a: Table, b: Table) -> bool:
    return a.left < b.right and b.left < a.right and a.bottom < b.top and b.bottom < a.top


def may_hold_table(texts: Sequence[str], paths: int) -> bool:
    """Worth asking pdfplumber about this page: it draws paths (rules, cell borders), or at least
    MIN_ROWS_ALIGNED of its lines have two or more pieces with one of them a number (and a unit)."""
    if paths:
        return True
    rows = 0
    for text in texts:
        tokens = text.split()
        if len(tokens) >= 2 and any(_NUMBER_TOKEN.fullmatch(t) for t in tokens[1:]):
            rows += 1
    return rows >= MIN_ROWS_ALIGNED


def with_tables(data: bytes, pdf: Any, pages: list[list[Any]]) -> list[list[Any]]:
    """The pages' lines (`pdf.Line`) with each table's lines replaced by its rows, where the
    table stood in PDFium's order. `pdf` is the open pypdfium2 document (for the cheap test of
    which pages may hold a table)."""
    import pypdfium2.raw as pdfium_c

    candidates = []
    for index, lines in enumerate(pages):
        page = pdf[index]
        try:
            paths = sum(1 for _ in page.get_objects(filter=[pdfium_c.FPDF_PAGEOBJ_PATH], max_depth=2))
        finally:
            page.close()
        if lines and may_hold_table([line.text for line in lines], paths):
            candidates.append(index)
    found = find_tables(data, candidates)
    return [replace_lines(lines, found.get(index, []), index + 1) for index, lines in enumerate(pages)]


def replace_lines(lines: list[Any], tables: Sequence[Table], page: int) -> list[Any]:
    from llm_extract.ingest.formats.pdf import Line  # pdf.py imports this module: its Line is there by the time this runs

    out = list(lines)
    for table in tables:
        inside = [i for i, line in enumerate(out) if not line.table_row
                  and table.holds(line.left, line.right, line.top, line.bottom)]
        if not inside:
            continue  # nothing of PDFium's text is in it (an empty frame): nothing to replace
        at = inside[0]
        rows = [Line("\t".join(row.cells), table.left, table.right, row.top, row.bottom, page, table_row=True)
                for row in table.rows]
        keep = [line for i, line in enumerate(out) if i not in set(inside)]
        before = sum(1 for i in range(at) if i not in set(inside))
        out = keep[:before] + rows + keep[before:]
    return out
