"""Numbers of one report that contradict each other, read from the stored metrics and the words
of their clauses. Each check is a rule by class (see words); where the text does not say how two
numbers relate, no check guesses.

  rate_over_100        a share above 100% (办结率120%); a change or a ratio to a base is not a share
  part_exceeds_whole   a part larger than its whole: 受理48件，已办结52件; 50起，其中60起
  parts_exceed_total   parts listed with 、 that sum past the total they belong to
  rate_disagrees       a rate beside the two counts it is computed from, off by more than rounding
  duplicate_indicator  one indicator stated twice with different values
"""

from __future__ import annotations

from collections.abc import Iterator

from llm_extract.propose.ground import fold
from llm_extract.schemas import MetricRecord
from llm_extract.checks.finding import Finding, Severity, span_key
from llm_extract.checks.mentions import Mention, between, cjk, mentions, shown, value_shown
from llm_extract.checks.words import (
    BASE,
    CHANGE,
    FILLER,
    LEAD_TIME,
    PART_MARKERS,
    PART_RE,
    REMAINDER,
    SHARE,
    TOTAL_MARKERS,
    WHOLE_RE,
)


def consistency_findings(text: str, metrics: list[MetricRecord]) -> list[Finding]:
    """Every consistency finding of one report, each once, in text order."""
    found = mentions(text, metrics)
    by_sentence: dict[int, list[Mention]] = {}
    for m in found:
        by_sentence.setdefault(m.sentence, []).append(m)
    results: list[Finding] = [*rates_over_100(found), *duplicate_indicators(found)]
    for sentence in by_sentence.values():
        pairs = list(part_whole_pairs(text, sentence))
        results += parts_exceeding_wholes(pairs)
        results += parts_exceeding_totals(text, sentence, pairs)
        results += rates_disagreeing(text, sentence, pairs)
    unique = {f.check_id: f for f in results}
    return sorted(unique.values(), key=lambda f: (f.char_start or 0, f.check_id))


def _finding(check: str, severity: Severity, message: str, items: list[Mention], key: str | None = None) -> Finding:
    spans = [m.span for m in items]
    return Finding(check_name=check, check_id=f"{check}:{key or span_key(spans)}", severity=severity,
                   message=message, metric_ids=tuple(m.id for m in items),
                   char_start=min(s for s, _ in spans), char_end=max(e for _, e in spans))


# --- rates ----------------------------------------------------------------------------------------
def is_change_or_ratio(m: Mention) -> bool:
    """A percentage that may exceed 100%: a change (同比增长300%) or a ratio to a base (完成年度
    任务的120%, 是去年的150%), read in the clause before the number and right after it."""
    return bool(CHANGE.search(m.lead) or BASE.search(m.lead) or CHANGE.match(m.after.lstrip()))


def rates_over_100(found: list[Mention]) -> Iterator[Finding]:
    for m in found:
        if m.is_rate and m.low() > 100 and not is_change_or_ratio(m):
            yield _finding("rate_over_100", "error",
                           f"{shown(m)}: a share above 100% (not a change or a ratio to a base)", [m])


# --- parts and wholes -----------------------------------------------------------------------------
def _obj(lead: str, verb_end: int) -> str:
    """The clause's object after its verb, without fillers: 受理信访件 → 信访件."""
    return cjk(FILLER.sub("", lead[verb_end:]))


def _compatible(whole_obj: str, whole_clause: str, part_obj: str) -> bool:
    """A part counts the whole's things when it names nothing (已办结52件), the same things, or
    words the whole's clause already says (医疗纠纷人民调解委员会受理医疗纠纷58件，成功调解55件)."""
    if not part_obj or not whole_obj:
        return True
    return part_obj in whole_obj or whole_obj in part_obj or part_obj[-2:] == whole_obj[-2:] or \
        part_obj in whole_clause


class Pair:
    """A part and the whole it belongs to, and how the text says so ('marker': 其中, or 'verb':
    受理 … 办结)."""

    def __init__(self, whole: Mention, part: Mention, how: str, verb: str = "") -> None:
        self.whole, self.part, self.how, self.verb = whole, part, how, verb


