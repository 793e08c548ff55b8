"""Text PDFs with pypdfium2 (PDFium; BSD-3/Apache-2.0): lines in the order PDFium reads them
(the content stream's, which is reading order for the single-column pages reports are), page
headers, footers and page numbers removed, lines that wrap inside a paragraph joined, and the
page of every character range kept.

Every rule is by class of line, from its text and its place on the page:
- a page number is a line at the top or bottom edge of a page that says only a number (- 3 -,
  第3页, 3/12); a running header or footer is an edge line whose text, digits aside, recurs at the
  same edge on at least half the pages (and two);
- a line continues the one before it unless the one before ended short of the right margin (a
  title, a paragraph's last line), or it starts a heading or list item, or it is indented while
  the document indents its paragraphs' first lines; a document that does not indent them (block
  paragraphs) breaks after sentence-final punctuation. Chinese has no hyphens and no spaces at a
  wrap: lines are joined with nothing, with one space only between two Latin letters or digits.
"""

from __future__ import annotations

import re
import statistics
from dataclasses import dataclass
from functools import lru_cache
from itertools import pairwise
from typing import Any

from ..errors import InputError
from . import Converted, PageSpan, ocr, package_version
from .pdftables import tables_name, with_tables
from .text import clean, ends_sentence, joiner, starts_item

PAGE_NUMBER = re.compile(
    r"[-—–－~·•\s]*(?:第\s*#+\s*页(?:\s*[,，/／]?\s*共\s*#+\s*页)?|#+(?:\s*[/／]\s*#+)?|page\s*#+(?:\s*of\s*#+)?)[-—–－~·•\s]*",
    re.IGNORECASE)
EDGE_LINES = 2  # lines looked at from each edge of a page for headers, footers and page numbers


@dataclass
class Line:
    text: str
    left: float
    right: float
    top: float
    bottom: float
    page: int  # 1-based
    table_row: bool = False  # a table's row (pdftables.py): cells tab-separated, never joined


@lru_cache(maxsize=1)  # asked once per file on a re-run; the answer is fixed for the process
def converter_name() -> str:
    import pypdfium2 as pdfium

    return f"pypdfium2 {package_version('pypdfium2')} (pdfium {pdfium.version.PDFIUM_INFO.build}) + {tables_name()}"


def expected_converter(data: bytes) -> str | None:
    """The name `convert` gives these bytes: OCR's for a PDF without a text layer (ocr.py)."""
    return ocr.expected_converter(data, converter_name())


def convert(data: bytes, source_format: str = "pdf") -> Converted:
    import pypdfium2 as pdfium

    if not data.lstrip()[:1024].startswith(b"%PDF") and b"%PDF" not in data[:1024]:
        raise InputError("not a PDF (no %PDF header; corrupt or another format)")
    try:
        pdf = pdfium.PdfDocument(data)
    except pdfium.PdfiumError as exc:
        message = str(exc)
        if "password" in message.lower():
            raise InputError("password-protected PDF; save a copy without the password") from exc
        # PDFium refuses a document without pages as malformed; say what it is.
        if re.search(rb"/Type\s*/Pages\b", data) and not re.search(rb"/Type\s*/Page\b", data):
            raise InputError("empty PDF (no pages)") from exc
        raise InputError(f"corrupt PDF ({' '.join(message.split())[:120]})") from exc
    try:
        if len(pdf) == 0:
            raise InputError("empty PDF (no pages)")
        pages = [page_lines(pdf, i) for i in range(len(pdf))]
        converter = converter_name()
        if not any(line.text.strip() for lines in pages for line in lines):
            if not any(len(list(pdf[i].get_objects())) for i in range(len(pdf))):
                raise InputError(f"empty PDF ({len(pdf)} blank page{'s' if len(pdf) > 1 else ''})")
            # --- OCR hook (ocr.py): no page has a text layer, so the page images are read.
            # A PDF with text on any page is never OCR'd. Without the extra: one line naming it.
            pages, converter = ocr.recognise(pdf), ocr.converter_name()
            if not any(line.text.strip() for lines in pages for line in lines):
                raise InputError("no text layer, and OCR found no text on its pages")
        else:
            # --- tables hook (pdftables.py): a table's PDFium lines become one line per row.
            pages = with_tables(data, pdf, pages)
    finally:
        pdf.close()
    body = remove_page_furniture(pages)
    text, spans = join_lines(body)
    return Converted(text=text, source_format=source_format, converter=converter, pages=spans)


