"""Word .docx: paragraphs and tables in reading order, with Word's automatic numbering as text.

python-docx opens the package (relationships, content types); the body is walked here, because
python-docx drops list numbering, which Chinese reports use for every heading. Generated labels
are recorded as generated character ranges: shown, never read as numbers of the report.
Tables become one line per row, cells separated by a tab.
"""

from __future__ import annotations

import io
import zipfile
from functools import lru_cache
from typing import Any

from llm_extract.errors import InputError
from llm_extract.ingest.formats import Converted, our_version, package_version
from llm_extract.ingest.formats.docxparts import append_parts
from llm_extract.ingest.formats.numbering import Numbering, W
from llm_extract.ingest.formats.text import TextBuilder, clean, joiner

CFB_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # OLE compound file: .doc, .wps, or an encrypted Office file
ENCRYPTED_STREAM = "EncryptedPackage".encode("utf-16-le")
# All parts of the package, uncompressed (python-docx holds them all in memory and parses the XML
# ones); a report's are well under 10 MiB, photos included a few tens. A zip bomb is refused
# before anything is parsed.
MAX_XML_BYTES = 64 * 1024 * 1024
CHUNK = 1024 * 1024
MC = "{http://schemas.openxmlformats.org/markup-compatibility/2006}"
# Containers whose children are body content (content controls, custom XML, smart tags, revisions kept;
# a table cell wrapped in a content control).
_TRANSPARENT = {W + "sdt", W + "sdtContent", W + "tc", W + "customXml", W + "smartTag", W + "ins", W + "moveTo", W + "hyperlink",
                W + "fldSimple", W + "dir", W + "bdo"}
# Text that is not shown: deleted revisions, moved-away text, the fallback copy of drawings.
_SKIP = {W + "del", W + "moveFrom", W + "instrText", W + "delText", MC + "Fallback", W + "pict", W + "footnoteReference",
         W + "endnoteReference", W + "commentReference"}


@lru_cache(maxsize=1)  # asked once per file on a re-run; the answer is fixed for the process
def converter_name() -> str:
    return f"python-docx {package_version('python-docx')} + llm-extract {our_version()} numbering"


def check_package(data: bytes, what: str = "a .docx") -> None:
    """The one-line reason a file is not a readable Word package, or nothing."""
    if data.startswith(CFB_MAGIC):
        if ENCRYPTED_STREAM in data:
            raise InputError("password-protected Office file; save it again without a password")
        raise InputError(f"an old-format Word/WPS file (OLE compound file), not {what}; rename it .doc")
    if not zipfile.is_zipfile(io.BytesIO(data)):
        raise InputError(f"not {what} (not a zip package; corrupt or another format)")
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            names = {info.filename: info for info in archive.infolist()}
            if "[Content_Types].xml" not in names or not any(n.startswith("word/") for n in names):
                raise InputError(f"a zip file, not {what} (no Word document inside)")
            _check_sizes(archive)
    except zipfile.BadZipFile as exc:
        raise InputError(f"corrupt .docx ({exc})") from exc
    except (OSError, EOFError, NotImplementedError, RuntimeError) as exc:  # zlib, an unknown method, encryption
        raise InputError(f"corrupt .docx ({type(exc).__name__}: {' '.join(str(exc).split())[:120]})") from exc


def _check_sizes(archive: zipfile.ZipFile) -> None:
    """Every part, whatever its name (python-docx parses a part by its content type, so a main
    document called word/document.bin is XML too), bounded before anything is parsed: by the
    sizes the zip declares, then by the bytes each part really inflates to, counted while
    streaming it (a declared size can lie), with its checksum checked."""
    infos = archive.infolist()
    declared = sum(info.file_size for info in infos)
    if declared > MAX_XML_BYTES:
        raise InputError(f"its parts inflate to {declared / 2**20:.0f} MiB; refused (a report's are a few MiB)")
    total = 0
    for info in infos:
        with archive.open(info) as part:
            while chunk := part.read(CHUNK):
                total += len(chunk)
                if total > MAX_XML_BYTES:
                    raise InputError(f"its parts inflate to over {MAX_XML_BYTES / 2**20:.0f} MiB; refused "
                                     "(a report's are a few MiB)")


def convert(data: bytes, source_format: str = "docx") -> Converted:
    check_package(data)
    import docx  # python-docx: imported only when a .docx is read
    from docx.opc.exceptions import PackageNotFoundError

    try:
        document = docx.Document(io.BytesIO(data))
    except (PackageNotFoundError, KeyError, ValueError, zipfile.BadZipFile) as exc:
        raise InputError(f"not a readable .docx ({' '.join(str(exc).split())[:120]})") from exc
    except Exception as exc:  # lxml's XMLSyntaxError and the like: a damaged part
        raise InputError(f"corrupt .docx ({type(exc).__name__}: {' '.join(str(exc).split())[:120]})") from exc
    part = document.part
    try:
        numbering_xml = part.numbering_part.element
    except (NotImplementedError, KeyError):
        numbering_xml = None
    numbering = Numbering(numbering_xml, document.styles.element)
    text, generated = body_text(document.element.body, numbering)
    # Headers, footers and notes that carry report text, after the body (docxparts.py).
    text, generated = append_parts(text, generated, part, document.element.body, numbering)
    return Converted(text=text, source_format=source_format, converter=converter_name(), generated=generated)


