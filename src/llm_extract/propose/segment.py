"""The heading tree of a report, with code-point spans into the original text. No I/O.

Levels: `一、` is 1, `（一）`/`(一)` is 2, `（1）`/`1.` heading a paragraph is 3. Markdown `#`
marks are conversion debris and are skipped. Numbering slips (a repeated `（四）`) are kept as
written: a heading's place in the tree comes from its marker, not from counting.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_CN = "一二三四五六七八九十"
_LEAD = r"^[ \t\u3000]*(?:#+[ \t\u3000]*)?"
HEADING_PATTERNS: tuple[tuple[int, re.Pattern[str]], ...] = (
    (1, re.compile(_LEAD + rf"(?P<mark>(?P<num>[{_CN}]+)[、，,．.])[ \t\u3000]*(?P<rest>\S.*)$")),
    (2, re.compile(_LEAD + rf"(?P<mark>[（(][ \t\u3000]*(?P<num>[{_CN}]+)[ \t\u3000]*[)）])[ \t\u3000]*(?P<rest>\S.*)$")),
    (3, re.compile(_LEAD + r"(?P<mark>[（(][ \t\u3000]*(?P<num>[0-9]{1,2})[ \t\u3000]*[)）])[ \t\u3000]*(?P<rest>\S.*)$")),
    # "1." must not be a decimal ("1.5万"), so the mark needs a non-digit after it.
    (3, re.compile(_LEAD + r"(?P<mark>(?P<num>[0-9]{1,2})[.．、](?![0-9]))[ \t\u3000]*(?P<rest>\S.*)$")),
)
# A run-on heading ends at the first full stop; a longer "title" is body text.
TITLE_END = "。"
MAX_TITLE = 80


@dataclass(frozen=True)
class SectionSpan:
    index: int
    parent: int | None
    level: int
    number: str
    title: str
    char_start: int  # the heading's numeral (after '#' and spaces)
    char_end: int  # start of the next heading at this level or above, or end of text
    body_start: int  # first character after the title


def find_headings(text: str) -> list[tuple[int, str, str, int, int]]:
    """(level, number, title, char_start, body_start) for each heading line, in order."""
    found = []
    offset = 0
    for line in text.split("\n"):
        heading = _match_heading(line)
        if heading is not None:
            level, number, title, mark_start, body_start = heading
            found.append((level, number, title, offset + mark_start, offset + body_start))
        offset += len(line) + 1
    return found


def _match_heading(line: str) -> tuple[int, str, str, int, int] | None:
    for level, pattern in HEADING_PATTERNS:
        match = pattern.match(line)
        if match is None:
            continue
        rest = match.group("rest")
        stop = rest.find(TITLE_END)
        title = (rest if stop < 0 else rest[:stop]).strip()
        if not title or len(title) > MAX_TITLE or title.startswith(("是", "要")):
            return None  # "一是…" enumerates, it does not head a section
        body_start = match.start("rest") + (len(rest) if stop < 0 else stop + 1)
        number = match.group("num")
        mark_start = match.start("mark")
        if line[mark_start] in "（(":
            return level, number, title, mark_start, body_start
        return level, number, title, match.start("num"), body_start
    return None


def segment(text: str) -> list[SectionSpan]:
    """Build the heading tree; each section runs to the next heading at its level or above."""
    headings = find_headings(text)
    spans: list[SectionSpan] = []
    stack: list[int] = []  # indices of open ancestors
    for i, (level, number, title, start, body_start) in enumerate(headings):
        end = len(text)
        for later_level, _, _, later_start, _ in headings[i + 1:]:
            if later_level <= level:
                end = later_start
                break
        while stack and spans[stack[-1]].level >= level:
            stack.pop()
        parent = stack[-1] if stack else None
        spans.append(SectionSpan(i, parent, level, number, title, start, _rstrip(text, start, end), body_start))
        stack.append(i)
    return spans


def _rstrip(text: str, start: int, end: int) -> int:
    # Trailing blank lines belong to no one; keep spans tight for display and overlap tests.
    while end > start and text[end - 1].isspace():
        end -= 1
    return end


def section_at(spans: list[SectionSpan], offset: int) -> SectionSpan | None:
    """The deepest section containing offset."""
    best = None
    for span in spans:
        if span.char_start <= offset < span.char_end and (best is None or span.level >= best.level):
            best = span
    return best
