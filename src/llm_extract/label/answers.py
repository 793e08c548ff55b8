"""What the model is asked to return. Validators read the source through pydantic's validation
context (instructor passes `context=`), so an answer that does not fit the source is re-asked
with the reason, and anything still ungrounded is rejected rather than stored.
"""

from __future__ import annotations

import hashlib
import json
import re
from datetime import date
from functools import lru_cache
from typing import Any, Literal, cast

from pydantic import (
    BaseModel,
    ValidationInfo,
    create_model,
    field_validator,
    model_validator,
)

from llm_extract.propose.ground import fold
from llm_extract.label.labelcheck import misaligned
from llm_extract.propose.namequality import name_defect
from llm_extract.label.catalogue import Kind
from llm_extract.label.catalogue.assign import indicator_fits
from llm_extract.schemas import Area, DecisionSource, MetricCategory, ProblemCategory, SectionCategory

_DIGITS = re.compile(r"[0-9０-９]")
MAX_SUMMARY = 30
_COUNTY_PREFIX = re.compile(r"^(?:.+?[市州盟])?(.+?(?:县|区|旗))(.+?(?:镇|乡|街道))$")


def _ctx(info: ValidationInfo) -> dict[str, Any]:
    return info.context or {}


class MetricLabel(BaseModel):
    name: str
    category: MetricCategory

    @field_validator("name")
    @classmethod
    def _short_name(cls, value: str) -> str:
        value = value.strip().strip("“”\"'")
        if not value:
            raise ValueError("name must not be empty")
        # Small models copy numbers into names; the number lives in `value`, not here.
        return _DIGITS.sub("", value).strip()[:20] or value[:20]


class ProblemLabel(BaseModel):
    summary: str
    category: ProblemCategory
    area: Area | None = None
    area_source: DecisionSource | None = None

    @field_validator("summary")
    @classmethod
    def _trim(cls, value: str) -> str:
        value = value.strip().rstrip("。；;，,")
        if not value:
            raise ValueError("summary must not be empty")
        if len(value) > MAX_SUMMARY:
            # Small models copy the whole item; its first clause is the shortcoming itself.
            first = re.split(r"[，,；;。]", value, maxsplit=1)[0]
            value = first if len(first) >= 4 else value
        return value[:MAX_SUMMARY]


class MetricBatchAnswer(BaseModel):
    """Names checked against their own items (contexts in the validation context).

    The first answer with a misaligned name is re-asked with the reason (instructor sends the
    error back); a later one is accepted and the misaligned items are recorded in the context
    (`misaligned`), so the labeller replaces them with code names instead of failing the batch.
    """

    @model_validator(mode="after")
    def _names_fit_their_items(self, info: ValidationInfo) -> MetricBatchAnswer:
        ctx = _ctx(info)
        contexts: list[str] | None = ctx.get("contexts")
        if contexts is None:
            return self
        names = [label.name for label in answers_in_order(self, len(contexts))]
        # Not about its own item, or broken: a unit alone, cut inside a word, one character.
        broken = [i for i, name in enumerate(names) if name_defect(name, contexts[i], 0, len(contexts[i]))]
        bad = sorted({*misaligned(names, contexts), *broken})
        ctx["answers"] = ctx.get("answers", 0) + 1
        if bad and ctx["answers"] <= ctx.get("reasks", 0):
            raise ValueError("；".join(
                f"c{i + 1} 的 name「{names[i]}」不完整：要写出统计的是什么事物，用完整的词，至少两个字，不能只写单位或次数"
                if i in broken else
                f"c{i + 1} 的 name「{names[i]}」不是 [{i + 1}] 那一句里说的事，请只用 [{i + 1}] 自己的词重新命名"
                for i in bad))
        ctx["misaligned"] = bad
        return self


@lru_cache(maxsize=256)
def numbered(kind: str, item: type[BaseModel] | object, count: int,
             base: type[BaseModel] | None = None) -> type[BaseModel]:
    """A response model with one required field per proposed item (`c1` … `cN`).

    The JSON-schema grammar then makes the model answer every item, in order, exactly once:
    completeness is enforced by construction instead of re-asked after the fact.
    """
    fields: dict[str, Any] = {f"c{i}": (item, ...) for i in range(1, count + 1)}
    return create_model(f"{kind}{count}", __base__=base, **fields)


def answers_in_order(answer: BaseModel, count: int) -> list[Any]:
    return [getattr(answer, f"c{i}") for i in range(1, count + 1)]


NO_INDICATOR = "none"


