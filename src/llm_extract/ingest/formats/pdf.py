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
  paragraphs) breaks after sentence-final punctuation. "Short" is measured against what the next
  line starts with: a line ended short if the next line's first word would have fitted in the
  room left (a typesetter that keeps a number whole moves all of 1024.75万元 down, leaving a gap
  wider than one character), in ems of the line's own font size;
- Chinese has no hyphens and no spaces at a wrap, and a wrap may fall anywhere, also inside a
  number (43 set as 4 | 3项, 92.42% as 92. | 42%): lines are joined with nothing, with one
  space only between two Latin letters (an English word wrap), never between two digits;
- inside a line, the spaces PDFium generates from gaps between glyphs (justified lines, the
  extra room a typesetter puts between Chinese and Latin text) are not the report's: they are
  dropped, except between two Latin letters or across a gap of a character or more (a table's
  columns). Spaces written in the PDF are kept.
"""

from __future__ import annotations

import re
import statistics
import zlib
from dataclasses import dataclass
from functools import lru_cache
from itertools import pairwise
from typing import Any

from llm_extract.errors import InputError
from llm_extract.ingest.formats import Converted, PageSpan, ocr, package_version
from llm_extract.ingest.formats.pdftables import tables_name, with_tables
from llm_extract.ingest.formats.text import CLOSERS, clean, ends_sentence, starts_item

PAGE_NUMBER = re.compile(
    r"[-—–－~·•\s]*(?:第\s*#+\s*页(?:\s*[,，/／]?\s*共\s*#+\s*页)?|#+(?:\s*[/／]\s*#+)?|page\s*#+(?:\s*of\s*#+)?)[-—–－~·•\s]*",
    re.IGNORECASE)
EDGE_LINES = 2  # lines looked at from each edge of a page for headers, footers and page numbers
# The text a report may have (as documents.MAX_BYTES for plain text), and what the streams PDFium
# parses for it (contents, fonts, object streams; images are not decoded for text) may inflate to:
# a report's are a few MiB, a compressed-stream bomb's gigabytes.
MAX_TEXT = 5 * 1024 * 1024
MAX_INFLATED = 128 * 1024 * 1024
STREAM = re.compile(rb"stream\r?\n")
IMAGE = re.compile(rb"/Subtype\s*/Image")
FLATE = re.compile(rb"/(?:FlateDecode|Fl)\b")
# Marks that may not start a line (a typesetter carries the character before them down too).
NO_LINE_START = CLOSERS + "，。、；：？！,.;:?!%‰℃"
_CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")
_LATIN = re.compile(r"[A-Za-z]")


@dataclass
class Line:
    text: str
    left: float
    right: float
    top: float
    bottom: float
    page: int  # 1-based
    table_row: bool = False  # a table's row (pdftables.py): cells tab-separated, never joined
    em: float = 0.0  # the advance of one Chinese character in this line's font size; 0 if none
    lead: float = 0.0  # width of the line's first word: what a short line before it had no room for


@dataclass(frozen=True)
class _Char:
    ch: str
    box: tuple[float, float, float, float]  # left, bottom, right, top
    generated: bool  # PDFium made it up (a space for a gap between glyphs)


@lru_cache(maxsize=1)  # asked once per file on a re-run; the answer is fixed for the process
def converter_name() -> str:
    import pypdfium2 as pdfium

    return f"pypdfium2 {package_version('pypdfium2')} (pdfium {pdfium.version.PDFIUM_INFO.build}) + {tables_name()}"


def expected_converter(data: bytes) -> str | None:
    """The name `convert` gives these bytes: OCR's for a PDF without a text layer (ocr.py).
    None for bytes `convert` refuses before PDFium parses them (a compressed bomb): the
    conversion says so, as that file's one line."""
    try:
        check_inflated(data)
    except InputError:
        return None
    return ocr.expected_converter(data, converter_name())


