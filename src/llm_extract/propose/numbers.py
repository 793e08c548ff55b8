"""Find and parse counted quantities in Chinese text: digits, Chinese numerals, 万/亿, ranges,
approximation words and units. Pure functions, no I/O: the exact half of extraction.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from llm_extract.propose.lexicon import (
    AFTER_UNIT_APPROX,
    BEFORE_UNIT_APPROX,
    BIG_HEADS,
    BIG_MODIFIER_MAX,
    CN_DIGITS,
    CN_LARGE,
    CN_SMALL,
    MULTIPLIERS,
    NOT_A_CLASSIFIER_BEFORE,
    PERCENT_WORD,
    PREFIX_APPROX,
    UNIT_ALIASES,
    UNIT_NEEDS_BOUNDARY,
)
from llm_extract.propose.lexicon import UNITS as _LEXICON_UNITS

CN_CHARS = "".join(CN_DIGITS) + "".join(CN_SMALL) + "".join(CN_LARGE)

# Longest first so that 人次 wins over 人, 场次数 over 场次 and 个百分点 over 个.
UNITS = sorted(_LEXICON_UNITS, key=len, reverse=True)

_CJK = "\u4e00-\u9fff"
_BOUNDARY = r"(?=$|[\s，。；、,;：:！？!?）)”’]|以上|左右|的)"


def _unit_pattern(unit: str) -> str:
    """One unit as a regex: guarded where its character would start another word."""
    pattern = re.escape(unit)
    guard = NOT_A_CLASSIFIER_BEFORE.get(unit)
    if guard:
        pattern += f"(?![{guard}])"
    if unit in UNIT_NEEDS_BOUNDARY:
        pattern += _BOUNDARY
    return pattern


# A multiplier does not split a unit that starts with its character: 3千米 is 3 千米, not 3000 米.
_MULT_UNIT_TAILS = "".join(u[1:] for u in UNITS if len(u) == 2 and u[0] in MULTIPLIERS)

# Detection is linear in the text: a number starts only where a run of its digits starts (a
# match from inside a run could only repeat the run's own failure), a digit number is atomic
# (nothing after it starts with a digit, a comma or a point, so giving some back never helps),
# and whitespace between the parts is possessive (no part starts with whitespace). Without
# these, a long run of digits or of spaces that ends in no unit is tried once per split.
# A run longer than a count is written with is no count (an identifier, a code), and longer
# than a float holds exactly: at most 15 digits before and after the point, 20 numeral
# characters (九千九百九十九万九千九百九十九 is 15).
MAX_DIGITS = 15
MAX_NUMERALS = 20
_D = "0-9０-９"
_DIGIT_NUM = rf"(?<![{_D}])(?>[{_D}]{{1,{MAX_DIGITS}}}(?:,[0-9]{{3}})*(?:[.．][{_D}]{{1,{MAX_DIGITS}}})?)(?![{_D}])"
# Not atomic: a Chinese numeral gives back its 千 to a unit that starts with it (三千米).
_CN_NUM = f"(?<![{CN_CHARS}])[{CN_CHARS}]{{1,{MAX_NUMERALS}}}"
_NUM = f"(?:{_DIGIT_NUM}|{_CN_NUM})"
_WS = r"\s*+"
_UNIT = "|".join(_unit_pattern(u) for u in UNITS)
_PREFIX = "|".join(PREFIX_APPROX)
_BEFORE = "|".join(BEFORE_UNIT_APPROX)
_AFTER = "|".join(AFTER_UNIT_APPROX)
_BIG = "|".join(BIG_HEADS)

QUANTITY_RE = re.compile(
    rf"(?P<prefix>{_PREFIX})?"
    rf"(?P<num>{_NUM})"
    rf"(?:{_WS}(?:-|~|～|—|–|至|到){_WS}(?P<num2>{_NUM}))?"
    rf"{_WS}(?P<mult>[万亿千](?![{_MULT_UNIT_TAILS}])(?={_WS}(?:{_BEFORE})?{_WS}(?:{_UNIT})))?"
    rf"{_WS}(?P<approx>{_BEFORE})?"
    # A measure word, or the pseudo-classifier 大 with its head noun (6大行业领域).
    rf"{_WS}(?:(?P<unit>{_UNIT})|大(?P<bigmod>[{_CJK}]{{0,{BIG_MODIFIER_MAX}}})(?P<bigunit>{_BIG}))"
    rf"(?P<suffix>{_AFTER})?"
)
# A percentage in words: 百分之百, 百分之九十五以上.
PERCENT_WORD_RE = re.compile(
    rf"(?P<prefix>{_PREFIX})?{PERCENT_WORD}(?P<num>{_NUM})(?P<suffix>{_AFTER})?"
)


@dataclass(frozen=True)
class Quantity:
    """A number with its unit, found at [start, end) of the text it was found in."""

    start: int
    end: int
    num_start: int
    num_end: int
    value: float
    value_max: float | None
    unit: str
    approx: bool
    is_chinese: bool
    raw: str


def parse_chinese(text: str) -> int:
    """Parse a Chinese numeral: 两 → 2, 十二 → 12, 一百二十 → 120, 三万五千 → 35000."""
    if not text or any(ch not in CN_CHARS for ch in text):
        raise ValueError(f"not a Chinese numeral: {text!r}")
    total, section, digit = 0, 0, 0
    for ch in text:
        if ch in CN_DIGITS:
            digit = digit * 10 + CN_DIGITS[ch] if digit and _all_digits(text) else CN_DIGITS[ch]
        elif ch in CN_SMALL:
            section += (digit or 1) * CN_SMALL[ch]
            digit = 0
        else:
            total += (section + digit or 1) * CN_LARGE[ch]
            section, digit = 0, 0
    return total + section + digit


def _all_digits(text: str) -> bool:
    # 二〇二四 style: positional digits with no 十/百/千.
    return all(ch in CN_DIGITS for ch in text)


def parse_number(text: str) -> float:
    """Parse digits (half- or full-width, with decimals and thousands commas) or Chinese."""
    text = text.strip()
    if text and text[0] in CN_CHARS:
        return float(parse_chinese(text))
    ascii_text = "".join(_to_ascii_digit(ch) for ch in text).replace(",", "")
    return float(ascii_text)


def _to_ascii_digit(ch: str) -> str:
    if "０" <= ch <= "９":
        return chr(ord(ch) - ord("０") + ord("0"))
    return "." if ch == "．" else ch


def find_quantities(text: str) -> list[Quantity]:
    """Every number followed by a count unit, left to right, parsed exactly."""
    found = [q for m in QUANTITY_RE.finditer(text) if (q := _to_quantity(m)) is not None]
    found += [q for m in PERCENT_WORD_RE.finditer(text) if (q := _percent_word(m)) is not None]
    found.sort(key=lambda q: (q.start, -q.end))
    kept: list[Quantity] = []
    for quantity in found:  # the two patterns never share a number, but be sure
        if not kept or quantity.start >= kept[-1].end:
            kept.append(quantity)
    return kept


def _to_quantity(match: re.Match[str]) -> Quantity | None:
    num, num2 = match.group("num"), match.group("num2")
    is_chinese = num[0] in CN_CHARS
    try:
        value = parse_number(num)
        value_max = parse_number(num2) if num2 else None
    except ValueError:
        return None
    multiplier = MULTIPLIERS.get(match.group("mult") or "", 1)
    value *= multiplier
    if value_max is not None:
        value_max *= multiplier
    unit = match.group("unit") or match.group("bigunit")
    unit = UNIT_ALIASES.get(unit, unit)
    approx = bool(match.group("prefix") or match.group("approx") or match.group("suffix"))
    # 余 after the unit ("2人以上" is caught by suffix; "10人余" is rare) is not matched.
    return Quantity(
        start=match.start(),
        end=match.end(),
        num_start=match.start("num"),
        num_end=match.end("num2") if num2 else match.end("num"),
        value=_tidy(value),
        value_max=_tidy(value_max) if value_max is not None else None,
        unit=unit,
        approx=approx,
        is_chinese=is_chinese,
        raw=match.group(0),
    )


def _percent_word(match: re.Match[str]) -> Quantity | None:
    num = match.group("num")
    try:
        value = parse_number(num)
    except ValueError:
        return None
    return Quantity(
        start=match.start(), end=match.end(), num_start=match.start("num"), num_end=match.end("num"),
        value=_tidy(value), value_max=None, unit="%",
        approx=bool(match.group("prefix") or match.group("suffix")),
        is_chinese=num[0] in CN_CHARS, raw=match.group(0),
    )


def _tidy(value: float) -> float:
    # 2.5 * 10000 is 25000.000000000004 in binary; round to what the text meant.
    return round(value, 6)


def values_equal(a: float | None, b: float | None, rel: float = 1e-6) -> bool:
    if a is None or b is None:
        return a is b
    return abs(a - b) <= rel * max(abs(a), abs(b), 1.0)
