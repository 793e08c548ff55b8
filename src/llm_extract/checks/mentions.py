"""Stored metrics as the checks read them: each with the words of its clause before the number,
the sentence it is in, and the range of values its number allows. Pure: no I/O."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from llm_extract.propose.numbers import find_quantities, values_equal
from llm_extract.schemas import MetricRecord

SENTENCE_END = "。；;！？!?\n"
CLAUSE_END = "，,。；;：:！？!?\n、"


@dataclass(frozen=True)
class Mention:
    metric: MetricRecord
    num_start: int  # document offset of the number
    lead: str  # the clause's words before the number, read in the text (what is counted)
    sentence: int  # index of the sentence, by SENTENCE_END
    after: str  # the words after the quantity, to the end of its clause

    @property
    def id(self) -> int:
        return self.metric.metric_id

    @property
    def value(self) -> float:
        return self.metric.value

    @property
    def unit(self) -> str:
        return self.metric.unit

    @property
    def span(self) -> tuple[int, int]:
        return self.metric.char_start, self.metric.char_end

    @property
    def is_rate(self) -> bool:
        return self.metric.unit == "%"

    @property
    def is_range(self) -> bool:
        return self.metric.value_max is not None

    def low(self) -> float:
        """The least value the number can mean: an approximate number (约60, 60余) may be a step below."""
        return self.value - step(self.value) if self.metric.approx else self.value

    def high(self) -> float:
        """The greatest: 60余 is at most 70, 100多 at most 200, 1530余 at most 1540."""
        top = self.metric.value_max if self.metric.value_max is not None else self.value
        return top + step(top) if self.metric.approx else top


def step(value: float) -> float:
    """The place of a number's last significant digit: what 余/多/约 leave open (60 → 10, 1530 → 10,
    100 → 100, 2.5 → 0.1)."""
    if value == 0:
        return 1.0
    text = f"{value:.6f}".rstrip("0").rstrip(".")
    if "." in text:
        return 10.0 ** -len(text.split(".")[1])
    digits = text.lstrip("-")
    return 10.0 ** (len(digits) - len(digits.rstrip("0")))


# A sentence that opens with 其中 (。其中，…) lists the parts of the sentence before it: one sentence.
_CONTINUES = re.compile(r"\s*(?:其中|包括)")


def sentence_ends(text: str) -> list[int]:
    return [i for i, ch in enumerate(text) if ch in SENTENCE_END and not _CONTINUES.match(text, i + 1)]


def mentions(text: str, metrics: list[MetricRecord]) -> list[Mention]:
    """The metrics in text order, each read in its sentence."""
    ends = sentence_ends(text)
    out = []
    for metric in sorted(metrics, key=lambda m: (m.char_start, m.metric_id)):
        quote = text[metric.char_start:metric.char_end]
        found = find_quantities(quote)
        if not found:  # a stored quote always parses; be safe with hand-made records
            continue
        same = [q for q in found if values_equal(q.value, metric.value)]
        quantity = (same or found)[-1]
        num_start = metric.char_start + quantity.start
        out.append(Mention(metric, num_start, _clause_before(text, num_start), _sentence_of(ends, num_start),
                           _clause_after(text, metric.char_end)))
    return out


def _sentence_of(ends: list[int], offset: int) -> int:
    low, high = 0, len(ends)
    while low < high:  # the number of sentence ends before offset
        mid = (low + high) // 2
        if ends[mid] < offset:
            low = mid + 1
        else:
            high = mid
    return low


def _clause_before(text: str, start: int, limit: int = 40) -> str:
    begin = start
    while begin > 0 and start - begin < limit and text[begin - 1] not in CLAUSE_END:
        begin -= 1
    return text[begin:start]


def _clause_after(text: str, end: int, limit: int = 30) -> str:
    stop = end
    while stop < len(text) and stop - end < limit and text[stop] not in CLAUSE_END:
        stop += 1
    return text[end:stop]


def between(text: str, left: Mention, right: Mention) -> str:
    """The characters between two mentions (left's end to right's number)."""
    return text[left.metric.char_end:right.num_start]


def shown(m: Mention) -> str:
    """A mention as a message names it: its quote."""
    return f"«{m.metric.quote}»"


def value_shown(value: float) -> str:
    if math.isfinite(value) and value == int(value):
        return str(int(value))
    return f"{value:.4g}"


_CJK = re.compile(r"[\u4e00-\u9fff]+")


def cjk(text: str) -> str:
    return "".join(_CJK.findall(text))
