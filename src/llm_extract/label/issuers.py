"""Who issued a report, decided by code from the issuer's own name. Pure functions, no I/O.

Chinese administrative names end in their unit (镇, 乡, 街道, 县, 区, 旗 …) followed by the organ
(人民政府, 党委, 办事处, 局 …), so the level of an issuer is a matter of grammar, not of language
understanding: the model reads the issuer from the header or signature, code classifies it.
"""

from __future__ import annotations

import re
from datetime import date

from llm_extract.propose.numbers import parse_chinese
from llm_extract.schemas import IssuerLevel, ReportMeta

# Township-level units; a 片区 is a township-level area run by a management bureau.
TOWNSHIP_UNITS = "镇|乡|街道|苏木|片区"
# County-level units (a 县级市 is written 市, which is ambiguous with a prefecture: see below).
COUNTY_UNITS = "自治县|县|区|自治旗|旗|林区|特区|综合实验区"
# Organs that are the government or party committee of the unit they follow.
GOVERNMENT_ORGANS = "人民政府|政府|党委|党工委|委员会|办事处|管理委员会|管委会|管理局|工委"
# Organs that are a department of a county-level government.
DEPARTMENT_ORGANS = "局|委|办|办公室|中心|院|所|大队|支队|站|署|厅"

_SPLIT = re.compile(r"[、，,和及\s]+")
_TOWNSHIP = re.compile(rf"(?P<unit>[\u4e00-\u9fff]{{1,8}}?(?:{TOWNSHIP_UNITS}))(?:{GOVERNMENT_ORGANS})?$")
# 县委/区委: the county's party committee is its government side, not a department.
_COUNTY_GOV = re.compile(rf"(?:{COUNTY_UNITS})(?:委|{GOVERNMENT_ORGANS})?$")
_COUNTY_DEPT = re.compile(rf"(?:{COUNTY_UNITS})[\u4e00-\u9fff]*?(?:{DEPARTMENT_ORGANS})$")
# A prefecture (市, 州, 盟, 地区) before the county names where the county sits, not the county.
_PREFECTURE = re.compile(r"^(?:中共)?[\u4e00-\u9fff]{1,8}?(?:自治州|市|州|盟|地区)(?=[\u4e00-\u9fff]{1,8}?(?:" + COUNTY_UNITS + "))")
# Words ending in 区 that name an area below a county, not a county-level district.
NOT_COUNTY = ("片区", "社区", "小区", "园区", "景区", "辖区", "街区", "库区", "山区", "牧区", "矿区")
_COUNTY = re.compile(rf"(?:中共)?(?P<county>[\u4e00-\u9fff]{{1,8}}?(?:{COUNTY_UNITS}))")


def bodies(issuer: str) -> list[str]:
    """The bodies of a joint issuer ("中共某镇党委、某镇人民政府"), each without 中共."""
    return [b.removeprefix("中共") for b in _SPLIT.split(issuer.strip()) if b]


def issuer_level(issuer: str) -> IssuerLevel:
    """The level of the issuing body; for a joint issuer, that of its government body (the last)."""
    names = bodies(issuer)
    if not names:
        return "other"
    body = names[-1]
    if _TOWNSHIP.search(body):
        return "township"
    if _COUNTY_GOV.search(body):
        return "county_government"
    if _COUNTY_DEPT.search(body):
        return "county_department"
    return "other"


def township_of(issuer: str) -> str | None:
    """The township unit named by a township-level issuer, without its county: "青龙镇"."""
    for body in reversed(bodies(issuer)):
        match = _TOWNSHIP.search(body)
        if match:
            unit = _PREFECTURE.sub("", match.group("unit"))
            county = _county_prefix(unit)
            return unit[county.end():] if county else unit
    return None


def county_of(name: str) -> str | None:
    """The county-level unit a body's name starts from ("华宁县青龙镇人民政府" → "华宁县"),
    skipping a prefecture before it; None when the name has none."""
    for body in bodies(name):
        match = _county_prefix(_PREFECTURE.sub("", body))
        if match:
            return match.group("county")
    return None


def without_prefecture(name: str) -> str:
    """A body's name without the prefecture before its county ("固原市原州区…" → "原州区…")."""
    return _PREFECTURE.sub("", name)


