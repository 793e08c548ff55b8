"""A reviewer's decisions: what they may say, checked against the document with the extractor's
own rules, and appended to `reviews` through Store. No web code here (the app is a thin skin).

The rules are extraction's: a quote is the document's characters at its offsets (cut here from
the stored text, never taken from the page), a metric's value, range, unit and approx are what the
number parser reads from its quote, and names and categories are free within the schema. An
area is one of the 13 of the national framework; an indicator is a catalogue id whose area is the
item's and whose kind fits the value's unit (a rate is in %, money in 元).
"""

from __future__ import annotations

import json
import math
import unicodedata
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal, get_args

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from llm_extract.store import checkstore
from llm_extract.errors import ReviewError
from llm_extract.propose.lexicon import UNIT_ALIASES
from llm_extract.propose.numbers import Quantity, find_quantities, values_equal
from llm_extract.label.indicator_ids import AREAS, indicators, kind_fits
from llm_extract.schemas import Area, MetricCategory, ProblemCategory
from llm_extract.store.database import Store, now

Kind = Literal["metric", "problem"]
DecisionKind = Literal["accept", "reject", "correct", "add"]
State = Literal["unreviewed", "accept", "reject", "correct", "add"]

METRIC_CATEGORIES: tuple[str, ...] = get_args(MetricCategory)
PROBLEM_CATEGORIES: tuple[str, ...] = get_args(ProblemCategory)
# A metric's quote is a clause ending at its number (candidates.MAX_LEAD is 24 before it); a
# problem is one item of a problems section. Longer selections are slips of the mouse.
MAX_QUOTE = {"metric": 200, "problem": 2000}
MAX_NAME = 60
MAX_SUMMARY = 200
MAX_REVIEWER = 100


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False, str_strip_whitespace=True)


def _no_control(text: str | None) -> str | None:
    if text is not None and any(unicodedata.category(ch).startswith("C") for ch in text):
        raise ValueError("must be one line of printable characters")
    return text


class ItemKey(_Strict):
    """Which item a decision is about: its span and, for a metric, its value (see reviewsql)."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False, frozen=True)
    kind: Kind
    char_start: int = Field(ge=0)
    char_end: int = Field(ge=1)
    value: float | None = None

    @model_validator(mode="after")
    def _shape(self) -> ItemKey:
        if self.char_end <= self.char_start:
            raise ValueError("char_end must be after char_start")
        if (self.kind == "metric") != (self.value is not None):
            raise ValueError("a metric's key has a value and a problem's has none")
        return self

    @property
    def uid(self) -> str:
        """A stable string for the page (digits, letters, '.', '-', '+')."""
        tail = "" if self.value is None else f"_{self.value!r}"
        return f"{self.kind[0]}{self.char_start}-{self.char_end}{tail}"

    def as_tuple(self) -> tuple[str, int, int, float | None]:
        return (self.kind, self.char_start, self.char_end, self.value)


class Change(_Strict):
    """What a correction or an added item says. Offsets select characters of the stored text;
    value, unit and approx choose among the parser's readings of the quote they select."""

    name: str | None = Field(default=None, max_length=MAX_NAME)
    summary: str | None = Field(default=None, max_length=MAX_SUMMARY)
    category: str | None = None
    char_start: int | None = Field(default=None, ge=0)
    char_end: int | None = Field(default=None, ge=1)
    value: float | None = None
    unit: str | None = Field(default=None, max_length=10)
    approx: bool | None = None
    area: Area | None = None
    # A metric's indicator: an id, or null (sent explicitly) for "states no catalogue indicator".
    indicator: str | None = Field(default=None, max_length=80)

    _printable = field_validator("name", "summary", "unit", "indicator")(_no_control)

    @model_validator(mode="after")
    def _span(self) -> Change:
        if (self.char_start is None) != (self.char_end is None):
            raise ValueError("a span needs both char_start and char_end")
        if self.char_start is not None and self.char_end is not None and self.char_end <= self.char_start:
            raise ValueError("char_end must be after char_start")
        return self


