"""How results and paths are written for people and for pipes. Values from users and documents are
data: they go out as plain text (never rich markup) and as strict JSON."""

from __future__ import annotations

from pathlib import Path

from llm_extract.ingest.fsnames import printable


def shown(path: str | Path) -> str:
    """A path as a person wants to read it: relative to the current folder when inside it, its
    control characters and undecodable bytes escaped (a name never prints a line of its own)."""
    p = Path(path)
    if p.is_absolute():
        try:
            return printable(str(p.relative_to(Path.cwd())))
        except ValueError:
            pass
    return printable(str(p))


