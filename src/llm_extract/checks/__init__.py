"""Checks nobody else makes: numbers in one report that contradict each other, reports missing
the parts the 2019 《法治政府建设与责任落实督察工作规定》 requires, and jumps from one year to the
next in one issuer's series. Pure functions over extractions (no I/O); the store keeps what they
find in the `checks` table (see checksql).

A finding says what a reviewer should look at; it is not an error of the extraction: the
numbers it names are grounded, and the finding is about what the report says.
"""

from __future__ import annotations

from llm_extract.schemas import Extraction
from llm_extract.checks.consistency import consistency_findings
from llm_extract.checks.finding import SEVERITIES, Finding
from llm_extract.checks.required import PARTS, Completeness, completeness, completeness_findings
from llm_extract.checks.series import SeriesDoc, group_series, issuer_key, series_findings

__all__ = [
    "PARTS", "SEVERITIES", "Completeness", "Finding", "SeriesDoc", "completeness", "completeness_findings",
    "consistency_findings", "document_findings", "group_series", "issuer_key", "series_findings",
]


def document_findings(extraction: Extraction) -> list[Finding]:
    """Every finding about one report on its own: consistency, then completeness."""
    found = consistency_findings(extraction.text, extraction.metrics)
    found += completeness_findings(completeness(extraction), extraction.meta.year)
    return found
