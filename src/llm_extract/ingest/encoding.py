"""Tell a report's encoding by evidence, and refuse rather than store mojibake.

GB18030 accepts almost any byte sequence, so "it decoded" proves nothing: Big5 text decodes as
GB18030 into garbage without an error. A decoding is accepted only when charset-normalizer ranks
it and the text it gives reads as Chinese (its characters are the common ones).
"""

from __future__ import annotations

import codecs
from functools import cache

import charset_normalizer

from llm_extract.errors import InputError

# Byte-order marks settle the encoding; longest first (UTF-32-LE's BOM begins with UTF-16-LE's).
BOMS = ((codecs.BOM_UTF32_LE, "utf-32"), (codecs.BOM_UTF32_BE, "utf-32"), (codecs.BOM_UTF8, "utf-8-sig"),
        (codecs.BOM_UTF16_LE, "utf-16"), (codecs.BOM_UTF16_BE, "utf-16"))
# What a Chinese report comes in besides UTF-8. GB18030 is a superset of GBK and GB2312, so those
# are decoded as GB18030; Big5 as its Microsoft superset cp950.
ACCEPTED = {"gb18030": "gb18030", "gbk": "gb18030", "gb2312": "gb18030", "hz": "gb18030",
            "big5": "cp950", "cp950": "cp950", "big5hkscs": "big5hkscs",
            "utf_16": "utf-16", "utf_16_le": "utf-16-le", "utf_16_be": "utf-16-be",
            "utf_32": "utf-32", "utf_32_le": "utf-32-le", "utf_32_be": "utf-32-be"}
# The five reports measure 1.00 here; Big5 read as GB18030 (or GBK as Big5) about 0.55. Names of
# places and people may use rarer characters, hence not 1.
MIN_COMMON_SHARE = 0.95
SAMPLE_CHARS = 20_000


def decode_bytes(data: bytes) -> str:
    """The text of a report file, BOM removed; InputError naming why when it is not text we can read."""
    for bom, encoding in BOMS:
        if data.startswith(bom):
            try:
                return data.decode(encoding).removeprefix("\ufeff")
            except UnicodeDecodeError as exc:
                raise InputError(f"starts with a {encoding.upper()} byte-order mark but does not decode as it") from exc
    if b"\x00" not in data:  # NUL bytes are valid UTF-8 but mean UTF-16 without a BOM, or binary
        try:
            return data.decode("utf-8")  # UTF-8 validates itself: legacy Chinese text never passes
        except UnicodeDecodeError:
            pass
    return _detect(data)


def _detect(data: bytes) -> str:
    ranked = [match.encoding for match in charset_normalizer.from_bytes(data)]
    # The detector's ranking first; then the two Chinese families it may not have ranked (short
    # files), which must then be the only reading that makes sense.
    fallback = [name for name in ("gb18030", "big5") if ACCEPTED[name] not in {ACCEPTED.get(r) for r in ranked}]
    garbled: list[str] = []
    readable: list[tuple[str, str]] = []
    for name in ranked + fallback:
        codec = ACCEPTED.get(name)
        if codec is None:
            continue
        try:
            text = data.decode(codec)
        except UnicodeDecodeError:
            continue
        if not text.strip():
            return text  # blank in any encoding: the caller says empty
        if not _plausible(text):
            garbled.append(name)
        elif name in ranked:
            return text
        else:
            readable.append((name, text))
    if len({text for _, text in readable}) == 1:
        return readable[0][1]
    if readable:
        raise InputError(f"cannot tell the encoding: it reads as Chinese both as {readable[0][0]} and as "
                         f"{readable[1][0]}; save it as UTF-8")
    if b"\x00" in data[:8192]:
        raise InputError("binary file (NUL bytes), not text")
    if garbled:
        raise InputError(f"cannot tell the encoding: decoded as {garbled[0]} it is not Chinese text; save it as UTF-8")
    if ranked:
        raise InputError(f"not Chinese text: it looks like {ranked[0]}; save it as UTF-8")
    raise InputError("cannot decode as UTF-8, GB18030/GBK, Big5 or UTF-16: not text")


def _plausible(text: str) -> bool:
    """Chinese that reads as Chinese, or text without Han characters that is plain ASCII (with
    the CJK and full-width punctuation a report may hold)."""
    if reads_as_chinese(text):
        return True
    sample = text[:SAMPLE_CHARS]
    if any(_is_han(ch) for ch in sample):
        return False
    plain = sum(ch.isascii() and (ch.isprintable() or ch in "\n\r\t") or "\u3000" <= ch <= "\u303f"
                or "\uff00" <= ch <= "\uffef" for ch in sample)
    return plain >= 0.95 * len(sample)


def reads_as_chinese(text: str) -> bool:
    """Whether the Han characters in text are mostly common ones, as in any real report."""
    han = [ch for ch in text[:SAMPLE_CHARS] if _is_han(ch)]
    if not han:
        return False
    common = _common_han()
    return sum(ch in common for ch in han) >= MIN_COMMON_SHARE * len(han)


def _is_han(ch: str) -> bool:
    return "\u3400" <= ch <= "\u9fff" or "\uf900" <= ch <= "\ufaff" or ch >= "\U00020000"


@cache
def _common_han() -> frozenset[str]:
    """The 3,755 level-1 characters of GB2312 (simplified) and the 5,401 common ones of Big5
    (traditional): the characters everyday Chinese text is made of."""
    chars: set[str] = set()
    for lead in range(0xB0, 0xD8):  # GB2312 level 1: rows 16-55
        for trail in range(0xA1, 0xFF):
            _add(chars, bytes((lead, trail)), "gb2312")
    for lead in range(0xA4, 0xC7):  # Big5 frequently used characters: 0xA440-0xC67E
        for trail in [*range(0x40, 0x7F), *range(0xA1, 0xFF)]:
            if (lead << 8 | trail) <= 0xC67E:
                _add(chars, bytes((lead, trail)), "big5")
    return frozenset(chars)


def _add(chars: set[str], pair: bytes, codec: str) -> None:
    try:
        chars.add(pair.decode(codec))
    except UnicodeDecodeError:
        pass  # an unassigned code point in the range
