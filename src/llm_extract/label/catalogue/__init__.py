"""The comparable vocabulary: the 13 areas of the national framework and the indicator catalogue,
shipped as data (areas.toml, indicators.toml) and read into typed, frozen records.

An area is decided by what is counted; an indicator is one quantity that two different reports
can both state (the same thing counted and the same kind of value). The definitions, boundary
rules and cue words live in the TOML files so that they can be read, reviewed and extended
without touching code; `assign` applies them.
"""

from __future__ import annotations

import functools
import tomllib
from dataclasses import dataclass
from importlib import resources
from typing import Literal, cast, get_args

from llm_extract.errors import LlmExtractError
from llm_extract.schemas import Area

Kind = Literal["count", "people", "money", "rate"]
KINDS: tuple[Kind, ...] = get_args(Kind)
AREAS: tuple[Area, ...] = get_args(Area)


class CatalogueError(LlmExtractError):
    """The shipped catalogue data is malformed (a packaging or editing mistake)."""


@dataclass(frozen=True)
class AreaDef:
    id: Area
    label: str
    chapter: str
    definition: str
    boundary: tuple[str, ...]
    cues: tuple[str, ...]
    # Cues that say how the work was done, not what about (see areas.toml), and the words that
    # keep such work in this area whatever else is named.
    form_cues: tuple[str, ...] = ()
    law_words: tuple[str, ...] = ()


@dataclass(frozen=True)
class Precedence:
    """When words of both areas occur, `winner` decides (a boundary rule of the framework)."""

    winner: Area
    loser: Area
    reason: str


@dataclass(frozen=True)
class Audience:
    """Words naming whom the work is for, that say it is of `area` (see areas.toml)."""

    area: Area
    words: tuple[str, ...]


@dataclass(frozen=True)
class Indicator:
    id: str
    area: Area
    kind: Kind
    label: str
    definition: str
    cues: tuple[str, ...]
    # The units that count this indicator's thing (empty: any unit of its kind): 排查纠纷 700 次
    # counts screenings held, not disputes (起, 件); 咨询服务 7 场 counts sessions, not consultations.
    units: tuple[str, ...] = ()
    # Whether a meeting (会议, 联席会) can be what it counts: a meeting on petitions is not a petition.
    counts_meetings: bool = False


@dataclass(frozen=True)
class WholeBody:
    """Word classes that say a figure is not the whole body's for its year."""

    target_words: tuple[str, ...]
    other_year_words: tuple[str, ...]
    change_words: tuple[str, ...]
    sub_unit_suffixes: tuple[str, ...]
    scope_prefixes: tuple[str, ...]
    generic_units: tuple[str, ...]
    part_words: tuple[str, ...]
    meeting_words: tuple[str, ...]


@dataclass(frozen=True)
class Catalogue:
    areas: tuple[AreaDef, ...]
    precedence: tuple[Precedence, ...]
    audiences: tuple[Audience, ...]
    indicators: tuple[Indicator, ...]
    whole_body: WholeBody

    @functools.cached_property
    def indicator_by_id(self) -> dict[str, Indicator]:
        return {i.id: i for i in self.indicators}

    @functools.cached_property
    def area_by_id(self) -> dict[str, AreaDef]:
        return {a.id: a for a in self.areas}

    def indicator(self, indicator_id: str) -> Indicator | None:
        return self.indicator_by_id.get(indicator_id)


def _read(name: str) -> dict[str, object]:
    try:
        return tomllib.loads(resources.files(__package__).joinpath(name).read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise CatalogueError(f"cannot read catalogue/{name}: {exc}") from exc


def _strings(row: dict[str, object], key: str, where: str) -> tuple[str, ...]:
    value = row.get(key, [])
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        raise CatalogueError(f"{where}: {key} must be a list of non-empty strings")
    return tuple(value)


def _flag(row: dict[str, object], key: str, where: str) -> bool:
    value = row.get(key, False)
    if not isinstance(value, bool):
        raise CatalogueError(f"{where}: {key} must be true or false")
    return value


def _text(row: dict[str, object], key: str, where: str) -> str:
    value = row.get(key)
    if not isinstance(value, str):
        raise CatalogueError(f"{where}: {key} must be a string")
    return value


def _area(value: object, where: str) -> Area:
    if value not in AREAS:
        raise CatalogueError(f"{where}: unknown area {value!r}")
    return cast(Area, value)


def _rows(data: dict[str, object], key: str, name: str) -> list[dict[str, object]]:
    rows = data.get(key, [])
    if not isinstance(rows, list) or not all(isinstance(r, dict) for r in rows):
        raise CatalogueError(f"catalogue/{name}: [[{key}]] must be tables")
    return rows


def parse(areas_data: dict[str, object], indicators_data: dict[str, object]) -> Catalogue:
    """Typed records from the two files' tables; every id, area and kind checked."""
    areas = []
    for row in _rows(areas_data, "area", "areas.toml"):
        where = f"areas.toml area {row.get('id')!r}"
        areas.append(AreaDef(id=_area(row.get("id"), where), label=_text(row, "label", where),
                             chapter=_text(row, "chapter", where), definition=_text(row, "definition", where),
                             boundary=_strings(row, "boundary", where), cues=_strings(row, "cues", where),
                             form_cues=_strings(row, "form_cues", where), law_words=_strings(row, "law_words", where)))
    if sorted(a.id for a in areas) != sorted(AREAS):
        raise CatalogueError(f"areas.toml must define each of {', '.join(AREAS)} exactly once")
    precedence = [Precedence(_area(r.get("winner"), "precedence"), _area(r.get("loser"), "precedence"),
                             _text(r, "reason", "precedence"))
                  for r in _rows(areas_data, "precedence", "areas.toml")]
    audiences = [Audience(_area(r.get("area"), "audience"), _strings(r, "words", "audience"))
                 for r in _rows(areas_data, "audience", "areas.toml")]
    indicators = []
    for row in _rows(indicators_data, "indicator", "indicators.toml"):
        where = f"indicators.toml indicator {row.get('id')!r}"
        kind = row.get("kind")
        if kind not in KINDS:
            raise CatalogueError(f"{where}: kind must be one of {', '.join(KINDS)}")
        indicators.append(Indicator(id=_text(row, "id", where), area=_area(row.get("area"), where),
                                    kind=cast(Kind, kind), label=_text(row, "label", where),
                                    definition=_text(row, "definition", where), cues=_strings(row, "cues", where),
                                    units=_strings(row, "units", where),
                                    counts_meetings=_flag(row, "counts_meetings", where)))
    ids = [i.id for i in indicators]
    if len(set(ids)) != len(ids):
        raise CatalogueError("indicators.toml: indicator ids must be unique")
    rules = indicators_data.get("whole_body")
    if not isinstance(rules, dict):
        raise CatalogueError("indicators.toml: [whole_body] missing")
    whole = WholeBody(*(_strings(rules, f, "whole_body") for f in WholeBody.__dataclass_fields__))
    return Catalogue(tuple(areas), tuple(precedence), tuple(audiences), tuple(indicators), whole)


@functools.cache
def load() -> Catalogue:
    """The shipped catalogue (read once per process)."""
    return parse(_read("areas.toml"), _read("indicators.toml"))


def data_version() -> str:
    """The catalogue files' bytes, for the extraction version: edited data re-extracts."""
    return _read_bytes("areas.toml") + _read_bytes("indicators.toml")


def _read_bytes(name: str) -> str:
    return resources.files(__package__).joinpath(name).read_text(encoding="utf-8")
