"""Report variants for corpus-scale tests and benchmarks: the five reports with the township name
and the numbers varied, so every file has its own bytes (its own document) and its own values.

Only digits and the township's name change; headings, structure and wording do not, so what the
rules extract from a variant has the same shape as from its source report.
"""

from __future__ import annotations

import random
import re
from collections.abc import Iterator
from pathlib import Path

from llm_extract.ingest.documents import load
from llm_extract.label.issuers import read_metadata
from tests.support.paths import REPORTS

YEAR = re.compile(r"(?<!\d)(?:19|20)\d\d(?!\d)")
DIGITS = re.compile(r"\d+")
NAME_CHARS = "安宝北昌城丰福广海河和红华吉金京康乐林龙梅南平青庆山石顺泰新兴阳永云长"


def sources() -> list[tuple[str, str | None]]:
    """(text, township) of each report in reports/."""
    out = []
    for path in sorted(REPORTS.glob("*.txt")):
        text = load(path).text
        out.append((text, read_metadata(text).township))
    return out


def variant(text: str, township: str | None, rng: random.Random) -> str:
    """One variant: a new township name (same suffix) and every number redrawn with its digit
    count kept; years move together, so a variant still reads as a consistently dated report."""
    if township and len(township) >= 2:
        name = "".join(rng.choice(NAME_CHARS) for _ in range(len(township) - 1)) + township[-1]
        text = text.replace(township, name)

    shift = rng.randint(-4, 1)  # one shift for every year of the report: its dates stay consistent

    def redraw(match: re.Match[str]) -> str:
        digits = match.group()
        if YEAR.fullmatch(digits):
            return str(int(digits) + shift)
        first = str(rng.randint(1, 9)) if len(digits) > 1 else str(rng.randint(0, 9))
        return first + "".join(str(rng.randint(0, 9)) for _ in range(len(digits) - 1))

    return DIGITS.sub(redraw, text)


def generate(n: int, seed: int = 0) -> Iterator[tuple[str, str]]:
    """(file name, text) of n variants, cycling through the reports."""
    rng = random.Random(seed)
    reports = sources()
    for i in range(n):
        text, township = reports[i % len(reports)]
        yield f"{i // 1000:03d}/variant_{i:05d}.txt", variant(text, township, rng)


def write_variants(folder: Path, n: int, seed: int = 0) -> list[Path]:
    """Write n variants under folder, a thousand per subfolder (as a corpus would be filed)."""
    paths = []
    for name, text in generate(n, seed):
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        paths.append(path)
    return paths


def next_year(text: str, years: int, rng: random.Random, scale_at: tuple[int, ...] = (), factor: int = 10,
              jitter: float = 0.2) -> str:
    """The same issuer's report `years` later: every year moved by `years`, every count changed
    by at most `jitter` (percentages kept, so no share passes 100%), and the numbers starting at
    the offsets `scale_at` of the original text multiplied by `factor` (a jump a reviewer must see)."""

    def redraw(match: re.Match[str]) -> str:
        digits = match.group()
        if YEAR.fullmatch(digits):
            return str(int(digits) + years)
        if match.start() in scale_at:
            return str(int(digits) * factor)
        if text[match.end():match.end() + 1] in ("%", "％", ".") or text[match.start() - 1:match.start()] == ".":
            return digits
        return str(max(1, round(int(digits) * rng.uniform(1 - jitter, 1 + jitter))))

    return DIGITS.sub(redraw, text)