@lru_cache(maxsize=1024)
def choice_item(category: object | None, areas: tuple[str, ...] = (),
                indicators: tuple[str, ...] = ()) -> type[BaseModel]:
    """One item's answer: only the fields code left open, each an enum of code's shortlist (an
    indicator's also "none"), so the grammar lets the model choose nothing else."""
    fields: dict[str, Any] = {}
    if category is not None:
        fields["category"] = (category, ...)
    if areas:
        fields["area"] = (enum_of(areas), ...)
    if indicators:
        fields["indicator"] = (enum_of((*indicators, NO_INDICATOR)), ...)
    return create_model("Choice", **fields)


def enum_of(values: tuple[str, ...]) -> object:
    """Literal[values] for values known only at run time (a JSON-schema enum)."""
    return Literal.__getitem__(values)


@lru_cache(maxsize=256)
def choices(kind: str, items: tuple[type[BaseModel], ...]) -> type[BaseModel]:
    """A response model with one required field per item (`c1` … `cN`), each its own choice model."""
    fields: dict[str, Any] = {f"c{i}": (item, ...) for i, item in enumerate(items, 1)}
    return create_model(f"{kind}{len(items)}", __base__=ChoicesAnswer, **fields)


class ChoicesAnswer(BaseModel):
    """Indicators checked against their own items through the validation context (`kinds`:
    each answered item's value kind; `areas`: code's area for items whose area was not asked).

    An indicator whose kind is not the value's, or whose area contradicts the item's (the one
    the model chose, or code's), is re-asked once with the reason; if it stays, its item is
    recorded in `refused` and the labeller leaves that indicator NULL, counted as a fallback.
    """

    @model_validator(mode="after")
    def _indicators_fit_their_items(self, info: ValidationInfo) -> ChoicesAnswer:
        ctx = _ctx(info)
        kinds: list[str] | None = ctx.get("kinds")
        if kinds is None:
            return self
        areas: list[str | None] = ctx.get("areas", [None] * len(kinds))
        bad: list[tuple[int, str]] = []
        for k, answer in enumerate(answers_in_order(self, len(kinds))):
            chosen = getattr(answer, "indicator", NO_INDICATOR)
            if chosen == NO_INDICATOR:
                continue
            area = getattr(answer, "area", None) or areas[k]
            reason = indicator_fits(chosen, cast(Kind, kinds[k]), area)
            if reason:
                bad.append((k, reason))
        ctx["answers"] = ctx.get("answers", 0) + 1
        if bad and ctx["answers"] <= ctx.get("reasks", 0):
            raise ValueError("；".join(f"c{k + 1}：{reason}，请在 [{k + 1}] 的选项中重新选择" for k, reason in bad))
        ctx["refused"] = [k for k, _ in bad]
        return self


class MetadataAnswer(BaseModel):
    township: str | None = None
    county: str | None = None
    year: int | None = None
    issuer: str | None = None
    report_date: str | None = None

    @model_validator(mode="after")
    def _grounded(self, info: ValidationInfo) -> MetadataAnswer:
        """Keep only what the source says; record what was rejected (never invented)."""
        source = _ctx(info).get("source")
        if source is None:
            return self
        folded = fold(source)
        self._split_county()
        rejected: list[str] = _ctx(info).setdefault("rejected", [])
        for name in ("township", "county", "issuer"):
            value = getattr(self, name)
            if value is not None and (not value.strip() or fold(value) not in folded):
                rejected.append(f"{name}={value!r} not in the text")
                setattr(self, name, None)
        if self.year is not None and not (1990 <= self.year <= 2100 and str(self.year) in folded):
            rejected.append(f"year={self.year} not in the text")
            self.year = None
        if self.report_date is not None and _date_in_text(self.report_date, folded) is None:
            rejected.append(f"report_date={self.report_date!r} not in the text")
            self.report_date = None
        return self

    def _split_county(self) -> None:
        # "沁县松村镇" names two units; the guide keeps the township bare and the county apart.
        if self.township:
            match = _COUNTY_PREFIX.match(self.township.strip())
            if match:
                self.township = match.group(2)
                self.county = self.county or match.group(1)

    def parsed_date(self) -> date | None:
        return date.fromisoformat(self.report_date) if self.report_date else None


def _date_in_text(value: str, folded: str) -> date | None:
    try:
        parsed = date.fromisoformat(value.strip())
    except ValueError:
        return None
    written = f"{parsed.year}年{parsed.month}月{parsed.day}日"
    return parsed if written in folded else None


def schema_version() -> str:
    """A content hash of every answer schema: a schema change is a new extraction version."""
    digest = hashlib.sha256()
    for model in (MetricLabel, ProblemLabel, MetadataAnswer):
        digest.update(json.dumps(model.model_json_schema(), sort_keys=True, ensure_ascii=False).encode())
    digest.update(repr(SectionCategory).encode())
    return digest.hexdigest()[:16]