def page_lines(pdf: Any, index: int) -> list[Line]:
    """The page's lines as PDFium breaks them, each with its box (font boxes, so every line of a
    size has the same height)."""
    page = pdf[index]
    textpage = page.get_textpage()
    try:
        count = textpage.count_chars()
        text = textpage.get_text_range(0, count) if count else ""
        direct = len(text) == count  # one Python character per PDFium character
        lines: list[Line] = []
        start = 0
        for raw in re.finditer(r"[^\r\n]+", text):
            piece = clean(raw.group())
            if not piece.strip():
                continue
            boxes = []
            if direct:
                for i in range(raw.start(), raw.end()):
                    if not text[i].isspace():
                        boxes.append(textpage.get_charbox(i, loose=True))
            if boxes:
                left = min(b[0] for b in boxes)
                right = max(b[2] for b in boxes)
                bottom = min(b[1] for b in boxes)
                top = max(b[3] for b in boxes)
            else:
                left = right = bottom = top = 0.0
            lines.append(Line(piece.strip(), left, right, top, bottom, index + 1))
            start = raw.end()
        del start
        return lines
    finally:
        textpage.close()
        page.close()


def _key(text: str) -> str:
    return re.sub(r"[0-9０-９]+", "#", re.sub(r"\s+", "", text))


def remove_page_furniture(pages: list[list[Line]]) -> list[Line]:
    """Every line but page numbers and running headers and footers, in page order."""
    tops = [_edge(lines, top=True) for lines in pages]
    bottoms = [_edge(lines, top=False) for lines in pages]
    furniture: set[int] = set()
    for edges in (tops, bottoms):
        counts: dict[str, int] = {}
        for lines in edges:
            for key in {_key(line.text) for line in lines}:
                counts[key] = counts.get(key, 0) + 1
        threshold = max(2, (len(pages) + 1) // 2)
        for lines in edges:
            # From the edge inwards, while each line is a page number or recurs at this edge;
            # one line per text and page (a title below a running header that repeats it stays).
            removed: set[str] = set()
            for line in lines:
                key = _key(line.text)
                if key not in removed and (PAGE_NUMBER.fullmatch(key) or counts.get(key, 0) >= threshold):
                    furniture.add(id(line))
                    removed.add(key)
                else:
                    break
    return [line for lines in pages for line in lines if id(line) not in furniture]


def _edge(lines: list[Line], top: bool) -> list[Line]:
    """The lines nearest the top (or bottom) edge of the page, nearest first."""
    ordered = sorted(lines, key=lambda line: -line.top if top else line.bottom)
    return ordered[:EDGE_LINES]


def join_lines(lines: list[Line]) -> tuple[str, tuple[PageSpan, ...]]:
    """The text with wrapped lines joined, and each page's character range in it."""
    if not lines:
        return "", ()
    em = _em(lines)
    left_margin = _margin(lines, em)
    right_margin = statistics.quantiles([line.right for line in lines], n=20)[-1] if len(lines) > 1 else lines[0].right
    indents_paragraphs = _indents_first_lines(lines, left_margin, em)
    parts: list[str] = []
    length = 0
    page_ranges: dict[int, list[int]] = {}
    previous: Line | None = None
    for line in lines:
        if previous is not None:
            sep = joiner(previous.text, line.text) if _continues(previous, line, em, left_margin, right_margin,
                                                                  indents_paragraphs) else "\n"
            parts.append(sep)
            length += len(sep)
        span = page_ranges.setdefault(line.page, [length, length])
        parts.append(line.text)
        length += len(line.text)
        span[1] = length
        previous = line
    return "".join(parts), tuple((page, start, end) for page, (start, end) in sorted(page_ranges.items()))


def _continues(previous: Line, line: Line, em: float, left_margin: float, right_margin: float,
               indents_paragraphs: bool) -> bool:
    if previous.table_row or line.table_row:  # tables hook: a row is a line of its own
        return False
    if starts_item(line.text):
        return False
    if previous.right < right_margin - 1.5 * em:
        return False  # the line before ended short: a title, a signature, a paragraph's last line
    indented = line.left > left_margin + 0.8 * em
    if indents_paragraphs:
        return not indented
    return not indented and not ends_sentence(previous.text)


def _em(lines: list[Line]) -> float:
    """The typical character advance: a line's width over its characters (CJK are one em each)."""
    widths = [(line.right - line.left) / len(line.text) for line in lines if len(line.text) >= 8 and line.right > line.left]
    return statistics.median(widths) if widths else 10.0


def _margin(lines: list[Line], em: float) -> float:
    """The left edge most lines start at (continuation lines start at the margin)."""
    buckets: dict[int, int] = {}
    for line in lines:
        bucket = round(line.left / max(em / 2, 1.0))
        buckets[bucket] = buckets.get(bucket, 0) + 1
    best = max(buckets.items(), key=lambda kv: (kv[1], -kv[0]))[0]
    return min(line.left for line in lines if round(line.left / max(em / 2, 1.0)) == best)


def _indents_first_lines(lines: list[Line], left_margin: float, em: float) -> bool:
    """Does the document mark paragraphs by indenting their first line? Evidence: lines after a
    sentence-final line that start indented, while continuation lines start at the margin."""
    after_final = [line for prev, line in pairwise(lines) if ends_sentence(prev.text) and not starts_item(line.text)]
    if len(after_final) < 2:
        return False
    indented = sum(1 for line in after_final if line.left > left_margin + 0.8 * em)
    return indented >= len(after_final) / 2
