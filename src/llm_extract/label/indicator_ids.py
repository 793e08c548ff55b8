"""What tables, review and the compare page need of the indicator catalogue: the areas in order,
the indicators by id, and whether a value's unit fits an indicator's kind. One reading of the
catalogue (`label.catalogue`), the same one extraction uses, so review decides as extraction does.
"""

from __future__ import annotations

from llm_extract.label.catalogue import AREAS, Indicator, load
from llm_extract.label.catalogue.assign import value_kind

__all__ = ["AREAS", "Indicator", "indicators", "kind_fits"]


def indicators() -> dict[str, Indicator]:
    """Every indicator by id, in catalogue order."""
    return {indicator.id: indicator for indicator in load().indicators}


def kind_fits(kind: str, unit: str) -> bool:
    """Whether a value in this unit is a quantity of this kind (the unit decides the kind)."""
    return value_kind(unit) == kind