def _marks_parts(gap: str, whole: Mention) -> bool:
    """其中/包括 …, or the whole's own things followed by 中 (行政诉讼案件9件，行政诉讼案件中胜诉7件)."""
    if PART_MARKERS.search(gap):
        return True
    head = cjk(FILLER.sub("", whole.lead))[-2:]
    return len(head) == 2 and f"{head}中" in cjk(gap)


def part_whole_pairs(text: str, sentence: list[Mention]) -> Iterator[Pair]:
    """The parts and wholes one sentence states, by three rules:
    - after 其中/包括 (or 'the whole's things 中'), every count of the whole's unit is a part of the
      nearest count before the marker with that unit (X起，其中Y起、Z起);
    - a count whose clause concludes cases (办结, 化解, 整改 …) is a part of the nearest count
      before it, of the same unit, whose clause brings cases in (受理, 排查, 发现 …), when it
      names no other things;
    - a count whose clause is an earlier count's verb followed by a concluding verb (调处成功 after
      调处矛盾纠纷) is a part of that count."""
    counts = [m for m in sentence if not m.is_rate and not m.is_range]
    for i, whole in enumerate(counts):
        rest = counts[i + 1:]
        marker_at = None
        for j, later in enumerate(rest):
            gap = between(text, rest[j - 1] if j else whole, later)
            if _marks_parts(gap, whole):
                marker_at = j
                break
            if later.unit == whole.unit:
                break  # a nearer count of the whole's unit: the marker belongs to it
        if marker_at is None:
            continue
        for later in rest[marker_at:]:
            if TOTAL_MARKERS.match(cjk(later.lead)) and later is not rest[marker_at]:
                break  # a new total starts
            if later.unit == whole.unit:
                yield Pair(whole, later, "marker")
    yield from _verb_pairs(counts)
    yield from _repeated_verb_pairs(counts)


def _verb_pairs(counts: list[Mention]) -> Iterator[Pair]:
    current: tuple[Mention, str, str] | None = None  # the whole, its verb, its object
    for m in counts:
        whole_verb = WHOLE_RE.search(m.lead)
        part_verb = PART_RE.search(m.lead)
        # 受理 after 收到/接到 concludes what was received; otherwise it brings cases in.
        acts_as_part = part_verb is not None and (
            whole_verb is None or (current is not None and whole_verb.group() == "受理" and current[1] != "受理"))
        if acts_as_part and part_verb is not None and current is not None and current[0].unit == m.unit:
            whole, _, obj = current
            # 整改完成45处: 完成 is no object
            if _compatible(obj, cjk(whole.lead), PART_RE.sub("", _obj(m.lead, part_verb.end()))):
                yield Pair(whole, m, "verb", part_verb.group())
                if whole_verb is not None:  # what was 受理'd is, in turn, the whole of what is concluded
                    current = (m, whole_verb.group(), _obj(m.lead, whole_verb.end()))
            continue
        if whole_verb is not None and not acts_as_part:
            current = (m, whole_verb.group(), _obj(m.lead, whole_verb.end()))


def _first_word(m: Mention) -> str:
    return LEAD_TIME.sub("", cjk(FILLER.sub("", m.lead)))


def _repeated_verb_pairs(counts: list[Mention]) -> Iterator[Pair]:
    """调处矛盾纠纷67件，调处成功66件 (调解…，调解成功…): the later clause repeats the earlier
    one's first word (its verb) and adds a concluding verb, so it counts some of the earlier's."""
    for i, m in enumerate(counts):
        words = _first_word(m)
        for earlier in reversed(counts[:i]):
            stem = _first_word(earlier)[:2]
            concluded = PART_RE.match(words, 2) if len(stem) == 2 and words.startswith(stem) else None
            if earlier.unit == m.unit and concluded is not None and not PART_RE.match(_first_word(earlier), 2):
                yield Pair(earlier, m, "verb", concluded.group())
                break


def _bound(whole: Mention, pairs: list[Pair]) -> float:
    """The most a part of `whole` may be under any reading: a 其中 after a concluded count
    (排查312件，化解306件，其中婚姻家庭纠纷98件…) may list the parts of either count."""
    return max([whole.high(), *(p.whole.high() for p in pairs if p.how == "verb" and p.part is whole)])


