"""Areas and indicators by code: what the catalogue's words and the value's kind settle, and the
shortlist a model may choose from when they do not. Pure functions, no I/O.

Words are read in tiers, most specific first: what is counted (code's name for the metric), then
the clause it is quoted from, then the headings it stands under. The first tier with any cue
decides. Within a tier, cues are matched leftmost-longest, so a cue inside a longer one gives way
(安全 inside 安全生产检查), and the framework's boundary rules (`precedence`) remove an area when
its winner is present. One area left: settled. Several: code's choice is the head — the last
cue, since a Chinese noun phrase ends with what it is (安全知识宣传 is 宣传) — and the
model may choose among them. None anywhere: `other`, and the model may choose among all.

An indicator is settled when exactly one indicator of the item's area and of the value's kind
(from its unit) is cued; several make a shortlist; a figure that is not the whole body's for its
year (a target, another year, a change, a sub-unit's) gets none, whatever its words.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import cache

from llm_extract.propose.lexicon import LIGHT_VERBS, MONEY_UNITS, PERSON_CLASSIFIERS, PREPOSITIONS, RATIO_UNITS
from llm_extract.label.catalogue import AREAS, Catalogue, Indicator, Kind, load

PEOPLE_UNITS = (*PERSON_CLASSIFIERS, "人次")
# Words that start a clause about going somewhere or acting on something, not a unit's name
# (深入社区开展…, 走进青山村…): a place after them is where the work was done, not who did it.
NOT_A_NAME_START = (*PREPOSITIONS, *LIGHT_VERBS, "深入", "走进", "走访", "进入", "前往", "赴", "到", "进", "对",
                    "为", "向", "帮助", "指导", "协助", "联合", "下沉", "覆盖", "涉及", "包括", "深化", "推动")
_YEAR = re.compile(r"(?<![0-9０-９])((?:19|20)[0-9]{2})\s*年")
_CLAUSE_START = re.compile(r"^[\s，,、；;：:]*(?:[一二三四五六七八九十]+是|其[一二三四五六七八九十]|其中)?[\s，,、：:]*")
# The thing counted is one named title (学习《某法》3次, 学习“某手册”20次): one law or book studied
# or used, not the body's count of the work.
_TITLE_BEFORE = re.compile(r"[》”」』]\s*$")
_TITLE_AFTER = re.compile(r"[0-9０-９]\s*[余多]?\s*[\u4e00-\u9fff]{1,2}\s*[《“「『]")
RATE_KIND_UNITS = ("%", "％", "个百分点", "成")


def value_kind(unit: str) -> Kind:
    """The kind of a value from its unit: 人/名/位/人次 people, 元 money, % rate, else count."""
    if unit in PEOPLE_UNITS:
        return "people"
    if unit.endswith(MONEY_UNITS):
        return "money"
    if unit in RATE_KIND_UNITS or unit in RATIO_UNITS and unit != "倍":
        return "rate"
    return "count"


@dataclass(frozen=True)
class Decision:
    """Code's answer for one field: its choice, whether its words settle it, and the shortlist a
    model may choose among when they do not (code's choice first). For an indicator, `value`
    None is a label (not one of the catalogue's quantities), and `reason` says why when a
    whole-body rule decided it."""

    value: str | None
    settled: bool
    shortlist: tuple[str, ...] = ()
    reason: str | None = None


@dataclass(frozen=True)
class _Hit:
    owner: str
    start: int
    end: int


def _hits(text: str, table: Sequence[tuple[str, str]]) -> list[_Hit]:
    """Leftmost-longest, non-overlapping occurrences of the table's plain cues, plus every "A+B"
    cue whose parts all occur (placed at its last part)."""
    found: list[_Hit] = []
    for cue, owner in table:
        if "+" in cue:
            continue
        start = text.find(cue)
        while start >= 0:
            found.append(_Hit(owner, start, start + len(cue)))
            start = text.find(cue, start + 1)
    found.sort(key=lambda h: (h.start, -(h.end - h.start)))
    kept: list[_Hit] = []
    for hit in found:  # at each start the longest comes first; what starts inside a kept cue is gone
        if not kept or hit.start >= kept[-1].end:
            kept.append(hit)
    for cue, owner in table:
        if "+" not in cue:
            continue
        parts = cue.split("+")
        ends = [text.find(p) for p in parts]
        if all(e >= 0 for e in ends):
            last = max(e + len(p) for e, p in zip(ends, parts))
            kept.append(_Hit(owner, min(ends), last))
    return kept


@cache
def _area_table(catalogue: Catalogue) -> tuple[tuple[str, str], ...]:
    return tuple((cue, a.id) for a in catalogue.areas for cue in a.cues)


def _apply_precedence(owners: set[str], catalogue: Catalogue) -> set[str]:
    losers = {p.loser for p in catalogue.precedence if p.winner in owners and p.loser in owners}
    return owners - losers


def _drop_forms(hits: list[_Hit], words: str, catalogue: Catalogue) -> list[_Hit]:
    """Hits of an area whose every cue here only says how the work was done (宣传, 发放) give way
    to another area's subject, unless the words name what keeps the work in its area (the law)."""
    for area in catalogue.areas:
        if not area.form_cues:
            continue
        own = [h for h in hits if h.owner == area.id]
        others = [h for h in hits if h.owner != area.id]
        if own and others and all(words[h.start:h.end] in area.form_cues for h in own) \
                and not any(w in words for w in area.law_words):
            hits = others
    return hits


def _form_only(hits: list[_Hit], words: str, catalogue: Catalogue) -> bool:
    """Every hit is a form cue of one area, and no word of that area's own matter occurs."""
    owners = {h.owner for h in hits}
    if len(owners) != 1:
        return False
    area = catalogue.area_by_id[next(iter(owners))]
    return all(words[h.start:h.end] in area.form_cues for h in hits) and not any(w in words for w in area.law_words)


def _subject_area(tiers: Sequence[str], form_area: str, catalogue: Catalogue) -> str | None:
    """Another area's subject in the first outer tier that names a subject, when that tier does not
    name the form's own matter (the law, for 普法)."""
    table = _area_table(catalogue)
    for words in tiers:
        hits = _hits(words, table)
        if not hits:
            continue
        kept = _drop_forms(hits, words, catalogue)
        if _form_only(kept, words, catalogue):
            continue
        owners = {h.owner for h in kept}
        if form_area in owners:
            return None
        chosen, _ = _decide(kept, catalogue, "last")
        return chosen
    return None


def _decide(hits: list[_Hit], catalogue: Catalogue, head: str) -> tuple[str, set[str]]:
    owners = _apply_precedence({h.owner for h in hits}, catalogue)
    ranked = [h for h in hits if h.owner in owners]
    if head == "last":
        chosen = max(ranked, key=lambda h: (h.end, h.end - h.start))
    else:
        chosen = min(ranked, key=lambda h: (h.start, -(h.end - h.start)))
    return chosen.owner, owners


def area_of(tiers: Sequence[str], catalogue: Catalogue | None = None, head: str = "last",
            audience_in: str = "") -> Decision:
    """The area the first tier with any cue points to. `head` picks code's choice among several
    areas: "last" (a noun phrase ends with what it is) or "first" (a complaint names its topic first).
    `audience_in` are the words that may say whom the work is for (see `audience`)."""
    catalogue = catalogue or load()
    table = _area_table(catalogue)
    tiers = list(tiers)
    for k, words in enumerate(tiers):
        hits = _hits(words, table)
        if hits and table is _area_table(catalogue):
            hits = _drop_forms(hits, words, catalogue)
        if hits and _form_only(hits, words, catalogue):
            # Only how the work was done (发放宣传册): what it was about is said further out.
            subject = _subject_area(tiers[k + 1:], hits[0].owner, catalogue)
            if subject is not None:
                return Decision(subject, True, (subject,))  # the framework's boundary rule
        if hits:
            chosen, owners = _decide(hits, catalogue, head)
            for_whom = audience(audience_in or words, catalogue)
            if for_whom is not None and chosen in {a.area for a in catalogue.audiences}:
                chosen, owners = for_whom, (owners - {a.area for a in catalogue.audiences}) | {for_whom}
            if len(owners) == 1:
                return Decision(chosen, True, (chosen,))
            return Decision(chosen, False, (chosen, *sorted(owners - {chosen}, key=AREAS.index)))
    return Decision("other", False, ("other", *(a for a in AREAS if a != "other")))


def audience(words: str, catalogue: Catalogue | None = None) -> str | None:
    """The one area whose audience words occur (干部 → study, 群众 → publicity), or None. An
    audience word inside a longer cue of an area is that cue's, not whom the work is for (机关 in
    法律进机关 is where 普法 went; 领导 in 领导小组 is a body)."""
    catalogue = catalogue or load()
    words_all = {w for a in catalogue.audiences for w in a.words}
    for cue, _ in _area_table(catalogue):
        if cue not in words_all and any(w in cue for w in words_all):
            words = words.replace(cue, "\u3000")
    found = {a.area for a in catalogue.audiences if any(w in words for w in a.words)}
    return found.pop() if len(found) == 1 else None


def not_whole_body(context: str, lead: str, year: int | None = None, plans: bool = False,
                   catalogue: Catalogue | None = None) -> str | None:
    """Why a figure is not the whole reporting body's for its year, or None.

    `context` is the clause (with the one it continues), `lead` the words of the clause before
    the number, `year` the year the report is about, `plans` whether it stands under a heading
    of plans. Each reason is a class of words, not a phrase of any report.
    """
    rules = (catalogue or load()).whole_body
    if plans or any(w in context for w in rules.target_words):
        return "target"
    if any(w in context for w in rules.other_year_words):
        return "other year"
    if year is not None and any(int(y) != year for y in _YEAR.findall(context)):
        return "other year"
    tail = lead.rstrip().removesuffix("了")
    if any(tail.endswith(w) for w in rules.change_words) or "同比" in context or "环比" in context:
        return "change"
    if sub_unit_subject(context, catalogue):
        return "sub-unit"
    if any(w in context for w in rules.part_words):
        return "part"
    if _TITLE_BEFORE.search(lead) or _TITLE_AFTER.search(context):
        return "one title"
    return None


def sub_unit_subject(context: str, catalogue: Catalogue | None = None) -> str | None:
    """The sub-unit a clause's subject names (青山村, 东街社区), or None: a name of two to six
    characters ending in a unit word at the start of the clause, not a scope (全镇, 各村), not a
    kind of place (农村, 行政村) and not a place the work went to (深入社区)."""
    rules = (catalogue or load()).whole_body
    opening = _CLAUSE_START.match(context)
    body = context[opening.end():] if opening else context
    for suffix in rules.sub_unit_suffixes:
        for length in range(2, 7):
            word = body[:length + len(suffix)]
            if not word.endswith(suffix) or len(word) != length + len(suffix):
                continue
            name = word[:length]
            if not all("\u4e00" <= ch <= "\u9fff" for ch in name) or any(ch in "村社区" for ch in name[:1]):
                continue
            if word in rules.generic_units or any(word.endswith(g) for g in rules.generic_units):
                continue
            if name.startswith(rules.scope_prefixes) or name.startswith(NOT_A_NAME_START):
                continue
            return word
    return None


@cache
def _indicator_table(catalogue: Catalogue, kind: Kind, areas: tuple[str, ...]) -> tuple[tuple[str, str], ...]:
    return tuple((cue, i.id) for i in catalogue.indicators if i.kind == kind and i.area in areas for cue in i.cues)


def indicator_of(tiers: Iterable[str], kind: Kind, areas: Sequence[str],
                 catalogue: Catalogue | None = None, unit: str | None = None) -> Decision:
    """The indicator of `kind` in one of `areas` that the first tier with any cue points to; an
    indicator whose units do not include `unit`, or that does not count meetings when the words
    name one, is not a candidate."""
    catalogue = catalogue or load()
    table = _indicator_table(catalogue, kind, tuple(areas))
    for words in tiers:
        meeting = any(w in words for w in catalogue.whole_body.meeting_words)
        hits = [h for h in _hits(words, table)
                if _counts(catalogue.indicator_by_id[h.owner], unit, meeting)]
        if hits:
            chosen, owners = _decide(hits, catalogue, "last")
            if len(owners) == 1:
                return Decision(chosen, True, (chosen,))
            return Decision(chosen, False, (chosen, *sorted(owners - {chosen})))
    return Decision(None, True)


def _counts(indicator: Indicator, unit: str | None, meeting: bool) -> bool:
    if unit is not None and indicator.units and unit not in indicator.units:
        return False
    return indicator.counts_meetings or not meeting


@dataclass(frozen=True)
class MetricAssignment:
    area: Decision
    indicator: Decision
    kind: Kind


def assign_metric(name: str, context: str, unit: str, lead: str = "", headings: Sequence[str] = (),
                  year: int | None = None, plans: bool = False,
                  catalogue: Catalogue | None = None, before: str = "") -> MetricAssignment:
    """Area and indicator of one metric from its name (what is counted), its clause, its unit,
    the words of its sentence before the clause (`before`: a list's later items leave their
    subject to the first, 接收社区矫正对象 58 人，解除 55 人) and the headings it stands under
    (innermost first)."""
    catalogue = catalogue or load()
    kind = value_kind(unit)
    area = area_of((name, context, before, *headings), catalogue, audience_in=context)
    reason = not_whole_body(context, lead, year, plans, catalogue)
    if reason is not None:
        return MetricAssignment(area, Decision(None, True, (), reason), kind)
    indicator = indicator_of((name, context), kind, area.shortlist if not area.settled else (area.value,), catalogue,
                             unit)
    if not area.settled and indicator.settled and indicator.value is not None:
        # One indicator of one of the candidate areas: the more specific evidence settles both.
        owner = catalogue.indicator_by_id[indicator.value].area
        area = Decision(owner, True, (owner,))
    return MetricAssignment(area, indicator, kind)


def first_sentence(quote: str) -> str:
    """A problem's first sentence: what it says is lacking is stated first."""
    match = re.search(r"[。；;！？!?\n]", quote)
    return quote[:match.start()] if match else quote


def assign_problem(quote: str, catalogue: Catalogue | None = None) -> Decision:
    """A problem's area: from its first sentence, else from the whole item; among several, the
    first topic named."""
    return area_of((first_sentence(quote), quote), catalogue, head="first")


def indicator_fits(indicator_id: str, kind: Kind, area: str | None,
                   catalogue: Catalogue | None = None) -> str | None:
    """Why an indicator cannot label an item (unknown, wrong kind for the unit, another area), or None."""
    found: Indicator | None = (catalogue or load()).indicator(indicator_id)
    if found is None:
        return f"「{indicator_id}」不在指标目录里"
    if found.kind != kind:
        return f"「{indicator_id}」的数值类型是 {found.kind}，而这个数的单位是 {kind}"
    if area is not None and found.area != area:
        return f"「{indicator_id}」属于 {found.area}，与这一项的领域 {area} 矛盾"
    return None

