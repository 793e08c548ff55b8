"""A saved government web page: the article body, without navigation, footer and scripts.

trafilatura (Apache-2.0) finds the main content; its XML body is written out here so that every
block (<p>, heading, list item) is one line and every table row one line with its cells
separated by a tab. The page's title heads the text when the body does not contain it (portals
put the title in an <h1> above the article, and a report's title names its township and year).
"""

from __future__ import annotations

import codecs
import re
from functools import lru_cache
from typing import Any

from llm_extract.ingest.encoding import decode_bytes
from llm_extract.errors import InputError
from llm_extract.ingest.formats import Converted, package_version
from llm_extract.ingest.formats.text import clean, ends_sentence, joiner

# The HTML5 prescan in short: a charset declared in the first 2 KiB of a page (meta charset or
# http-equiv content type). Government portals still serve GB2312/GBK pages that declare it.
DECLARED = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([A-Za-z0-9_\-:.]+)""", re.IGNORECASE)
# What a page may declare, read as the superset the browser uses for it.
SUPERSETS = {"gb2312": "gb18030", "gbk": "gb18030", "x-gbk": "gb18030", "gb_2312-80": "gb18030",
             "big5": "big5hkscs", "iso-8859-1": "cp1252", "latin1": "cp1252", "ascii": "cp1252"}
BLOCKS = {"p", "head", "item", "quote", "code", "div", "list", "table", "row"}


@lru_cache(maxsize=1)  # asked once per file on a re-run; the answer is fixed for the process
def converter_name() -> str:
    return f"trafilatura {package_version('trafilatura')}"


def decode_page(data: bytes) -> str:
    if data.startswith((codecs.BOM_UTF8, codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return decode_bytes(data)
    declared = DECLARED.search(data[:2048])
    if declared:
        name = declared.group(1).decode("ascii").lower()
        try:
            codec = codecs.lookup(SUPERSETS.get(name, name)).name
        except LookupError:
            codec = None
        if codec is not None:
            try:
                return data.decode(codec)
            except UnicodeDecodeError:
                pass  # a wrong declaration: decide by evidence below
    return decode_bytes(data)


def convert(data: bytes, source_format: str = "html") -> Converted:
    if not data.strip():
        raise InputError("empty file")
    page = clean(decode_page(data))
    if "<" not in page[:4096]:
        raise InputError("not an HTML page (no markup)")
    import trafilatura

    try:
        found = trafilatura.bare_extraction(page, include_tables=True, include_comments=False, include_images=False,
                                            include_links=False, with_metadata=True, deduplicate=False)
    except Exception as exc:  # lxml cannot parse it at all
        raise InputError(f"unreadable HTML ({type(exc).__name__}: {' '.join(str(exc).split())[:100]})") from exc
    body = getattr(found, "body", None)
    if body is None:
        raise InputError("no article text found in the page (only navigation or footer, or nothing)")
    lines = body_lines(body)
    # A report's body is sentences. What is left of a page without any (navigation, a footer) is
    # not one: typically the article was to be loaded by JavaScript and the saved page lacks it.
    if not any(ends_sentence(line) or "。" in line for line in lines):
        raise InputError("no article text found in the page (only navigation or footer; "
                         "was the article loaded by JavaScript? save the page after it shows)")
    title = " ".join((getattr(found, "title", None) or "").split())
    if title:
        stated = [i for i, line in enumerate(lines[:12]) if _squash(title) in _squash(line)]
        if not stated:
            lines.insert(0, title)  # the title is in the page's head only
        elif stated[0] == 0 and len(stated) > 1 and _squash(lines[0]) == _squash(title):
            del lines[0]  # the portal's heading above a document that states its own title (below its issuer lines)
    text = "\n".join(lines)
    return Converted(text=text, source_format=source_format, converter=converter_name())


def body_lines(body: Any) -> list[str]:
    lines: list[str] = []
    for block in body:
        _block(block, lines)
    return [line for line in lines if line.strip()]


def _block(el: Any, lines: list[str]) -> None:
    tag = el.tag if isinstance(el.tag, str) else ""
    if tag == "table":
        for row in el.iter("row"):
            cells = [_inline(cell).replace("\t", " ") for cell in row if cell.tag == "cell"]
            lines.append("\t".join(cells))
        return
    if tag in ("list", "div") or any(isinstance(c.tag, str) and c.tag in BLOCKS for c in el):
        if el.text and el.text.strip():
            lines.append(_normalise(el.text))
        for child in el:
            _block(child, lines)
            if child.tail and child.tail.strip():
                lines.append(_normalise(child.tail))
        return
    lines.extend(_inline(el).split("\n"))


def _inline(el: Any) -> str:
    """A block's text, with <lb/> as a line break and inline markup flattened."""
    parts: list[str] = [el.text or ""]
    for child in el:
        if child.tag == "lb":
            parts.append("\x00")  # clean() removed every NUL of the page: this one is a <br>
        else:
            parts.append(_inline(child))
        parts.append(child.tail or "")
    return "\n".join(_normalise(line) for line in "".join(parts).split("\x00"))


def _normalise(text: str) -> str:
    """Whitespace as a browser shows it: runs collapsed, none at the ends of a line; a line that
    HTML source wrapped inside a Chinese sentence is joined without a space."""
    pieces = [piece for piece in re.split(r"[ \t\r\n\f\u00a0\u3000]*\n[ \t\r\n\f\u00a0\u3000]*", text)]
    out = ""
    for piece in pieces:
        piece = re.sub(r"[ \t\f\u00a0]+", " ", piece).strip(" \u3000")
        if not piece:
            continue
        out = out + joiner(out, piece) + piece if out else piece
    return out


def _squash(text: str) -> str:
    return re.sub(r"\s+", "", text)
