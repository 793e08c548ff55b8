"""The compare page's charts as inline SVG drawn here, on the server: no script, no library,
nothing fetched. Pure functions from the compare module's records to markup; every text from a
document is escaped. Colours come from review.css by class (area-<id>), so the page needs no
inline style (the app's Content-Security-Policy forbids it)."""

from __future__ import annotations

from markupsafe import Markup, escape

from llm_extract.review.compare import Point, Spread, area_order

ROW = 22  # px per document
LABEL = 230  # px for the document labels
PLOT = 520  # px for the bars
TAIL = 150  # px for the value after a bar
MAX_ROWS = 300  # more documents than a page can show: say so, and point to `llm-extract table`


def _number(value: float) -> str:
    return f"{value:,.6g}" if abs(value) < 1e15 else f"{value:.3g}"


def value_text(point: Point) -> str:
    shown = _number(point.value) + (f"–{_number(point.value_max)}" if point.value_max is not None else "")
    return f"{'~' if point.approx else ''}{shown} {point.unit}"


def _label(text: str, limit: int = 16) -> str:
    return text if len(text) <= limit else text[:limit - 1] + "…"


def value_bars(points: list[Point]) -> Markup:
    """Sorted horizontal bars, one per document (largest first); each bar and its label link to
    the quote on the document's review page."""
    shown = points[:MAX_ROWS]
    top = max((p.value_max or p.value for p in shown), default=0.0)
    height = ROW * len(shown) + 8
    width = LABEL + PLOT + TAIL
    out = [(f'<svg class="chart bars" xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
            f'viewBox="0 0 {width} {height}" role="img" aria-label="values by document">')]
    for i, p in enumerate(shown):
        y = 4 + i * ROW
        length = 0.0 if top <= 0 else max(1.0, PLOT * max(p.value, 0.0) / top)
        href = f"/doc/{p.doc_id}#item={p.uid}"
        title = f"{p.label}: {value_text(p)} «{p.quote}»" + (f" · {p.conflicts} conflicting mentions" if p.conflicts else "")
        css = "bar conflict" if p.conflicts else "bar"
        out.append(f'<a class="point" href="{escape(href)}" data-doc="{p.doc_id}" data-uid="{escape(p.uid)}">'
                   f'<title>{escape(title)}</title>'
                   f'<rect class="hit" x="0" y="{y}" width="{width}" height="{ROW}"></rect>'  # the whole row is the link
                   f'<text class="label" x="{LABEL - 6}" y="{y + 15}" text-anchor="end">{escape(_label(p.label))}</text>'
                   f'<rect class="{css}" x="{LABEL}" y="{y + 3}" width="{length:.1f}" height="{ROW - 6}"></rect>')
        if p.value_max is not None and top > 0:  # a range: its upper end drawn lighter
            upper = PLOT * max(p.value_max, 0.0) / top
            out.append(f'<rect class="bar range" x="{LABEL + length:.1f}" y="{y + 3}" '
                       f'width="{max(upper - length, 0.0):.1f}" height="{ROW - 6}"></rect>')
        tail = value_text(p) + (f" ≠{p.conflicts}" if p.conflicts else "")
        out.append(f'<text class="value" x="{LABEL + PLOT + 6}" y="{y + 15}">{escape(tail)}</text></a>')
    out.append("</svg>")
    return Markup("".join(out))


def area_bars(spreads: list[Spread]) -> Markup:
    """One 100% stacked bar per document: the share of its items in each area (count and area in
    each segment's tooltip, total after the bar); the label links to the document."""
    shown = spreads[:MAX_ROWS]
    order = area_order()
    height = ROW * len(shown) + 8
    width = LABEL + PLOT + TAIL
    out = [(f'<svg class="chart areas" xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
            f'viewBox="0 0 {width} {height}" role="img" aria-label="items by area per document">')]
    for i, s in enumerate(shown):
        y = 4 + i * ROW
        out.append(f'<a href="/doc/{s.doc_id}"><text class="label" x="{LABEL - 6}" y="{y + 15}" '
                   f'text-anchor="end">{escape(_label(s.label))}</text></a>')
        x = float(LABEL)
        total = s.total
        for area in order:
            n = s.counts.get(area, 0)
            if not n:
                continue
            w = PLOT * n / total
            out.append(f'<rect class="segment area-{area}" data-area="{area}" x="{x:.1f}" y="{y + 3}" '
                       f'width="{w:.1f}" height="{ROW - 6}"><title>{escape(s.label)}: {area} {n} of {total}</title></rect>')
            x += w
        out.append(f'<text class="value" x="{LABEL + PLOT + 6}" y="{y + 15}">{total}</text>')
    out.append("</svg>")
    return Markup("".join(out))
