"""File names are bytes: how they are stored (losslessly, as valid UTF-8) and shown (escaped).

On POSIX a name may hold any byte but `/` and NUL; Python reads the bytes that are not UTF-8 as
lone surrogates (surrogateescape), which DuckDB, JSON files and terminals cannot take. Stored, a
path keeps every valid character as it is; an undecodable byte becomes `\\xNN` and a backslash
`\\\\`, so the stored text is valid UTF-8 and maps back to exactly one name. Shown, a name also
has its control characters escaped, so no name can move the cursor, colour the terminal or
print a line of its own.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

# Lone surrogates: the bytes of a name that were not UTF-8 (surrogateescape maps byte b to U+DC00+b).
_SURROGATE = re.compile("[\udc80-\udcff]")
_ANY_SURROGATE = re.compile("[\ud800-\udfff]")
_STORED_ESCAPE = re.compile(r"\\(\\|x[0-9a-f]{2})")
# C0 and C1 controls, DEL, and the bidirectional overrides that reorder what a line seems to say.
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069\ud800-\udfff]")
_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}
# Backslash is a separator on Windows, where names are Unicode: nothing to escape there.
_POSIX = os.sep == "/"


def stored(path: str | Path) -> str:
    """The path as stored in the database and in JSON: valid UTF-8, one text per name."""
    text = os.fspath(path)
    if not _POSIX:
        return _ANY_SURROGATE.sub(lambda m: f"\\u{ord(m.group()):04x}", text)
    if "\\" not in text and not _ANY_SURROGATE.search(text):
        return text  # the common case, unchanged
    text = text.replace("\\", "\\\\")
    return _ANY_SURROGATE.sub(lambda m: _byte_escape(m.group()), text)


def _byte_escape(char: str) -> str:
    code = ord(char)
    if 0xDC80 <= code <= 0xDCFF:
        return f"\\x{code - 0xDC00:02x}"
    return f"\\u{code:04x}"  # not from surrogateescape (a name cannot hold one on POSIX)


def unstored(text: str) -> str:
    """The name a stored path stands for (the inverse of `stored`), as os functions take it."""
    if not _POSIX or "\\" not in text:
        return text

    def back(m: re.Match[str]) -> str:
        escape = m.group(1)
        return "\\" if escape == "\\" else chr(0xDC00 + int(escape[1:], 16))

    return _STORED_ESCAPE.sub(back, text)


def printable(text: str) -> str:
    """Text for a terminal: control characters (and the bytes of a name that were not UTF-8)
    escaped, so what is printed is one line that says what the name is."""
    if not _CONTROL.search(text):
        return text

    def escape(m: re.Match[str]) -> str:
        char = m.group()
        if char in _NAMED:
            return _NAMED[char]
        code = ord(char)
        if 0xDC80 <= code <= 0xDCFF:
            return f"\\x{code - 0xDC00:02x}"
        return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"

    return _CONTROL.sub(escape, text)


def json_safe(text: str) -> str:
    """JSON text from json.dumps(ensure_ascii=False) with any lone surrogate (a name's
    undecodable byte) written as its \\u escape: valid UTF-8, and json.loads gives the name back."""
    return _ANY_SURROGATE.sub(lambda m: f"\\u{ord(m.group()):04x}", text)
