"""Align quotes with the source text. Offsets are computed here, never taken from the model.

A quote is found exactly, or after NFKC and whitespace normalisation of both sides (with the
offsets mapped back to the original characters), or it is not grounded at all.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass

from .schemas import Alignment


@dataclass(frozen=True)
class Grounding:
    char_start: int
    char_end: int
    quote: str  # always source[char_start:char_end]
    alignment: Alignment


class NormalisedText:
    """A source text folded by NFKC with whitespace removed, mapped back to source offsets."""

    def __init__(self, source: str) -> None:
        self.source = source
        chars: list[str] = []
        origin: list[int] = []
        for i, ch in enumerate(source):
            for out in unicodedata.normalize("NFKC", ch):
                if not out.isspace():
                    chars.append(out)
                    origin.append(i)
        self.folded = "".join(chars)
        self.origin = origin

    def find_all(self, quote: str) -> list[tuple[int, int]]:
        needle = fold(quote)
        if not needle:
            return []
        spans = []
        at = self.folded.find(needle)
        while at >= 0:
            start = self.origin[at]
            end = self.origin[at + len(needle) - 1] + 1
            spans.append((start, end))
            at = self.folded.find(needle, at + 1)
        return spans


def fold(text: str) -> str:
    """NFKC with whitespace removed: the one normal form for matching and scoring."""
    return "".join(ch for ch in unicodedata.normalize("NFKC", text) if not ch.isspace())


def ground(source: str, quote: str, near: int = 0, within: tuple[int, int] | None = None,
           index: NormalisedText | None = None) -> Grounding | None:
    """Locate quote in source; prefer an occurrence inside `within`, then the one nearest `near`.

    Returns None when the quote does not occur (after normalisation) in the source.
    """
    quote = quote.strip()
    if not quote:
        return None
    exact = _occurrences(source, quote)
    if exact:
        start = _pick(exact, near, within)
        return Grounding(start, start + len(quote), quote, Alignment.EXACT)
    index = index or NormalisedText(source)
    spans = index.find_all(quote)
    if not spans:
        return None
    starts = [s for s, _ in spans]
    start = _pick(starts, near, within)
    end = dict(spans)[start]
    return Grounding(start, end, source[start:end], Alignment.NORMALISED)


def _occurrences(source: str, quote: str) -> list[int]:
    found = []
    at = source.find(quote)
    while at >= 0:
        found.append(at)
        at = source.find(quote, at + 1)
    return found


def _pick(starts: list[int], near: int, within: tuple[int, int] | None) -> int:
    if within is not None:
        inside = [s for s in starts if within[0] <= s < within[1]]
        if inside:
            starts = inside
    return min(starts, key=lambda s: abs(s - near))


def is_grounded(source: str, quote: str, char_start: int, char_end: int) -> bool:
    """The invariant every stored record keeps: source[char_start:char_end] == quote."""
    return 0 <= char_start < char_end <= len(source) and source[char_start:char_end] == quote
