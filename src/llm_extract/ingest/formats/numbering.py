"""Word's automatic list numbering, resolved to the labels Word shows (一、 （三） 1.).

Chinese reports number their headings with list numbering defined in numbering.xml, not typed
numerals; a reader that drops it loses every heading. This follows ECMA-376 §17.9: a paragraph's
numbering comes from its own numPr or, failing that, from its style's (style-linked numbering,
through basedOn); a num instance points to an abstract definition whose levels give the start,
the number format, the level text (`%1、`, `（%2）`, `%1.%2`), the restart rule and the suffix; a
num's lvlOverride may restart a level (startOverride) or replace it. Counters belong to the
abstract definition, so every num that shares it continues one list, as Word counts.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
LEVELS = 9

_CN_DIGITS = "零一二三四五六七八九"
_CN_LEGAL = "零壹贰叁肆伍陆柒捌玖"
_TIANGAN = "甲乙丙丁戊己庚辛壬癸"
_DIZHI = "子丑寅卯辰巳午未申酉戌亥"
_ROMAN = ((1000, "m"), (900, "cm"), (500, "d"), (400, "cd"), (100, "c"), (90, "xc"),
          (50, "l"), (40, "xl"), (10, "x"), (9, "ix"), (5, "v"), (4, "iv"), (1, "i"))


def chinese_counting(n: int, digits: str = _CN_DIGITS, units: str = "十百千") -> str:
    """1 一, 10 十, 11 十一, 20 二十, 105 一百零五, 1010 一千零一十 (the counting Word shows for
    chineseCounting and chineseCountingThousand; numbers past 9999 in digits)."""
    if n <= 0 or n > 9999:
        return str(n)
    out: list[str] = []
    zero = False
    for power, unit in ((1000, units[2]), (100, units[1]), (10, units[0]), (1, "")):
        d = n // power % 10
        if d == 0:
            zero = bool(out)
            continue
        if zero:
            out.append(digits[0])
            zero = False
        # 十一 not 一十一 when ten leads; 一百一十 keeps its 一.
        if not (power == 10 and d == 1 and not out):
            out.append(digits[d])
        out.append(unit)
    return "".join(out)


def format_number(n: int, fmt: str) -> str:
    if fmt in ("chineseCounting", "chineseCountingThousand", "taiwaneseCounting",
               "taiwaneseCountingThousand", "japaneseCounting", "koreanCounting"):
        return chinese_counting(n)
    if fmt == "chineseLegalSimplified":
        return chinese_counting(n, _CN_LEGAL, "拾佰仟")
    if fmt == "ideographTraditional":
        return _TIANGAN[(n - 1) % 10]
    if fmt == "ideographZodiac":
        return _DIZHI[(n - 1) % 12]
    if fmt in ("ideographDigital", "taiwaneseDigital", "japaneseDigitalTenThousand"):
        return "".join("〇一二三四五六七八九"[int(d)] for d in str(n))
    if fmt in ("decimalFullWidth", "decimalFullWidth2"):
        return str(n).translate(str.maketrans("0123456789", "０１２３４５６７８９"))
    if fmt == "decimalZero":
        return f"{n:02d}"
    if fmt in ("decimalEnclosedCircle", "decimalEnclosedCircleChinese", "ideographEnclosedCircle") and 1 <= n <= 20:
        return chr(0x2460 + n - 1)
    if fmt == "decimalEnclosedParen" and 1 <= n <= 20:
        return chr(0x2474 + n - 1)
    if fmt == "decimalEnclosedFullstop" and 1 <= n <= 20:
        return chr(0x2488 + n - 1)
    if fmt in ("upperLetter", "lowerLetter") and n > 0:
        letter = chr(ord("a") + (n - 1) % 26) * ((n - 1) // 26 + 1)
        return letter.upper() if fmt == "upperLetter" else letter
    if fmt in ("upperRoman", "lowerRoman") and 0 < n < 4000:
        roman = ""
        for value, symbol in _ROMAN:
            while n >= value:
                roman += symbol
                n -= value
        return roman.upper() if fmt == "upperRoman" else roman
    if fmt == "none":
        return ""
    return str(n)  # decimal, decimalHalfWidth, ordinal, cardinalText… : the digits


@dataclass
class Level:
    start: int = 1
    fmt: str = "decimal"
    text: str = "%1."
    restart: int | None = None  # lvlRestart: None = after any earlier level, 0 = never
    legal: bool = False  # isLgl: referenced levels shown as decimal
    suffix: str = "\t"
    style: str | None = None  # pStyle: the paragraph style linked to this level


@dataclass
class Num:
    abstract: str
    starts: dict[int, int] = field(default_factory=dict)  # lvlOverride/startOverride
    levels: dict[int, Level] = field(default_factory=dict)  # lvlOverride/lvl


def _val(el: Any, tag: str) -> str | None:
    child = el.find(W + tag) if el is not None else None
    return None if child is None else child.get(W + "val")


def _int(value: str | None, default: int) -> int:
    try:
        return int(value) if value is not None else default
    except ValueError:
        return default


def _level(el: Any) -> Level:
    restart = _val(el, "lvlRestart")
    legal = el.find(W + "isLgl")
    return Level(
        start=_int(_val(el, "start"), 1),
        fmt=_val(el, "numFmt") or "decimal",
        text=_val(el, "lvlText") or "",
        restart=None if restart is None else _int(restart, 0),
        legal=legal is not None and legal.get(W + "val", "true") not in ("0", "false", "off"),
        suffix={"space": " ", "nothing": ""}.get(_val(el, "suff") or "tab", "\t"),
        style=_val(el, "pStyle"),
    )


class Numbering:
    """Labels for a document's numbered paragraphs, in document order (it keeps the counters)."""

    def __init__(self, numbering: Any | None, styles: Any | None) -> None:
        self.abstracts: dict[str, dict[int, Level]] = {}
        self.style_links: dict[str, str] = {}  # abstractNum numStyleLink -> style id
        self.nums: dict[str, Num] = {}
        self.styles: dict[str, tuple[str | None, str | None, int | None]] = {}  # id -> (basedOn, numId, ilvl)
        self.default_style: str | None = None
        self.counters: dict[str, list[int | None]] = {}
        self.used: set[str] = set()
        if numbering is not None:
            for el in numbering.iter(W + "abstractNum"):
                aid = el.get(W + "abstractNumId")
                self.abstracts[aid] = {_int(lvl.get(W + "ilvl"), 0): _level(lvl) for lvl in el.findall(W + "lvl")}
                link = _val(el, "numStyleLink")
                if link:
                    self.style_links[aid] = link
            for el in numbering.iter(W + "num"):
                num = Num(_val(el, "abstractNumId") or "")
                for override in el.findall(W + "lvlOverride"):
                    ilvl = _int(override.get(W + "ilvl"), 0)
                    start = _val(override, "startOverride")
                    if start is not None:
                        num.starts[ilvl] = _int(start, 1)
                    lvl = override.find(W + "lvl")
                    if lvl is not None:
                        num.levels[ilvl] = _level(lvl)
                self.nums[el.get(W + "numId")] = num
        if styles is not None:
            for el in styles.iter(W + "style"):
                sid = el.get(W + "styleId")
                ppr = el.find(W + "pPr")
                numpr = ppr.find(W + "numPr") if ppr is not None else None
                style_ilvl = _val(numpr, "ilvl")
                self.styles[sid] = (_val(el, "basedOn"), _val(numpr, "numId"),
                                    None if style_ilvl is None else _int(style_ilvl, 0))
                if el.get(W + "type") == "paragraph" and el.get(W + "default") in ("1", "true", "on"):
                    self.default_style = sid

    def label(self, paragraph: Any) -> tuple[str, str] | None:
        """(label, suffix) Word shows before this paragraph, advancing the counters; None if not numbered."""
        found = self._num_and_level(paragraph)
        if found is None:
            return None
        num_id, ilvl = found
        num = self.nums.get(num_id)
        if num is None:
            return None
        abstract_id = self._abstract(num)
        if abstract_id is None:
            return None
        level = self._level(num, abstract_id, ilvl)
        if level is None:
            return None
        counters = self.counters.setdefault(abstract_id, [None] * LEVELS)
        if num_id not in self.used:  # a num's startOverride restarts its list where it is first used
            self.used.add(num_id)
            for override_level, start in num.starts.items():
                if 0 <= override_level < LEVELS:
                    counters[override_level] = start - 1
        current = counters[ilvl]
        counters[ilvl] = level.start if current is None else current + 1
        for deeper in range(ilvl + 1, LEVELS):
            rule = self._level(num, abstract_id, deeper)
            restart = None if rule is None else rule.restart
            if restart is None or (restart != 0 and ilvl < restart):
                counters[deeper] = None
        if level.fmt == "bullet":
            text = level.text if level.text and not ("\ue000" <= level.text[0] <= "\uf8ff") else "•"
            return text, level.suffix
        return self._render(num, abstract_id, ilvl, level, counters), level.suffix

    def _render(self, num: Num, abstract_id: str, ilvl: int, level: Level, counters: list[int | None]) -> str:
        def value(match: re.Match[str]) -> str:
            ref = int(match.group(1)) - 1
            if not 0 <= ref < LEVELS:
                return ""
            rule = self._level(num, abstract_id, ref) or Level()
            n = counters[ref]
            n = rule.start if n is None else n
            return format_number(n, "decimal" if level.legal and ref != ilvl else rule.fmt)
        return re.sub(r"%([1-9])", value, level.text)

    def _num_and_level(self, paragraph: Any) -> tuple[str, int] | None:
        ppr = paragraph.find(W + "pPr")
        numpr = ppr.find(W + "numPr") if ppr is not None else None
        style = _val(ppr, "pStyle") or self.default_style
        num_id, ilvl = _val(numpr, "numId"), _val(numpr, "ilvl")
        if num_id is not None:
            if num_id == "0":
                return None  # numbering removed on this paragraph
            if ilvl is not None:
                return num_id, min(_int(ilvl, 0), LEVELS - 1)
        # Style-linked numbering: the first style in the basedOn chain that carries numPr.
        seen: set[str] = set()
        while style is not None and style not in seen:
            seen.add(style)
            based_on, style_num, style_lvl = self.styles.get(style, (None, None, None))
            if style_num is not None or style_lvl is not None:
                num_id = num_id or style_num
                if num_id is None or num_id == "0":
                    return None
                if ilvl is None:
                    ilvl_value = style_lvl if style_lvl is not None else self._level_of_style(num_id, style)
                else:
                    ilvl_value = _int(ilvl, 0)
                return num_id, min(ilvl_value, LEVELS - 1)
            style = based_on
        return (num_id, 0) if num_id is not None else None

    def _level_of_style(self, num_id: str, style: str) -> int:
        num = self.nums.get(num_id)
        abstract_id = self._abstract(num) if num else None
        for ilvl, level in (self.abstracts.get(abstract_id or "", {})).items():
            if level.style == style:
                return ilvl
        return 0

    def _abstract(self, num: Num) -> str | None:
        """The abstract definition with the levels; a numStyleLink leads through a numbering style."""
        abstract_id = num.abstract
        for _ in range(4):
            link = self.style_links.get(abstract_id)
            if link is None:
                break
            linked_num = self.styles.get(link, (None, None, None))[1]
            target = self.nums.get(linked_num or "")
            if target is None or target.abstract == abstract_id:
                break
            abstract_id = target.abstract
        return abstract_id if abstract_id in self.abstracts else None

    def _level(self, num: Num, abstract_id: str, ilvl: int) -> Level | None:
        return num.levels.get(ilvl) or self.abstracts[abstract_id].get(ilvl)
