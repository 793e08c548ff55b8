"""Deterministic scorers: an extraction against a gold document. Pure functions, no I/O.

Counts, not ratios, are kept per report so that totals are micro-averaged by summing.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field

from .gold import GoldDocument
from .ground import fold
from .namequality import name_defect
from .numbers import values_equal
from .schemas import Extraction, MetricRecord, ProblemRecord, ReportMeta, SectionRecord

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

    def add(self, other: ReportScores) -> None:
        for name in FIELDS:
            getattr(self, name).add(getattr(other, name))

    def table(self) -> dict[str, dict[str, float | None]]:
        out = {
            "metrics": self.metrics.scores(),
            "problems": self.problems.scores(),
            "sections": self.sections.scores(),
            "metadata": {name: self.metadata.attr(name) for name in META_FIELDS} | {"accuracy": _mean_attr(self.metadata)},
            "grounding": {"rate": self.grounding.attr("grounded")},
            "labels": {"fallback_rate": self.labels.attr("fallback")},
        }
        return out


FIELDS = ("metrics", "problems", "sections", "metadata", "grounding", "labels")


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


def score_metrics(pred: Extraction, gold: GoldDocument, text: str | None = None) -> FieldScore:
    """Detection, and on matched pairs agreement per attribute. With the report's TEXT, also the
    share of matched names that are broken (`namequality`: a measure alone, cut inside a word,
    under two characters), which needs no gold name and so shows what char-F1 hides."""
    score = FieldScore(n_pred=len(pred.metrics), n_gold=len(gold.metrics))
    pairs = []
    for i, m in enumerate(pred.metrics):
        for j, g in enumerate(gold.metrics):
            overlap = _overlap((m.char_start, m.char_end), (g.char_start, g.char_end))
            if overlap and values_equal(m.value, g.value):
                pairs.append((float(overlap), i, j))
    for i, j in _greedy(pairs):
        m, g = pred.metrics[i], gold.metrics[j]
        score.tp += 1
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


def score_report(pred: Extraction, gold: GoldDocument, text: str) -> ReportScores:
    return ReportScores(
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
                              char_start=m.char_start, char_end=m.char_end) for i, m in enumerate(gold.metrics)],
        problems=[ProblemRecord(problem_id=i, section_id=None, summary=p.summary, category=p.category,
                                quote=p.quote, char_start=p.char_start, char_end=p.char_end)
                  for i, p in enumerate(gold.problems)],
    )