class DecisionIn(_Strict):
    """One decision as the page (or a test) sends it."""

    decision: DecisionKind
    key: ItemKey | None = None  # the item decided on; none for `add`
    kind: Kind | None = None  # for `add`: what is added
    change: Change | None = None

    @model_validator(mode="after")
    def _complete(self) -> DecisionIn:
        if self.decision == "add":
            if self.key is not None or self.kind is None:
                raise ValueError("add names the kind of item and no key")
            if self.change is None or self.change.char_start is None:
                raise ValueError("add needs the span of the item (select it in the text)")
        else:
            if self.key is None:
                raise ValueError(f"{self.decision} needs the key of the item")
            if self.kind is not None and self.kind != self.key.kind:
                raise ValueError("kind and key disagree")
            if self.decision == "correct" and self.change is None:
                raise ValueError("correct needs the change")
            if self.decision in ("accept", "reject") and self.change is not None:
                raise ValueError(f"{self.decision} takes no change")
        return self


def check_reviewer(name: str) -> str:
    name = name.strip()
    if not name or len(name) > MAX_REVIEWER or _has_control(name):
        raise ReviewError(f"reviewer name must be 1 to {MAX_REVIEWER} printable characters, got {name!r}")
    return name


def _has_control(text: str) -> bool:
    return any(unicodedata.category(ch).startswith("C") for ch in text)


@dataclass
class Item:
    """One metric or problem as the reviewer sees it: as extracted, and as decided."""

    key: ItemKey
    item_id: int | None  # metric_id / problem_id as extracted; None for an added item
    original: dict[str, Any] | None  # the extracted row's fields; None for an added item
    current: dict[str, Any]  # the fields after the latest decision (a rejected item: as it was)
    state: State
    added: bool = False
    reviewer: str | None = None
    reviewed_at: datetime | None = None
    flags: list[str] = field(default_factory=list)  # why it needs eyes (queue)

    @property
    def kind(self) -> Kind:
        return self.key.kind

    @property
    def span(self) -> tuple[int, int]:
        return int(self.current["char_start"]), int(self.current["char_end"])

    def page_dict(self) -> dict[str, Any]:
        return {"uid": self.key.uid, "key": self.key.model_dump(), "kind": self.kind, "state": self.state,
                "added": self.added, "item_id": self.item_id, "current": self.current,
                "original": self.original, "flags": self.flags, "reviewer": self.reviewer}


@dataclass
class DocReview:
    """A document, its sections and its items with their review state."""

    doc: dict[str, Any]  # the documents row
    sections: list[dict[str, Any]]
    items: list[Item]
    findings: list[dict[str, Any]] = field(default_factory=list)  # checks' findings, dismissed ones too

    @property
    def text(self) -> str:
        return str(self.doc["text"])

    @property
    def unreviewed(self) -> int:
        return sum(item.state == "unreviewed" for item in self.items)

    def find(self, key: ItemKey) -> Item | None:
        return next((item for item in self.items if item.key == key), None)


METRIC_FIELDS = ("name", "value", "value_max", "unit", "approx", "category", "quote", "char_start", "char_end",
                 "section_id", "area", "indicator")
PROBLEM_FIELDS = ("summary", "category", "quote", "char_start", "char_end", "section_id", "area")
# Who decided an extracted item's labels: shown on the page, never part of a decision.
SOURCES = {"metric": ("label_source", "area_source", "indicator_source"), "problem": ("area_source",)}


def fields_of(kind: Kind, row: dict[str, Any]) -> dict[str, Any]:
    return {k: row.get(k) for k in (METRIC_FIELDS if kind == "metric" else PROBLEM_FIELDS)}