def body_text(body: Any, numbering: Numbering) -> tuple[str, tuple[tuple[int, int], ...]]:
    out = TextBuilder()
    _blocks(body, numbering, out)
    text = out.text()
    # Lines end with "\n"; a trailing one belongs to no one. Generated spans lie before it.
    return text.rstrip("\n"), tuple(out.generated)


def _blocks(parent: Any, numbering: Numbering, out: TextBuilder) -> None:
    for child in parent:
        tag = child.tag
        if tag == W + "p":
            _paragraph(child, numbering, out)
        elif tag == W + "tbl":
            _table(child, numbering, out)
        elif tag in _TRANSPARENT:
            _blocks(child, numbering, out)


def _paragraph(p: Any, numbering: Numbering, out: TextBuilder) -> None:
    boxes: list[Any] = []
    runs = clean(_runs_text(p, boxes))
    label = numbering.label(p)
    if runs.strip():  # an empty paragraph adds no line (a numbered one still counted, as Word counts it)
        if label is not None:
            mark, suffix = label
            out.add(mark + suffix, generated=True)
        out.add(runs.rstrip())
        out.add("\n")
    for box in boxes:  # text boxes: their paragraphs follow the paragraph that anchors them
        _blocks(box, numbering, out)


def _runs_text(el: Any, boxes: list[Any]) -> str:
    parts: list[str] = []
    for child in el:
        tag = child.tag
        if tag in _SKIP or tag == W + "pPr" or tag == W + "rPr":
            continue
        if tag == W + "r":
            rpr = child.find(W + "rPr")
            if rpr is not None and rpr.find(W + "vanish") is not None and _on(rpr.find(W + "vanish")):
                continue  # hidden text is not part of the report as shown
            parts.append(_run(child, boxes))
        elif tag == W + "txbxContent":
            boxes.append(child)
        else:
            parts.append(_runs_text(child, boxes))
    return "".join(parts)


def _run(run: Any, boxes: list[Any]) -> str:
    parts = []
    for child in run:
        tag = child.tag
        if tag == W + "t":
            parts.append(child.text or "")
        elif tag == W + "tab" or tag == W + "ptab":
            parts.append("\t")
        elif tag == W + "br":
            if child.get(W + "type") in (None, "textWrapping"):
                parts.append("\n")
        elif tag == W + "cr":
            parts.append("\n")
        elif tag == W + "noBreakHyphen":
            parts.append("-")
        elif tag in _SKIP:
            continue
        else:  # drawings and alternate content may hold text boxes
            for box in child.iter(W + "txbxContent"):
                if not any(a.tag in _SKIP for a in box.iterancestors()):
                    boxes.append(box)
    return "".join(parts)


def _on(el: Any) -> bool:
    return el.get(W + "val", "true") not in ("0", "false", "off")


def _table(tbl: Any, numbering: Numbering, out: TextBuilder) -> None:
    """One line per row; cells separated by a tab; a cell's paragraphs joined as wrapped lines."""
    for row in tbl.iter(W + "tr"):
        if _enclosing_table(row) is not tbl:
            continue  # a nested table's rows are read inside their cell
        cells = [c for c in row if c.tag in (W + "tc", W + "sdt")]
        for i, cell in enumerate(cells):
            if i:
                out.add("\t")
            _cell(cell, numbering, out)
        out.add("\n")


def _enclosing_table(row: Any) -> Any:
    for ancestor in row.iterancestors():
        if ancestor.tag == W + "tbl":
            return ancestor
    return None


def _cell(cell: Any, numbering: Numbering, out: TextBuilder) -> None:
    """A cell's paragraphs on one line, joined as wrapped lines; its generated labels move with them."""
    inner = TextBuilder()
    _blocks(cell, numbering, inner)
    pieces: list[str] = []
    line_starts: list[tuple[int, int]] = []  # (start in the cell's own text, start on the joined line)
    old = new = 0
    for line in inner.text().split("\n"):
        sep = joiner(pieces[-1], line) if pieces and line else ""
        new += len(sep)
        line_starts.append((old, new))
        pieces.append(sep + line)
        old += len(line) + 1
        new += len(line)
    base = out.length
    for start, end in inner.generated:
        old_start, new_start = max(ls for ls in line_starts if ls[0] <= start)
        out.generated.append((base + new_start + start - old_start, base + new_start + end - old_start))
    # A tab inside a cell would read as a cell boundary; same length, so the spans stay put.
    joined = "".join(pieces).replace("\t", " ")
    out.parts.append(joined)
    out.length += len(joined)
