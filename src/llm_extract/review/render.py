"""The document text as HTML with every item highlighted at its offsets. Pure: no I/O, no web.

The text container's textContent is exactly documents.text: marks and section anchors add
elements, never characters, so the page can turn a selection back into code-point offsets, and a
mark's text is the item's quote. Items nest (a metric inside a problem); where two spans cross,
the inner one is closed and reopened, so an item may have more than one fragment (same data-uid).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jinja2
from markupsafe import Markup, escape

from llm_extract.review.decisions import DocReview, Item

HERE = Path(__file__).parent
KIND_ORDER = {"problem": 0, "metric": 1}  # on the same span the problem is the outer mark


@dataclass(frozen=True)
class Mark:
    start: int
    end: int
    kind: str
    uid: str
    css: str
    title: str


def marks_of(items: list[Item]) -> list[Mark]:
    marks = []
    for item in items:
        start, end = item.span
        css = f"hl {item.kind} st-{item.state}" + (" added" if item.added else "")
        marks.append(Mark(start, end, item.kind, item.key.uid, css, item_title(item)))
    marks.sort(key=lambda m: (m.start, -m.end, KIND_ORDER[m.kind]))
    return marks


def item_title(item: Item) -> str:
    c = item.current
    if item.kind == "metric":
        return (f"{c.get('name')} = {value_text(c)} · {c.get('category')} · {c.get('area') or 'no area'}"
                f" · {c.get('indicator') or 'no indicator'} · {item.state}")
    return f"{c.get('summary')} · {c.get('category')} · {c.get('area') or 'no area'} · {item.state}"


def value_text(fields: dict[str, Any]) -> str:
    value, value_max = fields.get("value"), fields.get("value_max")
    shown = f"{value:g}" + (f"–{value_max:g}" if value_max is not None else "")
    return f"{'~' if fields.get('approx') else ''}{shown} {fields.get('unit')}"


def highlight(text: str, marks: list[Mark], anchors: dict[int, list[int]] | None = None) -> Markup:
    """text with <mark> elements at the marks' offsets and empty anchors (id sec-N) at sections."""
    anchors = anchors or {}
    opening: dict[int, list[Mark]] = defaultdict(list)
    for mark in marks:  # already outer-first at each position
        opening[mark.start].append(mark)
    cuts = sorted({0, len(text), *opening, *(m.end for m in marks), *anchors})
    out: list[str] = []
    stack: list[Mark] = []

    def open_(mark: Mark, continued: bool) -> None:
        css = mark.css + (" cont" if continued else "")
        out.append(f'<mark class="{escape(css)}" data-uid="{escape(mark.uid)}" title="{escape(mark.title)}">')
        stack.append(mark)

    for i, pos in enumerate(cuts):
        if any(m.end == pos for m in stack):
            reopen = []
            while any(m.end == pos for m in stack):
                mark = stack.pop()
                out.append("</mark>")
                if mark.end != pos:
                    reopen.append(mark)
            for mark in reversed(reopen):
                open_(mark, continued=True)
        for section_id in anchors.get(pos, []):
            out.append(f'<span class="anchor" id="sec-{section_id}" data-sec="{section_id}"></span>')
        for mark in opening.get(pos, []):
            open_(mark, continued=False)
        if i + 1 < len(cuts):
            out.append(str(escape(text[pos:cuts[i + 1]])))
    out.extend("</mark>" for _ in stack)
    return Markup("".join(out))


def section_tree(sections: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Sections nested by parent_id: [{section fields…, children: […]}]. A missing parent puts
    the section at the top, as `show` does."""
    nodes = {s["section_id"]: {**s, "children": []} for s in sections}
    roots: list[dict[str, Any]] = []
    for s in sections:
        parent = nodes.get(s["parent_id"]) if s["parent_id"] is not None else None
        (parent["children"] if parent else roots).append(nodes[s["section_id"]])
    return roots


def document_html(review: DocReview) -> Markup:
    anchors: dict[int, list[int]] = defaultdict(list)
    for s in review.sections:
        anchors[s["char_start"]].append(s["section_id"])
    return highlight(review.text, marks_of(review.items), anchors)


def environment() -> jinja2.Environment:
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(HERE / "templates"),
                             autoescape=True, undefined=jinja2.StrictUndefined)
    env.filters["value_text"] = value_text
    return env


def static_text(name: str) -> str:
    """A vendored static file's text (inlined by the static report)."""
    return (HERE / "static" / name).read_text(encoding="utf-8")