def parts_exceeding_wholes(pairs: list[Pair]) -> Iterator[Finding]:
    for pair in pairs:
        bound = _bound(pair.whole, pairs) if pair.how == "marker" else pair.whole.high()
        if pair.part.low() > bound:
            yield _finding("part_exceeds_whole", "error",
                           f"{shown(pair.part)} is a part of {shown(pair.whole)} but larger "
                           f"({value_shown(pair.part.value)} > {value_shown(pair.whole.value)} {pair.whole.unit})",
                           [pair.whole, pair.part])


def parts_exceeding_totals(text: str, sentence: list[Mention], pairs: list[Pair]) -> Iterator[Finding]:
    """Parts joined by 、 (a list of co-ordinate items, so no two overlap) that sum past their
    whole: the count before 其中, or a total after the list (A5起、B3起，共计7起)."""
    by_whole: dict[int, list[Mention]] = {}
    wholes: dict[int, Mention] = {}
    for pair in pairs:
        if pair.how == "marker":
            by_whole.setdefault(pair.whole.id, []).append(pair.part)
            wholes[pair.whole.id] = pair.whole
    for whole_id, parts in by_whole.items():
        for run in _listed_runs(text, parts):
            yield from _sum_check(wholes[whole_id], run, _bound(wholes[whole_id], pairs))
    counts = [m for m in sentence if not m.is_rate and not m.is_range]
    for run in _listed_runs(text, counts):
        after = counts[counts.index(run[-1]) + 1:] if run[-1] in counts else []
        if after and after[0].unit == run[0].unit and TOTAL_MARKERS.match(cjk(between(text, run[-1], after[0]))):
            yield from _sum_check(after[0], run)


def _listed_runs(text: str, items: list[Mention]) -> Iterator[list[Mention]]:
    """Maximal runs of two or more counts of one unit joined by 、 alone."""
    run: list[Mention] = []
    for m in items:
        if run and m.unit == run[-1].unit and _joined(between(text, run[-1], m)):
            run.append(m)
            continue
        if len(run) >= 2:
            yield run
        run = [m]
    if len(run) >= 2:
        yield run


def _joined(gap: str) -> bool:
    return "、" in gap and not any(ch in gap for ch in "，,；;。：:\n")


def _sum_check(whole: Mention, parts: list[Mention], bound: float | None = None) -> Iterator[Finding]:
    low = sum(p.low() for p in parts)
    if low > (whole.high() if bound is None else bound) and len(parts) >= 2:
        total = sum(p.value for p in parts)
        yield _finding("parts_exceed_total", "error",
                       f"the parts {', '.join(shown(p) for p in parts)} sum to {value_shown(total)} {whole.unit}, "
                       f"more than their total {shown(whole)}", [whole, *parts])


# --- a rate beside its counts ---------------------------------------------------------------------
def rates_disagreeing(text: str, sentence: list[Mention], pairs: list[Pair]) -> Iterator[Finding]:
    """A rate the text computes from two of its counts: 占N% right after a part of a whole, or an
    X率 whose X is the verb of a part (办结率 after 办结; 调解成功率 after 成功) and names nothing
    the counts do not (按期办结率 is over the cases due, not over those received). Only when no
    count is approximate and the sentence leaves no case aside (其余…在办理期限内), and only when
    every reading of its base disagrees: the part's wholes, and any count of theirs stated in
    between (排查1265件，调解1198件，调解成功1187件，调解成功率99.1%: over the 1198 mediated)."""
    if REMAINDER.search("".join(m.lead + m.after for m in sentence)):
        return
    of_part: dict[int, list[Pair]] = {}
    for pair in pairs:
        of_part.setdefault(pair.part.id, []).append(pair)
    counts = [m for m in sentence if not m.is_rate]
    for rate in (m for m in sentence if m.is_rate and not m.is_range and not is_change_or_ratio(m)):
        before = [c for c in counts if c.num_start < rate.num_start]
        if not before:
            continue
        if SHARE.search(rate.lead) or SHARE.search(between(text, before[-1], rate)):
            found = of_part.get(before[-1].id, [])
        else:
            found = _named_by(rate, [of_part[c.id] for c in reversed(before) if c.id in of_part])
        if not found:
            continue
        part = found[0].part
        wholes = _bases(found, counts)
        if part.metric.approx or any(w.metric.approx or w.value <= 0 for w in wholes):
            continue
        computed = [100 * part.value / w.value for w in wholes]
        if all(abs(c - rate.value) > rounding(rate.value) + 1e-9 for c in computed):
            whole = found[0].whole
            yield _finding("rate_disagrees", "error",
                           f"{shown(rate)} but {value_shown(part.value)} of {value_shown(whole.value)} "
                           f"({shown(part)} of {shown(whole)}) is {computed[0]:.1f}%",
                           [rate, whole, part])