def load(store: Store, doc_id: str) -> DocReview:
    """The document's items with the latest decision on each; ReviewError if there is no such document."""
    docs = store.query("SELECT * FROM documents WHERE doc_id = ?", [doc_id])
    if not docs:
        raise ReviewError(f"no document {doc_id!r} in {store.path}")
    sections = store.query("SELECT * EXCLUDE (doc_id) FROM sections WHERE doc_id = ? ORDER BY section_id", [doc_id])
    latest: dict[tuple[str, int, int, float | None], dict[str, Any]] = {}
    if store.has_table("reviews_latest"):
        for row in store.query("SELECT * FROM reviews_latest WHERE doc_id = ?", [doc_id]):
            latest[(row["kind"], row["char_start"], row["char_end"], row["value"])] = row
    items: list[Item] = []
    tables: tuple[tuple[Kind, str, str], ...] = (("metric", "metrics", "metric_id"), ("problem", "problems", "problem_id"))
    for kind, table, id_column in tables:
        for row in store.query(f"SELECT * FROM {table} WHERE doc_id = ? ORDER BY char_start, {id_column}", [doc_id]):
            key = ItemKey(kind=kind, char_start=row["char_start"], char_end=row["char_end"],
                          value=row["value"] if kind == "metric" else None)
            original = fields_of(kind, row) | {k: row.get(k) for k in SOURCES[kind]}
            items.append(_decided(key, row[id_column], original, latest.pop(key.as_tuple(), None)))
    for review in latest.values():  # keys no extracted item has: added items (others no longer apply)
        if review["added"]:
            key = ItemKey(kind=review["kind"], char_start=review["char_start"], char_end=review["char_end"],
                          value=review["value"])
            items.append(_decided(key, None, None, review))
    return DocReview(doc=docs[0], sections=sections, items=items,
                     findings=checkstore.findings(store, doc_id, include_dismissed=True))


def _decided(key: ItemKey, item_id: int | None, original: dict[str, Any] | None,
             review: dict[str, Any] | None) -> Item:
    if review is None:
        assert original is not None
        return Item(key, item_id, original, dict(original), "unreviewed")
    after = json.loads(review["after"]) if review["after"] else None
    before = json.loads(review["before"]) if review["before"] else None
    if after is not None and original is not None:
        # A decision written before areas and indicators existed leaves them as extracted.
        after = {k: original.get(k) for k in ("area", "indicator") if k in original and k not in after} | after
    decision: State = review["decision"]
    if decision in ("correct", "add") and after is not None:
        current = after
    else:  # accept: the item as extracted (or as added); reject: as it was when rejected
        current = original or after or before or {}
    return Item(key, item_id, original, dict(current), decision, added=bool(review["added"]),
                reviewer=review["reviewer"], reviewed_at=review["reviewed_at"])


def decide(store: Store, doc_id: str, request: DecisionIn, reviewer: str) -> DocReview:
    """Check one decision against the document and append it to `reviews`; the document as it is
    afterwards. ReviewError (one line, saying what to change) when the decision cannot stand."""
    reviewer = check_reviewer(reviewer)
    with store.transaction():
        review = load(store, doc_id)
        row = _review_row(review, request)
        store.append_review(row | {"doc_id": doc_id, "reviewer": reviewer, "reviewed_at": now(),
                                   "prompt_version": review.doc.get("prompt_version")})
    return load(store, doc_id)


def accept_rest(store: Store, doc_id: str, reviewer: str) -> int:
    """Accept every item of the document that has no decision yet; how many."""
    reviewer = check_reviewer(reviewer)
    with store.transaction():
        review = load(store, doc_id)
        todo = [item for item in review.items if item.state == "unreviewed"]
        for item in todo:
            store.append_review(_row(item.key, item, "accept", item.current, item.current)
                                | {"doc_id": doc_id, "reviewer": reviewer, "reviewed_at": now(),
                                   "prompt_version": review.doc.get("prompt_version")})
    return len(todo)


def _review_row(review: DocReview, request: DecisionIn) -> dict[str, Any]:
    if request.decision == "add":
        assert request.change is not None and request.kind is not None
        after = _apply(review, request.kind, None, request.change)
        key = _key_of(request.kind, after)
        other = review.find(key)
        if other is not None and other.state != "reject":
            raise ReviewError(f"an item with this span and value is already listed ({_label(other)}); "
                              "accept or correct it instead")
        return _row(key, None, "add", None, after)
    assert request.key is not None
    item = review.find(request.key)
    if item is None:
        raise ReviewError("no such item in this document (it may have been re-extracted); reload the page")
    if request.decision == "accept":
        return _row(item.key, item, "accept", item.current, item.current)
    if request.decision == "reject":
        return _row(item.key, item, "reject", item.current, None)
    assert request.change is not None
    after = _apply(review, item.kind, item, request.change)
    if after == {k: item.current.get(k) for k in after}:  # the page's sources are not fields
        raise ReviewError("the correction changes nothing; accept the item instead (a)")
    new_key = _key_of(item.kind, after)
    other = review.find(new_key)
    if other is not None and other is not item and other.state != "reject":
        raise ReviewError(f"another item already has this span and value ({_label(other)}); reject one of them")
    return _row(item.key, item, "correct", item.current, after)


