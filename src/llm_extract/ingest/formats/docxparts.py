"""The parts of a .docx beside its body where users put report text: headers, footers, footnotes
and endnotes. Text boxes need nothing here: `docx.py` reads a text box's paragraphs right after
the paragraph that anchors it (its anchor position), in the body and in these parts alike.

All of it comes after the body, never inside it, so the body's order (its title first, its
sections in order) is exactly Word's: headers (in the order the sections reference them), then
footers, then footnotes and endnotes in the order of their ids (Word numbers notes as they are
referenced). A paragraph is left out when it carries no report text of its own: a page number
(`- 3 -`, `第3页 共9页`, a PAGE field's result), or a line the body already has (a running header
repeating the title). Each note starts with its generated mark ("注1："), recorded as generated
text, so its digit is never read as a number of the report.
"""

from __future__ import annotations

import re
from typing import Any

from llm_extract.ingest.formats.numbering import Numbering, W
from llm_extract.ingest.formats.text import TextBuilder

HEADER = "/relationships/header"
FOOTER = "/relationships/footer"
FOOTNOTES = "/relationships/footnotes"
ENDNOTES = "/relationships/endnotes"
R_ID = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}id"
_NOTE_TYPES_SKIPPED = {"separator", "continuationSeparator", "continuationNotice"}


def part_paragraphs(document_part: Any, body: Any, numbering: Numbering) -> list[tuple[str, list[tuple[int, int]]]]:
    """The paragraphs of headers, footers and notes that carry report text, in output order, each
    as (text, generated spans within it). `body` is the document's w:body (for the order in which
    sections reference their headers and footers)."""
    from llm_extract.ingest.formats import docx as docx_format

    rels = {rel.rId: rel for rel in document_part.rels.values() if not rel.is_external}
    out: list[tuple[str, list[tuple[int, int]]]] = []
    for kind in ("headerReference", "footerReference"):
        seen: set[str] = set()
        for ref in body.iter(W + kind):
            rid = ref.get(R_ID)
            if rid in seen or rid not in rels:
                continue
            seen.add(rid)
            out += _story(_xml(rels[rid].target_part), numbering, docx_format)
    for suffix, tag, mark in ((FOOTNOTES, "footnote", "注{}："), (ENDNOTES, "endnote", "尾注{}：")):
        for rel in rels.values():
            if rel.reltype.endswith(suffix):
                out += _notes(_xml(rel.target_part), tag, mark, numbering, docx_format)
    return out


def _xml(part: Any) -> Any:
    element = getattr(part, "element", None)
    if element is not None:
        return element
    from lxml import etree

    return etree.fromstring(part.blob, etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False))


def _story(root: Any, numbering: Numbering, docx_format: Any) -> list[tuple[str, list[tuple[int, int]]]]:
    builder = TextBuilder()
    docx_format._blocks(root, numbering, builder)
    return _lines(builder)


def _notes(root: Any, tag: str, mark: str, numbering: Numbering, docx_format: Any) -> list[tuple[str, list[tuple[int, int]]]]:
    out = []
    number = 0
    for note in root.iter(W + tag):
        if note.get(W + "type") in _NOTE_TYPES_SKIPPED:
            continue
        number += 1
        builder = TextBuilder()
        docx_format._blocks(note, numbering, builder)
        lines = _lines(builder)
        if not lines:
            continue
        label = mark.format(number)
        text, spans = lines[0]
        out.append((label + text, [(0, len(label))] + [(s + len(label), e + len(label)) for s, e in spans]))
        out += lines[1:]
    return out


def _lines(builder: TextBuilder) -> list[tuple[str, list[tuple[int, int]]]]:
    text = builder.text()
    out = []
    start = 0
    for line in text.split("\n"):
        end = start + len(line)
        spans = [(s - start, e - start) for s, e in builder.generated if start <= s and e <= end]
        if line.strip():
            out.append((line, spans))
        start = end + 1
    return out


def carries_text(line: str, spans: list[tuple[int, int]], body_lines: set[str]) -> bool:
    """Not a page number, not a line the body already has, not only generated text."""
    from llm_extract.ingest.formats.pdf import PAGE_NUMBER

    own = "".join(ch for i, ch in enumerate(line) if not any(s <= i < e for s, e in spans))
    squashed = re.sub(r"\s+", "", own)
    if not squashed:
        return False
    if PAGE_NUMBER.fullmatch(re.sub(r"[0-9０-９]+", "#", squashed)):
        return False
    return re.sub(r"\s+", "", line) not in body_lines


def append_parts(text: str, generated: tuple[tuple[int, int], ...], document_part: Any, body: Any,
                 numbering: Numbering) -> tuple[str, tuple[tuple[int, int], ...]]:
    """The body's text and generated spans with the parts' report text after it."""
    body_lines = {re.sub(r"\s+", "", line) for line in text.split("\n")}
    parts = [text]
    spans = list(generated)
    length = len(text)
    for line, line_spans in part_paragraphs(document_part, body, numbering):
        if not carries_text(line, line_spans, body_lines):
            continue
        body_lines.add(re.sub(r"\s+", "", line))  # the same footer in every section: once
        sep = "\n" if length else ""
        parts.append(sep + line)
        spans += [(length + len(sep) + s, length + len(sep) + e) for s, e in line_spans]
        length += len(sep) + len(line)
    return "".join(parts), tuple(spans)
