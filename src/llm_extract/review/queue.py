"""What most needs a reviewer's eyes, first. Pure functions over a loaded DocReview.

Flags, in the order they are worked through:
  check     an open finding of the checks names this number (a contradiction, a jump across years)
  fallback  the model's name failed its check against its own item and code's was stored
  disagree  the model named or categorised an item differently from what code reads in its words
  partial   the document's extraction is partial (a step failed: items may be missing)
  chinese   the number is a Chinese numeral (两名, 三次): the class of candidate the rules keep but
            cannot settle, so a model or a person must (candidates.needs_model)
  ocr       the document was read by OCR from a scan (documents.converter starts with "OCR"): a
            misread digit is grounded in the OCR text and still wrong, so every item is checked
            against the page. Such documents come first in the list (decisions.documents).
"""

from __future__ import annotations

from llm_extract.propose.candidates import Candidate, find_candidates
from llm_extract.label.categories import settled_category
from llm_extract.ingest.formats.ocr import PREFIX as OCR_PREFIX
from llm_extract.propose.names import code_name
from llm_extract.review.decisions import DocReview, Item

FLAGS = ("check", "fallback", "disagree", "partial", "chinese", "ocr")
FLAG_TEXT = {
    "check": "a check names this number: see the findings",
    "fallback": "the model's name failed its check; code's name was stored",
    "disagree": "the model and code read this item differently",
    "partial": "the document's extraction is partial",
    "chinese": "a Chinese numeral: the rules keep it but cannot settle it",
    "ocr": "read by OCR from a scan: check the number against the page",
}


def flag(review: DocReview) -> None:
    """Set each item's flags in place and order the items: flagged first, in FLAGS order, then
    by position in the text (a stable order, so j/k do not jump when an item is decided)."""
    text = review.text
    by_span = {(c.quote_start, c.quote_end): c for c in find_candidates(text)}
    partial = review.doc.get("status") == "partial"
    checked = {int(i) for f in review.findings if not f["dismissed"] for i in f["metric_ids"] or []}
    scanned = is_ocr(review.doc)
    for item in review.items:
        item.flags = _flags(text, item, by_span.get((item.key.char_start, item.key.char_end)), partial)
        if item.kind == "metric" and item.item_id in checked:
            item.flags.insert(0, "check")
        if scanned:
            item.flags.append("ocr")
    review.items.sort(key=_order)


def is_ocr(doc: dict[str, object]) -> bool:
    return str(doc.get("converter") or "").startswith(OCR_PREFIX)


def _flags(text: str, item: Item, candidate: Candidate | None, partial: bool) -> list[str]:
    flags = []
    original = item.original or {}
    source = original.get("label_source")
    if source == "fallback":
        flags.append("fallback")
    if item.kind == "metric" and source == "model" and candidate is not None:
        settled = settled_category(str(original.get("name", "")), text[candidate.quote_start:candidate.quote_end])
        if original.get("name") != code_name(text, candidate) or (settled and settled != original.get("category")):
            flags.append("disagree")
    if partial:
        flags.append("partial")
    if item.kind == "metric" and candidate is not None and candidate.quantity.is_chinese \
            and candidate.quantity.unit != "%":
        flags.append("chinese")
    return flags


def _order(item: Item) -> tuple[int, int, int]:
    rank = min((FLAGS.index(f) for f in item.flags), default=len(FLAGS))
    return rank, item.key.char_start, 0 if item.kind == "metric" else 1


def needs_eyes(review: DocReview) -> int:
    """Undecided items with a flag."""
    return sum(1 for item in review.items if item.flags and item.state == "unreviewed")
