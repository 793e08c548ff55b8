"""Metric candidates: every counted quantity in a report, with the clause that quotes it and,
where the labelling guide excludes it, the named reason. Code proposes; the model labels.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .numbers import Quantity, find_quantities

CLAUSE_DELIMITERS = "，。；：！？、,;:!?\n（(“\"《「"
# A quote longer than this before the number is no longer "the shortest natural clause".
MAX_LEAD = 24
# No "^": Pattern.match(text, pos) already anchors at pos, and "^" would anchor at 0.
ENUMERATOR = re.compile(r"(?:[一二三四五六七八九十]+是|其[一二三四五六七八九十]|同时|并|共|另外)+")

# Fixed names that contain a counted-looking number (gold/GUIDE.md, "names that contain numbers").
NAMED_PHRASES = ("十户联防", "四次调解", "八项规定", "三项制度", "百名干部", "入千户", "四级联动", "三村联控")
REQUIREMENT_WORDS = ("需", "须", "应当", "至少", "不得少于")
ARTICLE_UNITS = ("项", "个", "批", "支", "种", "份")


@dataclass(frozen=True)
class Candidate:
    """A quantity at document offsets, its quoting clause and, if excluded, why."""

    quantity: Quantity
    quote_start: int
    quote_end: int
    exclusion: str | None

    @property
    def is_excluded(self) -> bool:
        return self.exclusion is not None


def find_candidates(text: str) -> list[Candidate]:
    found = []
    previous_end = 0
    for quantity in find_quantities(text):
        start = clause_start(text, quantity.start, floor=previous_end)
        found.append(Candidate(quantity, start, quantity.end, exclusion_reason(text, quantity)))
        previous_end = quantity.end
    return found


def clause_start(text: str, num_start: int, floor: int = 0) -> int:
    """Start of the clause that ends at the number: after the last delimiter, the previous
    quantity, an enumerator such as 一是, and at most MAX_LEAD characters back."""
    start = num_start
    limit = max(floor, num_start - MAX_LEAD)
    while start > limit and text[start - 1] not in CLAUSE_DELIMITERS:
        start -= 1
    while start < num_start and text[start].isspace():
        start += 1
    match = ENUMERATOR.match(text, start, num_start)
    if match and match.end() < num_start:
        start = match.end()
    return start


def exclusion_reason(text: str, quantity: Quantity) -> str | None:
    """The guide's reason a counted-looking number is not a metric, or None."""
    if _inside_quotes(text, quantity.num_start):
        return "name in quotation marks"
    for phrase in NAMED_PHRASES:
        at = text.find(phrase, max(0, quantity.num_start - len(phrase)), quantity.end + len(phrase))
        if at >= 0 and at <= quantity.num_start < at + len(phrase):
            return f"fixed name: {phrase}"
    if text[max(0, quantity.num_start - 1):quantity.num_start] == "第":
        return "ordinal"
    before = text[max(0, quantity.start - 3):quantity.start]
    if any(word in before for word in REQUIREMENT_WORDS):
        return "rule or threshold, not a count of what was done"
    if quantity.is_chinese and quantity.value == 1 and quantity.unit in ARTICLE_UNITS and not quantity.approx:
        return "一X used as an article"
    return None


def _inside_quotes(text: str, pos: int) -> bool:
    # Look back on the same line for an opening mark that is not yet closed.
    line_start = text.rfind("\n", 0, pos) + 1
    depth_open = None
    for i in range(pos - 1, max(line_start, pos - 20) - 1, -1):
        ch = text[i]
        if ch in "”’》」』":
            return False
        if ch in "“‘《「『":
            depth_open = i
            break
        if ch in "。；;":
            return False
    if depth_open is None:
        return False
    close = re.search(r"[”’》」』]", text[pos:pos + 20])
    return close is not None
