"""The grounding invariant and the one normal form for matching.

Offsets are computed by code where it finds an item, never taken from a model; what is stored
keeps `source[char_start:char_end] == quote`. Text a model gives that must occur in the source
(metadata) is matched after `fold`.
"""

from __future__ import annotations

import unicodedata


def fold(text: str) -> str:
    """NFKC with whitespace removed: the one normal form for matching and scoring."""
    return "".join(ch for ch in unicodedata.normalize("NFKC", text) if not ch.isspace())


def is_grounded(source: str, quote: str, char_start: int, char_end: int) -> bool:
    """The invariant every stored record keeps: source[char_start:char_end] == quote."""
    return 0 <= char_start < char_end <= len(source) and source[char_start:char_end] == quote
