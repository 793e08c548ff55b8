"""What every converter needs to write the canonical text: a builder that records which
characters it generated, and the rules by class for lines (where a wrapped line continues, where
a list item or heading starts)."""

from __future__ import annotations

import re

from llm_extract.ingest.formats import Span

# A sentence or clause that ends here: a wrapped line ending in one of these ended its sentence.
SENTENCE_FINAL = "。！？!?；;：:…"
# Closing marks that may follow the final punctuation (。” ）).
CLOSERS = "”’」』）)》〉】]\"'"
# The start of a heading or list item, by its form: a numeral with its list punctuation, a
# bracketed numeral, a circled numeral, 第N章/节/条, an enumerator N是, a bullet. Used to decide
# that a line does not continue the one before it.
LIST_START = re.compile(
    r"[ \t\u3000]*(?:"
    r"[一二三四五六七八九十百零〇]+[、．.，,]"
    r"|[（(][ \t\u3000]*[一二三四五六七八九十百零〇0-9０-９]{1,4}[ \t\u3000]*[)）]"
    r"|[0-9０-９]{1,3}[、．.](?![0-9０-９])"
    r"|[①-⑳⑴-⒇⒈-⒛]"
    r"|第[一二三四五六七八九十百零〇0-9０-９]+[章节条款部分篇]"
    r"|[一二三四五六七八九十]是"
    r"|[•·▪●○■□◆◇▶►\-–—*][ \t\u3000]"
    r")"
)
_CONTROL = {c: None for c in range(32) if chr(c) not in "\n\t"} | {0x7F: None, 0xFFFE: None, 0xFFFF: None}


def ends_sentence(line: str) -> bool:
    stripped = line.rstrip().rstrip(CLOSERS)
    return bool(stripped) and stripped[-1] in SENTENCE_FINAL


def starts_item(line: str) -> bool:
    return LIST_START.match(line) is not None


def joiner(before: str, after: str) -> str:
    """What goes between a wrapped line and its continuation: nothing in Chinese (no hyphens, no
    spaces), one space between two Latin letters or digits that the wrap separated."""
    a, b = before.rstrip()[-1:], after.lstrip()[:1]
    return " " if a and b and a.isascii() and b.isascii() and a.isalnum() and b.isalnum() else ""


def clean(text: str) -> str:
    """No control characters (a PDF's \\x02 soft hyphen, stray NULs), no carriage returns."""
    return text.replace("\r\n", "\n").replace("\r", "\n").translate(_CONTROL)


class TextBuilder:
    """Appends pieces of text, remembering which were generated (list labels)."""

    def __init__(self) -> None:
        self.parts: list[str] = []
        self.length = 0
        self.generated: list[Span] = []

    def add(self, piece: str, generated: bool = False) -> None:
        if not piece:
            return
        if generated:
            self.generated.append((self.length, self.length + len(piece)))
        self.parts.append(piece)
        self.length += len(piece)

    def text(self) -> str:
        return "".join(self.parts)
