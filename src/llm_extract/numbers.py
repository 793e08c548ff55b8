"""Find and parse counted quantities in Chinese text: digits, Chinese numerals, 万/亿, ranges,
approximation words and units. Pure functions, no I/O: the exact half of extraction.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

CN_DIGITS = {"零": 0, "〇": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5,
             "六": 6, "七": 7, "八": 8, "九": 9}
CN_SMALL = {"十": 10, "百": 100, "千": 1000}
CN_LARGE = {"万": 10_000, "亿": 100_000_000}
CN_CHARS = "".join(CN_DIGITS) + "".join(CN_SMALL) + "".join(CN_LARGE)

# Longest first so that 人次 wins over 人 and 场次数 over 场次.
UNITS = sorted(
    [
        "次", "次数", "场", "场次", "场次数", "人", "人次", "名", "位", "份", "册", "本", "张",
        "条", "起", "件", "宗", "例", "个", "处", "家", "户", "轮", "期", "篇", "项", "元",
        "所", "座", "台", "块", "幅", "套", "天", "小时", "课时", "亩", "平方米", "公里",
        "吨", "个百分点", "%", "％",
    ],
    key=len,
    reverse=True,
)
# Units as written that normalise to another unit (the multiplier goes into the value).
UNIT_ALIASES = {"次数": "次", "场次数": "场次", "％": "%"}

PREFIX_APPROX = ("不低于", "不少于", "超过", "近", "约", "逾")
BEFORE_UNIT_APPROX = ("余", "多")  # 60余次, 7000多人
AFTER_UNIT_APPROX = ("以上", "左右")  # 2人以上

_DIGIT_NUM = r"[0-9０-９]+(?:,[0-9]{3})*(?:[.．][0-9０-９]+)?"
_CN_NUM = f"[{CN_CHARS}]+"
_NUM = f"(?:{_DIGIT_NUM}|{_CN_NUM})"
_UNIT = "|".join(re.escape(u) for u in UNITS)
_PREFIX = "|".join(PREFIX_APPROX)
_BEFORE = "|".join(BEFORE_UNIT_APPROX)
_AFTER = "|".join(AFTER_UNIT_APPROX)

QUANTITY_RE = re.compile(
    rf"(?P<prefix>{_PREFIX})?"
    rf"(?P<num>{_NUM})"
    rf"(?:\s*(?:-|~|～|—|–|至|到)\s*(?P<num2>{_NUM}))?"
    rf"\s*(?P<mult>[万亿千](?=\s*(?:{_BEFORE})?\s*(?:{_UNIT})))?"
    rf"\s*(?P<approx>{_BEFORE})?"
    rf"\s*(?P<unit>{_UNIT})"
    rf"(?P<suffix>{_AFTER})?"
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
    found = []
    for match in QUANTITY_RE.finditer(text):
        quantity = _to_quantity(match, text)
        if quantity is not None:
            found.append(quantity)
    return found


def _to_quantity(match: re.Match[str], text: str) -> Quantity | None:
    num, num2 = match.group("num"), match.group("num2")
    is_chinese = num[0] in CN_CHARS
    try:
        value = parse_number(num)
        value_max = parse_number(num2) if num2 else None
    except ValueError:
        return None
    multiplier = {"万": 10_000, "亿": 100_000_000, "千": 1000}.get(match.group("mult") or "", 1)
    value *= multiplier
    if value_max is not None:
        value_max *= multiplier
    unit = match.group("unit")
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


def _tidy(value: float) -> float:
    # 2.5 * 10000 is 25000.000000000004 in binary; round to what the text meant.
    return round(value, 6)


def values_equal(a: float | None, b: float | None, rel: float = 1e-6) -> bool:
    if a is None or b is None:
        return a is b
    return abs(a - b) <= rel * max(abs(a), abs(b), 1.0)
