"""What a check finds, and how it is named so that a reviewer's dismissal survives re-extraction."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

# error: the report contradicts itself (a number cannot be right as written);
# warning: something a reviewer should confirm (a missing part, a jump, two values for one thing);
# info: worth knowing, rarely wrong (no signature date, shortcomings without their causes).
Severity = Literal["error", "warning", "info"]
SEVERITIES: tuple[Severity, ...] = ("error", "warning", "info")


@dataclass(frozen=True)
class Finding:
    """One finding. `check_id` is its stable key within its document: the check and what it is
    about in the text (spans and values of the items, or the part it misses), never metric ids,
    which every re-extraction renumbers."""

    check_name: str
    check_id: str
    severity: Severity
    message: str
    metric_ids: tuple[int, ...] = ()
    char_start: int | None = None  # where in the text a reader should look first
    char_end: int | None = None
    other_doc_id: str | None = None  # for a finding across years: the other report


def span_key(spans: list[tuple[int, int]] | tuple[tuple[int, int], ...]) -> str:
    """The spans of the items involved, in text order, as a key: "120-128+130-137"."""
    return "+".join(f"{start}-{end}" for start, end in sorted(spans))