def _bases(found: list[Pair], counts: list[Mention]) -> list[Mention]:
    """The counts a part's rate may be computed over: its wholes, then the counts of the same
    unit stated between a whole and the part."""
    part = found[0].part
    wholes = list({p.whole.id: p.whole for p in found}.values())
    for whole in list(wholes):
        wholes += [c for c in counts if whole.num_start < c.num_start < part.num_start and c.unit == part.unit
                   and all(c.id != w.id for w in wholes)]
    return wholes


def _named_by(rate: Mention, candidates: list[list[Pair]]) -> list[Pair]:
    """The pairs (of one part) whose part's verb names the rate (X率 with X ending in the verb),
    the words before the verb in X naming only what the counts name."""
    name = cjk(rate.lead)
    at = name.rfind("率")
    if at < 0:
        return []
    stem = name[:at]
    for pairs in candidates:
        named = [p for p in pairs if _names(stem, p)]
        if named:
            return named
        if any(stem.endswith(_verb_of(p)) for p in pairs):
            return []  # the nearest part the rate names has a qualifier the counts do not give
    return []


def _verb_of(pair: Pair) -> str:
    if pair.verb:
        return pair.verb
    verb = PART_RE.search(pair.part.lead)
    return verb.group() if verb else "\0"


def _names(stem: str, pair: Pair) -> bool:
    verb = _verb_of(pair)
    if not stem.endswith(verb):
        return False
    # The word right before the verb (调解 in 调解成功率, 信访件 in 信访件办结率) must be one the
    # counts use; 按期/及时 办结率 counts something the text does not give.
    qualifier = stem[:-len(verb)][-2:]
    return not qualifier or qualifier in cjk(pair.whole.lead) + cjk(pair.part.lead)


def rounding(value: float) -> float:
    """How far a stated rate may be from the exact one: a unit of its last decimal (rounded or
    cut off): 98.5 → 0.1, 100 → 1."""
    text = f"{value:.6f}".rstrip("0").rstrip(".")
    return 10.0 ** -len(text.split(".")[1]) if "." in text else 1.0


# --- one indicator, two values ------------------------------------------------------------------
def states_the_same_thing(a: Mention, b: Mention) -> bool:
    """Two mentions of one indicator state one quantity only when the report names it in the same
    words. Differently named mentions are usually a part (成功调解… beside 调解…) or another scope
    (a campaign's events beside the year's), which the indicator's assignment may not tell apart:
    not a contradiction."""
    first, second = fold(a.metric.name), fold(b.metric.name)
    return len(first) >= 2 and first == second


def duplicate_indicators(found: list[Mention]) -> Iterator[Finding]:
    """The same indicator stated twice, in the same words, with values that cannot both be right
    (an approximate value allows what its last digit leaves open)."""
    by_indicator: dict[str, list[Mention]] = {}
    for m in found:
        if m.metric.indicator:
            by_indicator.setdefault(m.metric.indicator, []).append(m)
    for indicator, items in by_indicator.items():
        first = items[0]
        for other in items[1:]:
            if not states_the_same_thing(first, other):
                continue
            if other.unit != first.unit or other.low() > first.high() or first.low() > other.high():
                yield _finding("duplicate_indicator", "warning",
                               f"{indicator} is stated twice with different values: {shown(first)} and {shown(other)}",
                               [first, other], key=f"{indicator}:{span_key([first.span, other.span])}")
