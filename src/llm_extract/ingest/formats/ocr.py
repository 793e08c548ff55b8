"""Scanned PDFs (pages that are only images): OCR, offline, with RapidOCR (rapidocr_onnxruntime,
Apache-2.0) on ONNX Runtime (MIT). Its wheel ships the PP-OCRv4 detection and recognition models
and the mobile angle classifier (`rapidocr_onnxruntime/models/*.onnx`); nothing is downloaded.
Installed by the extra `pip install 'llm-extract[ocr]'`; without it a scanned PDF is refused with
one line naming the extra.

Each page is rendered by pypdfium2, recognised, and its text boxes are put back in reading order:
boxes whose vertical extents overlap form one line, read left to right; the lines, top to bottom,
are then given to the text path's own rules (page furniture, wrapped lines joined) in `pdf.py`,
with their boxes in PDF points, so a scan's paragraphs join exactly as a text PDF's do.

A misread digit is a wrong fact that no grounding check can catch (the quote is the OCR text):
every OCR'd document says so in `documents.converter` (it starts with "OCR"), and review puts
its items first.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from llm_extract.errors import InputError
from llm_extract.ingest.formats import package_version

DPI = 200  # a scan's usual resolution; RapidOCR's detector works on a page scaled to ~2000 px
EXTRA_HINT = "pip install 'llm-extract[ocr]'"
PREFIX = "OCR"  # documents.converter of an OCR'd document starts with this


@dataclass(frozen=True)
class Box:
    text: str
    left: float  # pixels of the rendered page, y downwards
    right: float
    top: float
    bottom: float


def available() -> bool:
    """Is the extra installed? (Whether it loads is found out on first use, and said then.)"""
    from importlib.util import find_spec

    return find_spec("rapidocr_onnxruntime") is not None


@lru_cache(maxsize=1)
def converter_name() -> str:
    return (f"{PREFIX} rapidocr_onnxruntime {package_version('rapidocr_onnxruntime')} "
            f"(onnxruntime {package_version('onnxruntime')}, PP-OCRv4) on pypdfium2 "
            f"{package_version('pypdfium2')} pages at {DPI} dpi")


@lru_cache(maxsize=1)
def _engine() -> Any:
    """One engine per process: loading the three models takes about a second."""
    try:
        from rapidocr_onnxruntime import RapidOCR
    except ImportError as exc:
        if exc.name in (None, "rapidocr_onnxruntime"):
            raise InputError(f"no text layer (a scanned PDF?); OCR needs the extra: {EXTRA_HINT}") from exc
        # Installed, but a library under it does not load (OpenCV wants the system's libGL).
        raise InputError(f"no text layer (a scanned PDF?); OCR is installed but does not load: {exc}") from exc
    return RapidOCR()


def recognise(pdf: Any) -> list[list[Any]]:
    """The lines (`pdf.Line`, PDF points) of every page of an open pypdfium2 document."""
    engine = _engine()
    return [page_lines(engine, pdf, index) for index in range(len(pdf))]


def page_lines(engine: Any, pdf: Any, index: int) -> list[Any]:
    import numpy as np

    from llm_extract.ingest.formats.pdf import Line  # pdf.py imports this module: its Line is there by the time this runs

    page = pdf[index]
    try:
        height = page.get_height()
        bitmap = page.render(scale=DPI / 72, grayscale=False)
        image = np.asarray(bitmap.to_pil().convert("RGB"))
    finally:
        page.close()
    # No angle classifier: it turns some upright lines of a page by 180 degrees, and the
    # recogniser then reads nothing there (a whole line lost). Pages are scanned upright.
    result, _ = engine(image, use_cls=False)
    boxes = [_box(points, tidy(text)) for points, text, _score in (result or []) if text.strip()]
    scale = 72 / DPI
    return [Line(text, b.left * scale, b.right * scale, height - b.top * scale, height - b.bottom * scale, index + 1,
                 table_row="\t" in text)
            for text, b in reading_order(boxes)]


# An edge line of dashes around a page number; the recogniser reads a dash as 一 at times.
_DASHED_NUMBER = re.compile(r"[-—–－一~]+\s*[0-9]+\s*[-—–－一~]+")


def tidy(text: str) -> str:
    """What the recogniser gets wrong by class, not by word: a page number's dashes read as 一
    ("—2一"), so page furniture is still found. The width of punctuation is left as read: some
    reports do use "," in Chinese text, and the recogniser tells the widths apart mostly."""
    text = text.strip()
    if _DASHED_NUMBER.fullmatch(text):
        text = text.replace("一", "—")
    return text


def _box(points: Sequence[Sequence[float]], text: str) -> Box:
    xs = [float(p[0]) for p in points]
    ys = [float(p[1]) for p in points]
    return Box(text.strip(), min(xs), max(xs), min(ys), max(ys))


def reading_order(boxes: Sequence[Box]) -> list[tuple[str, Box]]:
    """Boxes grouped into lines (a box joins a line when their vertical extents overlap by half
    the smaller height), lines top to bottom, boxes left to right; each line's text and box."""
    lines: list[list[Box]] = []
    for box in sorted(boxes, key=lambda b: (b.top + b.bottom) / 2):
        for line in lines:
            top = min(b.top for b in line)
            bottom = max(b.bottom for b in line)
            overlap = min(bottom, box.bottom) - max(top, box.top)
            if overlap >= 0.5 * min(bottom - top, box.bottom - box.top):
                line.append(box)
                break
        else:
            lines.append([box])
    out = []
    for line in sorted(lines, key=lambda ln: min(b.top for b in ln)):
        line.sort(key=lambda b: b.left)
        text = ""
        previous: Box | None = None
        for box in line:
            # Boxes of one line split at a gap. A wide gap (two line heights) separates a table's
            # cells: a tab, as in a text PDF's table rows. Otherwise nothing between Chinese, a
            # space between Latin letters or digits.
            if previous is not None and box.left - previous.right > 2 * (box.bottom - box.top):
                text += "\t"
            elif text and text[-1].isascii() and text[-1].isalnum() and box.text[0].isascii() and box.text[0].isalnum():
                text += " "
            text += box.text
            previous = box
        out.append((text, Box(text, min(b.left for b in line), max(b.right for b in line),
                              min(b.top for b in line), max(b.bottom for b in line))))
    return out


def expected_converter(data: bytes, text_converter: str) -> str | None:
    """What `pdf.convert` will name for these bytes, without converting them: the text path's
    name, or OCR's when no page has any text (None when PDFium cannot open the file or a page:
    the conversion then says what is wrong with it, as that file's one line)."""
    import pypdfium2 as pdfium

    try:
        pdf = pdfium.PdfDocument(data)
    except pdfium.PdfiumError:
        return None
    try:
        return _expected(pdf, text_converter)
    except pdfium.PdfiumError:
        return None
    finally:
        pdf.close()


def _expected(pdf: Any, text_converter: str) -> str:
    """The text path's name as soon as one page has text, else OCR's."""
    for index in range(len(pdf)):
        page = pdf[index]
        textpage = page.get_textpage()
        try:
            if textpage.count_chars() and textpage.get_text_range().strip():
                return text_converter
        finally:
            textpage.close()
            page.close()
    return converter_name()