def _row(key: ItemKey, item: Item | None, decision: str, before: dict[str, Any] | None,
         after: dict[str, Any] | None) -> dict[str, Any]:
    def dumped(fields: dict[str, Any] | None) -> str | None:
        return None if fields is None else json.dumps(fields, ensure_ascii=False, default=str)
    return {"kind": key.kind, "char_start": key.char_start, "char_end": key.char_end, "value": key.value,
            "item_id": item.item_id if item else None, "decision": decision,
            "before": dumped(before), "after": dumped(after)}


def _key_of(kind: Kind, fields: dict[str, Any]) -> ItemKey:
    return ItemKey(kind=kind, char_start=fields["char_start"], char_end=fields["char_end"],
                   value=fields["value"] if kind == "metric" else None)


def _label(item: Item) -> str:
    text = item.current.get("name") or item.current.get("summary") or ""
    return f"{text} at {item.span[0]}"


def _apply(review: DocReview, kind: Kind, item: Item | None, change: Change) -> dict[str, Any]:
    """The item's fields after the change, every one checked; ReviewError naming what is wrong."""
    text = review.text
    current = dict(item.current) if item else {}
    if change.char_start is not None and change.char_end is not None:
        start, end = span_of(text, change.char_start, change.char_end, kind)
    else:
        start, end = int(current["char_start"]), int(current["char_end"])
    quote = text[start:end]
    after: dict[str, Any] = {"quote": quote, "char_start": start, "char_end": end,
                             "section_id": section_at(review.sections, start)}
    if kind == "metric":
        quantity = reading(quote, change.value, change.unit, change.approx, keep=current.get("value"))
        name = change.name if change.name is not None else current.get("name")
        if not name:
            raise ReviewError("a metric needs a name")
        after |= {"name": name, "value": quantity.value, "value_max": quantity.value_max, "unit": quantity.unit,
                  "approx": quantity.approx, "category": _category(change.category, current, METRIC_CATEGORIES)}
        after["area"], after["indicator"] = _area_and_indicator(change, current, quantity.unit)
        return {k: after[k] for k in METRIC_FIELDS}
    summary = change.summary if change.summary is not None else current.get("summary")
    if not summary:
        raise ReviewError("a problem needs a summary")
    if change.value is not None or change.unit is not None or change.approx is not None:
        raise ReviewError("a problem has no value, unit or approx")
    if "indicator" in change.model_fields_set:
        raise ReviewError("a problem has no indicator (only metrics state quantities)")
    after |= {"summary": summary, "category": _category(change.category, current, PROBLEM_CATEGORIES),
              "area": _area(change, current)}
    return {k: after[k] for k in PROBLEM_FIELDS}


def _area(change: Change, current: dict[str, Any]) -> str | None:
    """The item's area after the change: one of the 13 (pydantic checked the name), or still
    undecided (NULL) when it was and the reviewer did not choose."""
    if "area" not in change.model_fields_set:
        return current.get("area")
    if change.area is None:
        raise ReviewError(f"choose an area: {', '.join(AREAS)} (other when none fits)")
    return change.area


def _area_and_indicator(change: Change, current: dict[str, Any], unit: str) -> tuple[str | None, str | None]:
    """A metric's area and indicator after the change. An indicator must be a catalogue id, of
    the item's area (an item without an area takes the indicator's), and of a kind the value's
    unit fits; ReviewError saying which of these fails."""
    area = _area(change, current)
    indicator = change.indicator if "indicator" in change.model_fields_set else current.get("indicator")
    if indicator is None:
        return area, None
    known = indicators().get(indicator)
    if known is None:
        raise ReviewError(f"unknown indicator {indicator!r}; choose one of the list or none")
    if area is None:
        area = known.area
    elif area != known.area:
        raise ReviewError(f"{indicator} ({known.label}) is an indicator of {known.area}, not {area}: "
                          "change the area or choose another indicator (or none)")
    if not kind_fits(known.kind, unit):
        raise ReviewError(f"{indicator} ({known.label}) counts {known.kind}, which a value in {unit!r} is not; "
                          "choose another indicator (or none)")
    return area, indicator


