"""Deterministic scorers: an extraction against a gold document. Pure functions, no I/O.

Counts, not ratios, are kept per report so that totals are micro-averaged by summing.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field

from llm_extract.evaluate.gold import GoldDocument
from llm_extract.propose.ground import fold
from llm_extract.propose.namequality import name_defect
from llm_extract.propose.numbers import values_equal
from llm_extract.schemas import (
    Extraction,
    MetricRecord,
    ProblemRecord,
    ReportMeta,
    SectionRecord,
)

META_FIELDS = ("township", "county", "year", "issuer", "report_date", "issuer_level")


@dataclass
class FieldScore:
    """Detection counts plus, on matched pairs, sums of per-attribute agreement."""

    tp: int = 0
    n_pred: int = 0
    n_gold: int = 0
    attrs: dict[str, float] = field(default_factory=lambda: defaultdict(float))  # attribute -> sum of agreement
    attr_n: Counter[str] = field(default_factory=Counter)  # attribute -> number of pairs scored

    def add(self, other: FieldScore) -> None:
        self.tp += other.tp
        self.n_pred += other.n_pred
        self.n_gold += other.n_gold
        for name, value in other.attrs.items():
            self.attrs[name] += value
        self.attr_n.update(other.attr_n)

    def agree(self, name: str, value: float) -> None:
        self.attrs[name] += value
        self.attr_n[name] += 1

    @property
    def precision(self) -> float:
        # Predicting nothing is only precise when there was nothing to find.
        return self.tp / self.n_pred if self.n_pred else (1.0 if not self.n_gold else 0.0)

    @property
    def recall(self) -> float:
        # Nothing to find: nothing was missed.
        return self.tp / self.n_gold if self.n_gold else 1.0

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0

    def attr(self, name: str) -> float | None:
        return self.attrs[name] / self.attr_n[name] if self.attr_n[name] else None

    def scores(self) -> dict[str, float | None]:
        out: dict[str, float | None] = {"precision": self.precision, "recall": self.recall, "f1": self.f1}
        for name in sorted(self.attr_n):
            out[name] = self.attr(name)
        return out


@dataclass
class ReportScores:
    metrics: FieldScore = field(default_factory=FieldScore)
    problems: FieldScore = field(default_factory=FieldScore)
    sections: FieldScore = field(default_factory=FieldScore)
    metadata: FieldScore = field(default_factory=FieldScore)
    grounding: FieldScore = field(default_factory=FieldScore)
    labels: FieldScore = field(default_factory=FieldScore)
    indicators: FieldScore = field(default_factory=FieldScore)
    # (report, predicted indicator, gold indicator) of every matched metric whose gold is labelled:
    # kept as pairs because B-cubed agreement is not a sum over reports.
    indicator_pairs: list[tuple[str, str | None, str | None]] = field(default_factory=list)

    def add(self, other: ReportScores) -> None:
        for name in FIELDS:
            getattr(self, name).add(getattr(other, name))
        self.indicator_pairs += other.indicator_pairs

    def table(self) -> dict[str, dict[str, float | None]]:
        out = {
            "metrics": self.metrics.scores(),
            "problems": self.problems.scores(),
            "sections": self.sections.scores(),
            "metadata": {name: self.metadata.attr(name) for name in META_FIELDS} | {"accuracy": _mean_attr(self.metadata)},
            "grounding": {"rate": self.grounding.attr("grounded")},
            "labels": {"fallback_rate": self.labels.attr("fallback")},
            "indicators": indicator_table(self.indicators, self.indicator_pairs),
        }
        return out


FIELDS = ("metrics", "problems", "sections", "metadata", "grounding", "labels", "indicators")


def indicator_table(score: FieldScore, pairs: list[tuple[str, str | None, str | None]]) -> dict[str, float | None]:
    """Indicator scores on matched metrics whose gold is labelled (NULL is a label: "not one of the
    catalogue's quantities for the whole body and year").

    precision: of the metrics given an indicator, the share given gold's; recall: of the metrics
    gold gives an indicator, the share given it; accuracy: the share whose indicator (or NULL)
    equals gold's; bcubed_*: B-cubed agreement of "states the same indicator" over all metrics of
    all reports together (a NULL metric is a cluster of its own), the cross-report score.
    """
    if not pairs:
        return {"precision": None, "recall": None, "f1": None, "accuracy": None,
                "bcubed_precision": None, "bcubed_recall": None, "bcubed_f1": None}
    p, r = score.attr("precision"), score.attr("recall")
    # No indicator given and none in gold: nothing wrong was said, nothing was missed.
    p = 1.0 if p is None else p
    r = 1.0 if r is None else r
    bp, br = bcubed(pairs)
    return {"precision": p, "recall": r, "f1": 2 * p * r / (p + r) if p + r else 0.0,
            "accuracy": score.attr("accuracy"), "bcubed_precision": bp, "bcubed_recall": br,
            "bcubed_f1": 2 * bp * br / (bp + br) if bp + br else 0.0}


def bcubed(pairs: list[tuple[str, str | None, str | None]]) -> tuple[float, float]:
    """B-cubed precision and recall of the predicted clustering (by indicator) against gold's."""
    def clusters(labels: list[str | None]) -> list[frozenset[int]]:
        members: dict[str, set[int]] = defaultdict(set)
        for k, label in enumerate(labels):
            if label is not None:
                members[label].add(k)
        return [frozenset(members[label]) if label is not None else frozenset({k}) for k, label in enumerate(labels)]

    pred = clusters([p for _, p, _ in pairs])
    gold = clusters([g for _, _, g in pairs])
    precision = sum(len(pc & gc) / len(pc) for pc, gc in zip(pred, gold)) / len(pairs)
    recall = sum(len(pc & gc) / len(gc) for pc, gc in zip(pred, gold)) / len(pairs)
    return precision, recall


def _mean_attr(score: FieldScore) -> float | None:
    total = sum(score.attr_n.values())
    return sum(score.attrs.values()) / total if total else None


def char_f1(a: str, b: str) -> float:
    """Character-level F1 after NFKC: the similarity of two short Chinese strings."""
    ca, cb = Counter(fold(a)), Counter(fold(b))
    if not ca and not cb:
        return 1.0
    overlap = sum((ca & cb).values())
    if not overlap:
        return 0.0
    p, r = overlap / sum(ca.values()), overlap / sum(cb.values())
    return 2 * p * r / (p + r)


def _overlap(a: tuple[int, int], b: tuple[int, int]) -> int:
    return max(0, min(a[1], b[1]) - max(a[0], b[0]))


def _greedy(pairs: list[tuple[float, int, int]]) -> list[tuple[int, int]]:
    """One-to-one matching, best pairs first."""
    used_p: set[int] = set()
    used_g: set[int] = set()
    matched = []
    for _, i, j in sorted(pairs, key=lambda t: (-t[0], t[1], t[2])):
        if i not in used_p and j not in used_g:
            used_p.add(i)
            used_g.add(j)
            matched.append((i, j))
    return matched


def matched_metrics(pred: Extraction, gold: GoldDocument) -> list[tuple[int, int]]:
    """(extracted, gold) index pairs: overlapping quotes with equal values, one to one."""
    pairs = []
    for i, m in enumerate(pred.metrics):
        for j, g in enumerate(gold.metrics):
            overlap = _overlap((m.char_start, m.char_end), (g.char_start, g.char_end))
            if overlap and values_equal(m.value, g.value):
                pairs.append((float(overlap), i, j))
    return _greedy(pairs)


def score_metrics(pred: Extraction, gold: GoldDocument, text: str | None = None) -> FieldScore:
    """Detection, and on matched pairs agreement per attribute. With the report's TEXT, also the
    share of matched names that are broken (`namequality`: a measure alone, cut inside a word,
    under two characters), which needs no gold name and so shows what char-F1 hides."""
    score = FieldScore(n_pred=len(pred.metrics), n_gold=len(gold.metrics))
    for i, j in matched_metrics(pred, gold):
        m, g = pred.metrics[i], gold.metrics[j]
        score.tp += 1
        if g.area is not None:  # labelled with the comparable labels
            score.agree("area_accuracy", float(m.area == g.area))
        score.agree("unit_accuracy", float(m.unit == g.unit))
        score.agree("approx_accuracy", float(m.approx == g.approx))
        score.agree("category_accuracy", float(m.category == g.category))
        score.agree("value_max_accuracy", float(values_equal(m.value_max, g.value_max)))
        score.agree("name_similarity", char_f1(m.name, g.name))
        if text is not None:
            score.agree("name_defect_rate", float(name_defect(m.name, text, m.char_start, m.char_end) is not None))
    return score


def score_problems(pred: Extraction, gold: GoldDocument) -> FieldScore:
    score = FieldScore(n_pred=len(pred.problems), n_gold=len(gold.problems))
    pairs = []
    for i, p in enumerate(pred.problems):
        for j, g in enumerate(gold.problems):
            overlap = _overlap((p.char_start, p.char_end), (g.char_start, g.char_end))
            shorter = min(p.char_end - p.char_start, g.char_end - g.char_start)
            if shorter and overlap >= shorter / 2:
                pairs.append((overlap / shorter, i, j))
    for i, j in _greedy(pairs):
        p, g = pred.problems[i], gold.problems[j]
        score.tp += 1
        score.agree("category_accuracy", float(p.category == g.category))
        if g.area is not None:
            score.agree("area_accuracy", float(p.area == g.area))
        score.agree("summary_similarity", char_f1(p.summary, g.summary))
    return score


def _section_key(level: int, number: str, title: str) -> tuple[int, str, str]:
    return level, fold(number), fold(title).rstrip("。.")


def score_sections(pred: Extraction, gold: GoldDocument) -> FieldScore:
    score = FieldScore(n_pred=len(pred.sections), n_gold=len(gold.sections))
    unmatched: dict[tuple[int, str, str], list[int]] = {}
    for j, g in enumerate(gold.sections):
        unmatched.setdefault(_section_key(g.level, g.number, g.title), []).append(j)
    for s in pred.sections:
        candidates = unmatched.get(_section_key(s.level, s.number, s.title))
        if not candidates:
            continue
        # Repeated numbers with equal titles are told apart by position.
        j = min(candidates, key=lambda k: abs(gold.sections[k].char_start - s.char_start))
        candidates.remove(j)
        score.tp += 1
        if s.level == 1:
            score.agree("category_accuracy", float(s.category == gold.sections[j].category))
    return score


def normalise_meta(value: object) -> str | None:
    if value is None:
        return None
    text = fold(str(value))
    return text or None


def score_metadata(pred: Extraction, gold: GoldDocument) -> FieldScore:
    score = FieldScore()
    for name in META_FIELDS:
        score.agree(name, float(normalise_meta(getattr(pred.meta, name)) == normalise_meta(getattr(gold, name))))
    return score


def score_grounding(pred: Extraction, text: str) -> FieldScore:
    """Share of extracted items whose quote stands exactly at its offsets (anything else is a bug)."""
    score = FieldScore()
    items: list[MetricRecord | ProblemRecord] = [*pred.metrics, *pred.problems]
    for item in items:
        score.agree("grounded", float(text[item.char_start:item.char_end] == item.quote))
    return score


def score_labels(pred: Extraction) -> FieldScore:
    """Share of metric names the model gave that failed their check and fell back to code's."""
    score = FieldScore()
    for m in pred.metrics:
        score.agree("fallback", float(m.label_source == "fallback"))
    return score


def score_indicators(pred: Extraction, gold: GoldDocument) -> tuple[FieldScore, list[tuple[str, str | None, str | None]]]:
    """Indicator agreement on matched metrics whose gold carries the comparable labels (an area)."""
    score = FieldScore()
    pairs: list[tuple[str, str | None, str | None]] = []
    for i, j in matched_metrics(pred, gold):
        m, g = pred.metrics[i], gold.metrics[j]
        if g.area is None:
            continue
        pairs.append((gold.doc, m.indicator, g.indicator))
        score.agree("accuracy", float(m.indicator == g.indicator))
        if m.indicator is not None:
            score.agree("precision", float(m.indicator == g.indicator))
        if g.indicator is not None:
            score.agree("recall", float(m.indicator == g.indicator))
    return score, pairs


def score_report(pred: Extraction, gold: GoldDocument, text: str) -> ReportScores:
    indicators, pairs = score_indicators(pred, gold)
    return ReportScores(
        indicators=indicators,
        indicator_pairs=pairs,
        metrics=score_metrics(pred, gold, text),
        problems=score_problems(pred, gold),
        sections=score_sections(pred, gold),
        metadata=score_metadata(pred, gold),
        grounding=score_grounding(pred, text),
        labels=score_labels(pred),
    )


def gold_as_extraction(gold: GoldDocument, doc_id: str = "gold") -> Extraction:
    """The gold labels in the extractor's own shape, for self-scoring and perturbation tests."""
    return Extraction(
        doc_id=doc_id, path=gold.doc,
        meta=ReportMeta(township=gold.township, county=gold.county, year=gold.year,
                        issuer=gold.issuer, report_date=gold.report_date, issuer_level=gold.issuer_level),
        sections=[SectionRecord(section_id=i, parent_id=None, level=s.level, number=s.number, title=s.title,
                                category=s.category, char_start=s.char_start, char_end=s.char_start + 1)
                  for i, s in enumerate(gold.sections)],
        metrics=[MetricRecord(metric_id=i, section_id=None, name=m.name, value=m.value, value_max=m.value_max,
                              unit=m.unit, approx=m.approx, category=m.category, quote=m.quote,
                              char_start=m.char_start, char_end=m.char_end, area=m.area, indicator=m.indicator)
                 for i, m in enumerate(gold.metrics)],
        problems=[ProblemRecord(problem_id=i, section_id=None, summary=p.summary, category=p.category,
                                quote=p.quote, char_start=p.char_start, char_end=p.char_end, area=p.area)
                  for i, p in enumerate(gold.problems)],
    )