def convert(data: bytes, source_format: str = "pdf") -> Converted:
    import pypdfium2 as pdfium

    if not data.lstrip()[:1024].startswith(b"%PDF") and b"%PDF" not in data[:1024]:
        raise InputError("not a PDF (no %PDF header; corrupt or another format)")
    check_inflated(data)
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
        pages = []
        chars = 0
        for i in range(len(pdf)):  # bounded as it grows, not once it is all in memory
            pages.append(page_lines(pdf, i))
            chars += sum(len(line.text) + 1 for line in pages[-1])
            if chars > MAX_TEXT:
                raise InputError(f"its text is over {MAX_TEXT:,} characters by page {i + 1}; reports are refused above that")
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


def check_inflated(data: bytes, limit: int = MAX_INFLATED) -> None:
    """InputError when the Flate streams that are not images inflate to more than `limit` in
    all; counted while inflating, a chunk at a time, so the check itself holds no more than one."""
    total = 0
    for match in STREAM.finditer(data):
        head = data[max(0, match.start() - 4096):match.start()]
        dictionary = head[head.rfind(b"obj"):] if b"obj" in head else head
        if not FLATE.search(dictionary) or IMAGE.search(dictionary):
            continue
        total += _inflated(data, match.end(), limit - total)
        if total > limit:
            raise InputError(f"its compressed streams inflate to over {limit // 2**20} MiB; refused "
                             "(a report's are a few MiB)")


def _inflated(data: bytes, start: int, budget: int) -> int:
    """Bytes the zlib stream at data[start:] inflates to, up to just over budget."""
    inflater = zlib.decompressobj()
    size = 0
    pos = start
    try:
        while not inflater.eof and pos < len(data) and size <= budget:
            pending = data[pos:pos + 2**16]
            pos += 2**16
            while pending and not inflater.eof and size <= budget:
                size += len(inflater.decompress(pending, 2**20))
                pending = inflater.unconsumed_tail
    except zlib.error:
        pass  # a damaged stream: PDFium says what it makes of it
    return size


def page_lines(pdf: Any, index: int) -> list[Line]:
    """The page's lines as PDFium breaks them, each with its box (font boxes, so every line of a
    size has the same height), its em and the width of its first word."""
    import pypdfium2.raw as pdfium_c

    page = pdf[index]
    textpage = page.get_textpage()
    try:
        count = textpage.count_chars()
        text = textpage.get_text_range(0, count) if count else ""
        direct = len(text) == count  # one Python character per PDFium character
        lines: list[Line] = []
        for raw in re.finditer(r"[^\r\n]+", text):
            if not direct:
                piece = clean(raw.group()).strip()
                if piece:
                    lines.append(Line(piece, 0.0, 0.0, 0.0, 0.0, index + 1))
                continue
            chars = [_Char(text[i], tuple(textpage.get_charbox(i, loose=True)),
                           bool(pdfium_c.FPDFText_IsGenerated(textpage.raw, i)))
                     for i in range(raw.start(), raw.end())]
            line = _line(chars, index + 1)
            if line is not None:
                lines.append(line)
        return lines
    finally:
        textpage.close()
        page.close()