def _category(given: str | None, current: dict[str, Any], allowed: tuple[str, ...]) -> str:
    category = given if given is not None else current.get("category")
    if category is None:
        raise ReviewError(f"choose a category: {', '.join(allowed)}")
    if category not in allowed:
        raise ReviewError(f"unknown category {category!r}; one of {', '.join(allowed)}")
    return category


def span_of(text: str, start: int, end: int, kind: Kind) -> tuple[int, int]:
    """A selected span, trimmed of white space at its edges, inside the text and of a sane length."""
    if not 0 <= start < end <= len(text):
        raise ReviewError(f"span [{start}, {end}) is outside the text (0 to {len(text)} characters)")
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    if start == end:
        raise ReviewError("the selection is only white space")
    if end - start > MAX_QUOTE[kind]:
        raise ReviewError(f"a {kind} quote is at most {MAX_QUOTE[kind]} characters; this selection has {end - start}")
    return start, end


def reading(quote: str, value: float | None = None, unit: str | None = None, approx: bool | None = None,
            keep: float | None = None) -> Quantity:
    """The number-parser reading of quote that the reviewer means: the one with the given value
    (and unit and approx, which must be what the text says), else the one the item had (keep),
    else the only one. As in extraction, a value that does not parse from its quote is refused."""
    found = find_quantities(quote)
    if not found:
        raise ReviewError(f"no number with a measure word in {_short(quote)}: a metric's value must parse "
                          "from its quote (select the number and its unit)")
    pool = found
    if value is not None:
        if not math.isfinite(value):
            raise ReviewError("the value must be a finite number")
        pool = [q for q in pool if values_equal(q.value, value)]
        if not pool:
            raise ReviewError(f"{_short(quote)} reads {_readings(found)}, not {value:g}; select the characters that say it")
    if unit is not None:
        wanted = UNIT_ALIASES.get(unit, unit)
        narrowed = [q for q in pool if q.unit == wanted]
        if not narrowed:
            raise ReviewError(f"{_short(quote)} reads {_readings(pool)}: the unit is what the text says, not {unit!r}")
        pool = narrowed
    if approx is not None:
        narrowed = [q for q in pool if q.approx == approx]
        if not narrowed:
            word = "approximate" if approx else "exact"
            raise ReviewError(f"{_short(quote)} reads {_readings(pool)}: the text does not make it {word} "
                              "(余/多/约/以上… decide approx)")
        pool = narrowed
    if len(pool) > 1 and keep is not None:
        pool = [q for q in pool if values_equal(q.value, keep)] or pool
    if len(pool) > 1:
        raise ReviewError(f"{_short(quote)} holds {len(pool)} numbers ({_readings(pool)}); say which value is meant")
    return pool[0]


def readings(text: str, start: int, end: int) -> tuple[int, int, list[Quantity]]:
    """The trimmed span and every reading of its characters (for the page's add/correct form)."""
    start, end = span_of(text, start, end, "metric")
    return start, end, find_quantities(text[start:end])


def _readings(found: list[Quantity]) -> str:
    return ", ".join(describe(q) for q in found)


def describe(q: Quantity) -> str:
    value = f"{q.value:g}" + (f"-{q.value_max:g}" if q.value_max is not None else "")
    return f"{'~' if q.approx else ''}{value} {q.unit}"


def _short(quote: str) -> str:
    return repr(quote if len(quote) <= 30 else quote[:29] + "…")


def section_at(sections: list[dict[str, Any]], offset: int) -> int | None:
    """The deepest section containing offset (segment.section_at, over stored rows)."""
    inside = [s for s in sections if s["char_start"] <= offset < s["char_end"]]
    return max(inside, key=lambda s: (s["level"], s["char_start"]))["section_id"] if inside else None


