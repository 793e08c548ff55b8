"""`llm-extract report DOC -o page.html`: one self-contained static HTML file of a document's
extraction (and its review, if any) with every item highlighted: stylesheet and script inlined,
nothing fetched, no token, so the page is read-only wherever it is opened."""

from __future__ import annotations

from pathlib import Path

from llm_extract.errors import ReviewError
from llm_extract.review import decisions, queue
from llm_extract.review.render import environment, static_text
from llm_extract.review.view import SHORTCUTS, view_context
from llm_extract.store.database import Store
from llm_extract.store.outpaths import check_output

READ_ONLY_KEYS = [(k, v) for k, v in SHORTCUTS if k in ("j / k", "n", "?")]


def report_html(store: Store, doc_id: str) -> str:
    review = decisions.load(store, doc_id)
    queue.flag(review)
    return environment().get_template("doc.html").render(
        **view_context(review), token=None, reviewer=None, next_doc=None, shortcuts=READ_ONLY_KEYS,
        inline_css=static_text("review.css"), inline_js=static_text("review.js"))


def write_report(store: Store, doc_id: str, target: Path) -> Path:
    """Write (or replace) target; never over the database or a stored document's file."""
    check_output(target, db=store.path, inputs=store.document_paths(), what="report page", flag="-o")
    html = report_html(store, doc_id)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(html, encoding="utf-8")
    except OSError as exc:
        raise ReviewError(f"cannot write {target}: {exc.strerror or exc}") from exc
    return target
