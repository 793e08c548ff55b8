"""What the document page shows, as template context: shared by the web app and the static
report (which must not need the web stack)."""

from __future__ import annotations

import json
from typing import Any

from markupsafe import Markup

from llm_extract.label.indicator_ids import AREAS, indicators
from llm_extract.review import decisions, queue
from llm_extract.review.decisions import DocReview
from llm_extract.review.render import document_html, section_tree

SHORTCUTS = [("j / k", "next / previous item"), ("a", "accept"), ("r", "reject"), ("e", "edit (correct) the item"),
             ("s", "while editing: take the text selection as the item's span"),
             ("m / p", "add the selected text as a metric / a problem"), ("n", "next undecided item"),
             ("Enter / Esc", "save / close the editor"), ("A", "accept every undecided item of this document"),
             ("g", "back to the document list"), ("?", "show or hide these shortcuts")]


def view_context(review: DocReview) -> dict[str, Any]:
    """What doc.html and _items.html need (also the static report's)."""
    items = review.items
    decided = sum(i.state != "unreviewed" for i in items)
    return {"doc": {k: v for k, v in review.doc.items() if k != "text"}, "items": items,
            "items_data": [i.page_dict() for i in items], "items_json": _script_json([i.page_dict() for i in items]),
            "sections": section_tree(review.sections), "text_html": document_html(review),
            "progress": {"decided": decided, "total": len(items), "needs_eyes": queue.needs_eyes(review)},
            "flag_text": queue.FLAG_TEXT, "findings": review.findings,
            "metric_categories": decisions.METRIC_CATEGORIES,
            "problem_categories": decisions.PROBLEM_CATEGORIES, "areas": AREAS,
            "indicator_groups": _indicator_groups(), "indicator_labels": {i.id: i.label for i in indicators().values()}}


def _indicator_groups() -> list[tuple[str, list[Any]]]:
    """The editor's indicator choices, grouped by area in the areas' order."""
    listed = list(indicators().values())
    return [(area, [i for i in listed if i.area == area]) for area in AREAS if any(i.area == area for i in listed)]


def _script_json(data: Any) -> Markup:
    """JSON safe inside <script type="application/json">: no '<' that could close the element."""
    return Markup(json.dumps(data, ensure_ascii=False, default=str).replace("<", "\\u003c"))