def documents(store: Store) -> list[dict[str, Any]]:
    """Every document with its counts, for the list page, most in need of review first: documents
    read by OCR from a scan (a misread digit is a wrong fact no check catches), open findings of
    the checks, undecided items whose name fell back to code, then partial documents, then any
    undecided items."""
    latest = "reviews_latest" if store.has_table("reviews_latest") else \
        "(SELECT NULL::VARCHAR doc_id, NULL::VARCHAR kind, NULL::INTEGER char_start, NULL::INTEGER char_end, " \
        "NULL::DOUBLE value, NULL::VARCHAR decision, NULL::BOOLEAN added WHERE false)"
    # Documents with open findings come first: a contradiction is what most needs a reviewer.
    open_findings = "(SELECT doc_id, count(*) AS n FROM findings WHERE NOT dismissed GROUP BY doc_id)" \
        if store.has_table("findings") else "(SELECT NULL::VARCHAR doc_id, 0 AS n WHERE false)"
    return store.query(f"""
        WITH items AS (
            SELECT doc_id, 'metric' AS kind, char_start, char_end, value, label_source FROM metrics
            UNION ALL SELECT doc_id, 'problem', char_start, char_end, NULL, NULL FROM problems
        ), decided AS (
            SELECT i.*, r.decision FROM items i LEFT JOIN {latest} r
              ON r.doc_id = i.doc_id AND r.kind = i.kind AND r.char_start = i.char_start
             AND r.char_end = i.char_end AND r.value IS NOT DISTINCT FROM i.value
        ), added AS (
            SELECT r.doc_id, count(*) AS n FROM {latest} r WHERE r.added AND NOT EXISTS
              (SELECT 1 FROM items i WHERE i.doc_id = r.doc_id AND i.kind = r.kind AND i.char_start = r.char_start
               AND i.char_end = r.char_end AND i.value IS NOT DISTINCT FROM r.value) GROUP BY ALL
        )
        SELECT * FROM (
        SELECT d.doc_id, d.path, d.title, d.township, d.county, d.year, d.status, d.model,
               coalesce(d.converter, '') LIKE 'OCR %' AS ocr,
               count(x.kind) FILTER (WHERE x.kind = 'metric') AS metrics,
               count(x.kind) FILTER (WHERE x.kind = 'problem') AS problems,
               count(x.kind) FILTER (WHERE x.decision IS NULL) AS unreviewed,
               count(x.kind) FILTER (WHERE x.decision IS NULL AND x.label_source = 'fallback') AS fallbacks,
               count(x.kind) FILTER (WHERE x.decision = 'reject') AS rejected,
               count(x.kind) FILTER (WHERE x.decision = 'correct') AS corrected,
               coalesce(any_value(a.n), 0) AS added,
               coalesce(any_value(c.n), 0) AS findings
        FROM documents d LEFT JOIN decided x USING (doc_id) LEFT JOIN added a USING (doc_id)
             LEFT JOIN {open_findings} c USING (doc_id)
        GROUP BY ALL)
        ORDER BY ocr DESC, findings > 0 DESC, fallbacks > 0 DESC, status = 'partial' DESC, unreviewed > 0 DESC, path""")


# --- a reviewer's decision ------------------------------------------------------------------------
def decide_finding(store: Store, doc_id: str, check_id: str, decision: checkstore.FindingDecision, reviewer: str,
                   reason: str | None = None) -> None:
    """Dismiss a finding (or restore a dismissed one): appended to finding_reviews, keyed by the
    finding's check_id, so it holds for the same finding after any re-extraction."""
    reviewer = check_reviewer(reviewer)
    if decision not in ("dismiss", "restore"):
        raise ReviewError(f"a finding is dismissed or restored, not {decision!r}")
    if reason is not None and (len(reason) > checkstore.MAX_REASON or any(ord(ch) < 32 for ch in reason)):
        raise ReviewError(f"a reason is one line of at most {checkstore.MAX_REASON} characters")
    if not store.query("SELECT 1 FROM checks WHERE doc_id = ? AND check_id = ?", [doc_id, check_id]):
        raise ReviewError(f"no finding {check_id!r} in this document; `llm-extract checks` lists them")
    store.con.execute("INSERT INTO finding_reviews (doc_id, check_id, decision, reason, reviewer, reviewed_at) "
                      "VALUES (?, ?, ?, ?, ?, ?)", [doc_id, check_id, decision, reason, reviewer, now()])