def _county_prefix(name: str) -> re.Match[str] | None:
    """The county-level unit a name starts with, when something follows it and it is not an
    area below a county (片区, 社区 …)."""
    match = _COUNTY.match(name)
    if match and match.end() < len(name) and not match.group("county").endswith(NOT_COUNTY):
        return match
    return None


# --- what code reads from the header, title and signature --------------------------------------
# A line that is nothing but a body's name: a header above the title or a signature.
_BODY_LINE = re.compile(
    rf"^(?:中共)?[\u4e00-\u9fff]{{2,30}}(?:{GOVERNMENT_ORGANS}|{DEPARTMENT_ORGANS}|县委|区委|旗委)$")
# A year in Arabic or in Chinese digits (二〇二四年, the dating style of many 公文).
_CN_YEAR = "[一二][〇零O○一二三四五六七八九]{3}"
_YEAR = re.compile(rf"((?:19|20)\d\d|{_CN_YEAR})\s*年")
_CN_DAY = "[一二三四五六七八九十]{1,3}"
_DATE_LINE = re.compile(
    rf"^((?:19|20)\d\d|{_CN_YEAR})\s*年\s*(\d{{1,2}}|{_CN_DAY})\s*月\s*(\d{{1,2}}|{_CN_DAY})\s*日$")


def _number(digits: str) -> int:
    """An Arabic or Chinese number of a date: 2025, 二〇二五 (O and ○ as typed for 〇), 二十."""
    if digits.isdigit():
        return int(digits)
    return parse_chinese(digits.replace("O", "〇").replace("○", "〇"))
# A township named at the start of a title is followed by its year, organ or the report's words.
_TITLE_TOWNSHIP = re.compile(
    rf"^(?P<unit>[\u4e00-\u9fff]{{1,14}}?(?:{TOWNSHIP_UNITS}))(?=\s|\d|人民政府|党委|党工委|政府|办事处|管理局|关于|法治|年度|$)")
# A 公文 title is 发文机关 + 关于 + 事由 + 文种 (X局关于2022年法治工作情况的报告) or 发文机关 + year +
# 事由 (X片区2022年法治政府建设工作报告): the issuer is what stands before 关于, the year, or the
# first words of the matter, when it ends in a unit or an organ. Joint issuers are spaced apart.
_TITLE_ISSUER = re.compile(
    r"^(?P<issuer>[\u4e00-\u9fff][\u4e00-\u9fff\s]{1,40}?)\s*"
    r"(?=关于|(?:19|20)\d\d\s*年|[一二〇零○][〇零○一二三四五六七八九]{3}\s*年|年度|法治政府建设|法治建设|依法行政|法治工作)")
_ISSUER_END = re.compile(
    rf"(?:{TOWNSHIP_UNITS}|{COUNTY_UNITS}|{GOVERNMENT_ORGANS}|{DEPARTMENT_ORGANS}|县委|区委|旗委|市|州|盟)$")
# How a report speaks of its own body (我镇, 本局) says its level when no line names the body.
SELF_LEVELS: tuple[tuple[IssuerLevel, tuple[str, ...]], ...] = (
    ("township", ("我镇", "本镇", "我乡", "本乡", "我街道", "本街道", "我苏木", "我片区", "本片区")),
    ("county_department", ("我局", "本局", "我委", "本委", "我办", "本办", "本部门", "我部门", "我中心", "本中心")),
    ("county_government", ("我县", "本县", "我区", "本区", "我旗", "本旗", "全县", "全区", "全旗")),
)
SELF_CHARS = 3000
HEAD_LINES = 6
MAX_TITLE = 60
TAIL_LINES = 8


def _clean(line: str) -> str:
    return line.strip().strip("#").strip().replace("\u3000", "").replace(" ", "")


def _lines(text: str) -> list[str]:
    return [c for c in (_clean(line) for line in text.split("\n")) if c]


def title_line(text: str) -> str | None:
    """The report's title: the first of the opening lines that says it is a report."""
    for line in _lines(text)[:HEAD_LINES]:
        # A sentence that ends "…报告如下" is body text, not a title.
        if 6 <= len(line) <= MAX_TITLE and "报告" in line and not any(p in line for p in "。，,；;：:"):
            return line
    return None


def header_issuer(text: str) -> str | None:
    """Bodies named on their own lines above the title, or in the signature; joined by 、."""
    lines = _lines(text)
    title = title_line(text)
    head = lines[:lines.index(title)] if title in lines else []
    found = [line for line in head if _BODY_LINE.match(line)]
    if not found:
        tail = lines[-TAIL_LINES:]
        found = [line for line in tail if _BODY_LINE.match(line)]
    unique = list(dict.fromkeys(found))
    return "、".join(unique) if unique else None


