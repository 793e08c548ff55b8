"""Report files in other formats than plain text, converted to the one canonical text.

One module per format; this registry maps a file suffix to its converter. A converter takes the
file's bytes (the same bytes whose sha256 is the doc_id) and returns a `Converted`: the text every
offset will point into, the converter's name and version, and where the format says so the page
of each character range and the character ranges that the converter generated rather than read
(Word's automatic list numbering). Every failure is an `InputError` with the reason in one line.

Dependency direction: formats imports only `errors`, `encoding` and itself; never the store, the
CLI or the model code.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import import_module, metadata

from llm_extract.errors import InputError

# (page, char_start, char_end): characters [char_start, char_end) of the text are on page `page` (1-based).
PageSpan = tuple[int, int, int]
# [start, end) of characters the converter generated (a list label such as "（三）", "1."): shown to
# readers, never read as a number of the report.
Span = tuple[int, int]


@dataclass(frozen=True)
class Converted:
    text: str
    source_format: str  # "docx", "pdf", "html", "doc", "wps"
    converter: str  # name and version of what produced the text, e.g. "pypdfium2 5.15.2 (pdfium 159.0…)"
    pages: tuple[PageSpan, ...] = ()
    generated: tuple[Span, ...] = ()



# suffix -> (source format, module in this package). The modules are imported on first use: a
# run over .txt files never loads pdfium or lxml.
FORMATS: dict[str, tuple[str, str]] = {
    ".docx": ("docx", "docx"),
    ".pdf": ("pdf", "pdf"),
    ".html": ("html", "html"),
    ".htm": ("html", "html"),
    ".doc": ("doc", "office"),
    ".wps": ("wps", "office"),
}
SUFFIXES = tuple(FORMATS)


def convert(data: bytes, suffix: str) -> Converted:
    """The canonical text of a file in one of FORMATS; InputError with the reason otherwise."""
    try:
        source_format, module_name = FORMATS[suffix.lower()]
    except KeyError:
        raise InputError(f"unsupported file type {suffix!r}") from None
    module = import_module(f"{__name__}.{module_name}")
    try:
        converted: Converted = module.convert(data, source_format)
    except InputError:
        raise
    except Exception as exc:
        # Whatever a converter library raises on a file it cannot read (PDFium on a page tree
        # that points at itself, lxml on XML nested too deep, a MemoryError) is this file's
        # failure, one line, never the run's end.
        said = " ".join(str(exc).split())[:160]
        raise InputError(f"cannot read this {source_format} file ({type(exc).__name__}{': ' + said if said else ''})") from exc
    if not converted.text.strip():
        raise InputError(f"no text in this {source_format} file")
    return converted


def expected_converter(data: bytes, suffix: str) -> str | None:
    """The converter (name and version) that `convert` would name for these bytes, without
    converting them: a re-run decides "unchanged" from the bytes alone. None when it cannot be
    told without converting (the file is then judged by its bytes only)."""
    try:
        source_format, module_name = FORMATS[suffix.lower()]
    except KeyError:
        return None
    module = import_module(f"{__name__}.{module_name}")
    # A format whose converter does not depend on the bytes names itself; office (.doc/.wps)
    # depends on them (a .docx under an old name skips LibreOffice) and says so.
    expected: str | None = (module.expected_converter(data) if hasattr(module, "expected_converter")
                            else module.converter_name())
    return expected


def package_version(name: str) -> str:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return "?"


def our_version() -> str:
    return package_version("llm-extract")