def _line(chars: list[_Char], page: int) -> Line | None:
    """One line from its characters, left to right: generated spaces dropped where they are no
    word space."""
    chars = _left_to_right(chars)
    ems = sorted(c.box[2] - c.box[0] for c in chars if _CJK.match(c.ch))
    em = ems[len(ems) // 2] if ems else 0.0
    # The inked characters before and after each position, found in one pass each way.
    before: list[_Char | None] = []
    last: _Char | None = None
    for c in chars:
        before.append(last)
        last = c if not c.ch.isspace() else last
    after: list[_Char | None] = [None] * len(chars)
    following: _Char | None = None
    for i in range(len(chars) - 1, -1, -1):
        after[i] = following
        following = chars[i] if not chars[i].ch.isspace() else following
    kept = [c for i, c in enumerate(chars)
            if not (c.generated and c.ch.isspace() and not _word_space(before[i], after[i], em))]
    text = clean("".join(c.ch for c in kept))
    if not text.strip() or len(text) != len(kept):
        return _plain(text, chars, page, em) if text.strip() else None
    first = len(text) - len(text.lstrip())
    last = len(text.rstrip())
    body = kept[first:last]
    inked = [c for c in body if not c.ch.isspace()]
    left = min(c.box[0] for c in inked)
    right = max(c.box[2] for c in inked)
    bottom = min(c.box[1] for c in inked)
    top = max(c.box[3] for c in inked)
    return Line(text.strip(), left, right, top, bottom, page, em=em, lead=_lead(body, left))


def _left_to_right(chars: list[_Char]) -> list[_Char]:
    """The characters of a horizontal line in the order they stand on it. A PDF may draw a line
    in pieces out of order (LibreOffice draws a line's quotation marks, set in another font,
    after its Chinese text); PDFium reads the content stream's order. A line whose characters do
    not all share one band of height (text rotated on the page) keeps PDFium's order."""
    inked = [c for c in chars if not c.ch.isspace()]
    if len(inked) < 2:
        return chars
    low = max(c.box[1] for c in inked)
    high = min(c.box[3] for c in inked)
    if low >= high:
        return chars  # no common band: not a horizontal line
    return sorted(chars, key=lambda c: c.box[0])  # stable: ties keep PDFium's order


def _plain(text: str, chars: list[_Char], page: int, em: float) -> Line:
    """A line whose cleaned text no longer lines up with its characters: its box, no first word."""
    inked = [c for c in chars if not c.ch.isspace()] or chars
    return Line(text.strip(), min(c.box[0] for c in inked), max(c.box[2] for c in inked),
                max(c.box[3] for c in inked), min(c.box[1] for c in inked), page, em=em)


def _word_space(before: _Char | None, after: _Char | None, em: float) -> bool:
    """Is a space PDFium generated between these characters a real separation? Between two
    Latin letters (English set with positioned words) or across a gap of at least a character
    (columns); not a justified line's or an autospace's extra room beside Chinese, and never
    inside a number."""
    if before is None or after is None:
        return False  # at the line's ends: stripped anyway
    if _LATIN.match(before.ch) and _LATIN.match(after.ch):
        return True
    height = min(before.box[3] - before.box[1], after.box[3] - after.box[1])
    return after.box[0] - before.box[2] >= (em or height)


def _lead(chars: list[_Char], left: float) -> float:
    """The width of the line's first word, as a typesetter would have moved it down whole: a run
    of Latin text (letters, digits and their marks: 92.42%, 1-2, 2,306) with the character after
    it (a number keeps its unit), or one Chinese character; with the marks before and after it
    that may not start a line (”312名，)."""
    i = 0
    while i < len(chars) and chars[i].ch in NO_LINE_START:
        i += 1
    while i < len(chars) and chars[i].ch.isascii() and not chars[i].ch.isspace():
        i += 1
    i = min(i + 1, len(chars))  # the character after the run, or the one character
    while i < len(chars) and chars[i].ch in NO_LINE_START:
        i += 1
    return max(chars[i - 1].box[2] - left, 0.0) if i else 0.0


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
            sep = wrap_joiner(previous.text, line.text) if _continues(previous, line, em, left_margin, right_margin,
                                                                       indents_paragraphs) else "\n"
            parts.append(sep)
            length += len(sep)
        span = page_ranges.setdefault(line.page, [length, length])
        parts.append(line.text)
        length += len(line.text)
        span[1] = length
        previous = line
    return "".join(parts), tuple((page, start, end) for page, (start, end) in sorted(page_ranges.items()))


def wrap_joiner(before: str, after: str) -> str:
    """What goes between a wrapped line and its continuation: nothing (Chinese has no spaces and
    no hyphens, and a wrap inside 92.42% or 1-2次 is inside one number), one space only between
    two Latin letters, where an English text wrapped at a space."""
    a, b = before[-1:], after[:1]
    return " " if _LATIN.match(a) and _LATIN.match(b) else ""


def _continues(previous: Line, line: Line, em: float, left_margin: float, right_margin: float,
               indents_paragraphs: bool) -> bool:
    if previous.table_row or line.table_row:  # tables hook: a row is a line of its own
        return False
    if starts_item(line.text):
        return False
    line_em = line.em or previous.em or em
    # The line before ended short (a title, a signature, a paragraph's last line) when this
    # line's first word would have fitted in the room it left; a line without geometry has one em.
    room = right_margin - previous.right
    if room > max(line.lead, line_em) + 0.5 * line_em:
        return False
    indented = line.left > left_margin + 0.8 * line_em
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