def title_issuer(text: str) -> str | None:
    """The issuer a title names before its matter (see _TITLE_ISSUER), bodies joined by 、."""
    title = title_line(text)
    if title is None:
        return None
    raw = next((line.strip().strip("#").strip() for line in text.split("\n") if _clean(line) == title), title)
    match = _TITLE_ISSUER.match(raw.replace("\u3000", " "))
    if match is None:
        return None
    found = [body for body in match.group("issuer").split() if body]
    if not found or not all(len(body) >= 2 and _ISSUER_END.search(body) for body in found):
        return None
    return "、".join(found)


def self_level(text: str) -> IssuerLevel | None:
    """The level the report's own words give its body (我镇…, 我局…), the most used; None if none."""
    head = text[:SELF_CHARS]
    counts = {level: sum(head.count(word) for word in words) for level, words in SELF_LEVELS}
    level, count = max(counts.items(), key=lambda item: item[1])
    return level if count else None


def report_year(text: str) -> int | None:
    """The year the title reports on; without a title, the first year the opening names."""
    title = title_line(text)
    for source in (title or "", "\n".join(_lines(text)[:HEAD_LINES])):
        match = _YEAR.search(source)
        if match:
            return _number(match.group(1))
    return None


def signature_date(text: str) -> tuple[int, int, int] | None:
    """The date on a line of its own among the last lines (the signature)."""
    for line in reversed(_lines(text)[-TAIL_LINES:]):
        match = _DATE_LINE.match(line)
        if match:
            return _number(match.group(1)), _number(match.group(2)), _number(match.group(3))
    return None


def title_township(title: str) -> str | None:
    match = _TITLE_TOWNSHIP.match(title)
    return township_of(match.group("unit")) if match else None


def read_metadata(text: str) -> ReportMeta:
    """What code alone reads: issuer lines, the title's year and township, the signature date."""
    title = title_line(text) or ""
    # Many published reports have no header line or signature: then the title names the issuer.
    issuer = header_issuer(text) or title_issuer(text)
    signed = signature_date(text)
    try:
        when = date(*signed) if signed else None
    except ValueError:
        when = None
    return settle(ReportMeta(issuer=issuer, year=report_year(text), report_date=when,
                             township=title_township(title), county=county_of(title),
                             issuer_level=None if issuer else self_level(text)))


def settle(code: ReportMeta, model: ReportMeta | None = None) -> ReportMeta:
    """Code's exact readings first; the model's (already checked against the text) only for what
    needs reading the body: township and county when the title and issuer lines do not name
    them, and the year when no title or opening gives it. The issuer and the date are what the
    header, title and signature lines say, or nothing: a body named in the running text is not an
    issuer.
    Then level, township and county follow from the issuer by grammar."""
    model = model or ReportMeta()
    issuer = code.issuer
    # The level is the issuer's grammar; without an issuer, what the report calls itself (我局);
    # only then a township named somewhere, never a default.
    level: IssuerLevel | None = issuer_level(issuer) if issuer else code.issuer_level
    named_township = code.township or model.township
    if level is None and named_township:
        level = "township"
    township = None
    if level == "township":
        township = (township_of(issuer) if issuer else None) or named_township
        township = township_of(township) if township else None
    county = (county_of(issuer) if issuer else None) or code.county or _county_name(model.county)
    return ReportMeta(township=township, county=county, year=code.year or model.year, issuer=issuer,
                      report_date=code.report_date, issuer_level=level)


def model_can_add(meta: ReportMeta) -> bool:
    """Whether a model's reading could change META as `settle` settles it: only township, county
    and year are ever taken from the model, and only where code has none (a township only for a
    township-level or unknown issuer). When code has them all, asking the model costs a call and
    can change nothing."""
    township_open = meta.township is None and meta.issuer_level in (None, "township")
    return meta.year is None or meta.county is None or township_open


def _county_name(value: str | None) -> str | None:
    # The model's county is kept only when it is a county-level name.
    if value and re.fullmatch(rf"[\u4e00-\u9fff]{{1,8}}?(?:{COUNTY_UNITS})", value) and not value.endswith(NOT_COUNTY):
        return value
    return None
