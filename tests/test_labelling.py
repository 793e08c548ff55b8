"""The labelling path offline, through the scripted model seam: every label is checked against its
own item, re-asked once, then replaced by code's and counted; truncated answers split their batch;
a failed step makes a document partial; metadata the text does not contain is rejected."""

from __future__ import annotations

import contextlib
from pathlib import Path

import pytest

from llm_extract.config import Settings
from llm_extract.ingest.documents import load
from llm_extract.errors import ModelOutputError, TruncatedOutput
from llm_extract.run.extract import extract_document, label_batch
from llm_extract.label.labellers import LLMLabeller
from llm_extract.run.pipeline import DocDone, Skipped, run
from llm_extract.label.prompts import Prompts
from llm_extract.propose.numbers import find_quantities
from llm_extract.label.proposals import metric_batches
from llm_extract.store.database import Store
from tests.support.paths import REPORTS, SMALL
from tests.support.scripted import ScriptedBackend, items_shown, plausible

TEXT = ("一、主要工作\n今年以来，开展普法宣传12次，发放宣传册300份，调解矛盾纠纷15起，"
        "组织干部学法培训4场，接待法律咨询20人次，查处违法案件6件，开展安全检查9次，"
        "设置网格员30名，举办讲座2期。\n二、存在的问题\n一是群众法治意识不强；二是执法人员不足。\n")


def _doc(tmp_path: Path, text: str = TEXT):
    path = tmp_path / "r.txt"
    path.write_text(text, encoding="utf-8")
    return load(path)


def _labeller(responder=plausible, reasks: int = 1, names="model") -> tuple[LLMLabeller, ScriptedBackend]:
    backend = ScriptedBackend(responder, max_reasks=reasks)
    return LLMLabeller(backend, Prompts(), "scripted", reasks=reasks, names=names,
                       asks=("category", "area", "indicator", "problem_area")), backend


def _same_name_for_all(name: str):
    def respond(task, model, messages):
        if task == "Metrics":
            return {f: {"name": name, "category": "publicity"} for f in model.model_fields}
        return plausible(task, model, messages)
    return respond


def test_names_from_their_own_items_are_kept(tmp_path):
    labeller, _ = _labeller()
    extraction = extract_document(_doc(tmp_path), labeller)
    assert len(extraction.metrics) == 9
    assert all(m.label_source == "model" for m in extraction.metrics)
    assert extraction.fallbacks == 0


def test_a_name_drifted_onto_the_batch_is_reasked_then_replaced_by_code_and_counted(tmp_path):
    labeller, backend = _labeller(_same_name_for_all("普法宣传"))
    extraction = extract_document(_doc(tmp_path), labeller)
    by_quote = {m.quote: m for m in extraction.metrics}
    kept = by_quote["开展普法宣传12次"]
    assert kept.name == "普法宣传" and kept.label_source == "model"
    drifted = by_quote["调解矛盾纠纷15起"]
    assert drifted.label_source == "fallback" and drifted.name == "调解矛盾纠纷"
    assert extraction.fallbacks == sum(m.label_source == "fallback" for m in extraction.metrics) >= 8
    # One re-ask per batch, carrying the reason naming the misaligned items.
    metric_calls = [messages for task, messages in backend.calls if task == "Metrics"]
    assert len(metric_calls) == 2 * len(metric_batches(TEXT))
    assert "c3 的 name「普法宣传」" in metric_calls[1][-1]["content"]


def test_a_corrected_answer_after_the_reask_is_kept(tmp_path):
    answers = iter([_same_name_for_all("安全检查"), plausible])

    def respond(task, model, messages):
        if task == "Metrics" and len(metric_batches(TEXT)[0].items) == len(model.model_fields):
            return next(answers)(task, model, messages)
        return plausible(task, model, messages)

    labeller, _ = _labeller(respond)
    batch = metric_batches(TEXT)[0]
    names, _usage = labeller.metric_labels(batch)
    assert [n.source for n in names] == ["model"] * len(batch.items)


def test_without_reasks_misaligned_names_fall_back_at_once(tmp_path):
    labeller, backend = _labeller(_same_name_for_all("查处违法案件"), reasks=0)
    names, _ = labeller.metric_labels(metric_batches(TEXT)[0])
    assert len(backend.calls) == 1
    assert sum(n.source == "fallback" for n in names) == len(names) - 1


def test_with_code_names_the_model_is_asked_only_for_what_words_do_not_settle(tmp_path):
    labeller, backend = _labeller(names="code")
    extraction = extract_document(_doc(tmp_path), labeller)
    asked = [items_shown(messages) for task, messages in backend.calls if task == "MetricCategories"]
    # 安全 (safety) and 检查 (enforcement) leave the category open; 学法 and 培训 two indicators
    # (collective sessions, training sessions); 网格员 no area's words at all.
    assert asked == [["组织干部学法培训4场", "开展安全检查9次", "设置网格员30名"]]
    by_quote = {m.quote: m for m in extraction.metrics}
    assert by_quote["调解矛盾纠纷15起"].category == "disputes_petitions"  # settled by its words
    assert by_quote["举办讲座2期"].category == "study_training"
    assert by_quote["开展安全检查9次"].category == "other"  # the scripted model's answer
    assert all(m.label_source == "code" for m in extraction.metrics) and extraction.fallbacks == 0
    assert not any(task == "Metrics" for task, _ in backend.calls)


def test_truncated_answers_split_the_batch_until_it_fits():
    def respond(task, model, messages):
        if len(model.model_fields) > 3:
            return TruncatedOutput("cut off at max_tokens")
        return plausible(task, model, messages)

    labeller, backend = _labeller(respond)
    batch = metric_batches(TEXT)[0]
    assert len(batch.items) == 8
    names, usage = label_batch(labeller, batch)
    assert len(names) == 8 and usage.calls == 4  # 8 -> 4+4 -> 2+2+2+2
    assert [len(messages and items_shown(messages)) for _, messages in backend.calls] == [8, 4, 2, 2, 4, 2, 2]


def test_a_single_item_that_is_still_cut_off_fails_its_step_and_the_document_is_partial(tmp_path):
    def respond(task, model, messages):
        return TruncatedOutput("cut off at max_tokens") if task == "Metrics" else plausible(task, model, messages)

    labeller, _ = _labeller(respond)
    extraction = extract_document(_doc(tmp_path), labeller)
    assert extraction.status == "partial" and extraction.metrics == []
    assert extraction.failed_steps and all("cut off" in s for s in extraction.failed_steps)
    assert len(extraction.problems) == 2  # the other steps went on


def test_an_answer_that_stays_invalid_fails_only_its_step(tmp_path):
    def respond(task, model, messages):
        if task == "ProblemCategories":
            return {"c1": "not-a-category"}  # invalid every time
        return plausible(task, model, messages)

    labeller, backend = _labeller(respond)
    extraction = extract_document(_doc(tmp_path), labeller)
    assert extraction.problems == [] and len(extraction.metrics) == 9
    assert [s.split(":")[0] for s in extraction.failed_steps] == ["problems 二"]
    assert sum(task == "ProblemCategories" for task, _ in backend.calls) == 2  # asked, then re-asked once


def test_metadata_not_in_the_text_is_rejected_and_counted(tmp_path):
    def respond(task, model, messages):
        if task == "MetadataAnswer":
            return {"township": "青山镇", "county": "虚构县", "year": 2023, "issuer": "虚构县青山镇人民政府",
                    "report_date": "2024-01-05"}
        return plausible(task, model, messages)

    labeller, _ = _labeller(respond)
    extraction = extract_document(_doc(tmp_path), labeller)
    meta = extraction.meta
    assert (meta.township, meta.county, meta.issuer, meta.year, meta.report_date) == (None, None, None, None, None)
    assert extraction.dropped == 5


def test_issuer_level_county_and_township_follow_from_the_issuer(tmp_path):
    text = "某某县司法局\n2023年法治政府建设年度报告\n" + TEXT + "\n某某县司法局\n2024年1月8日\n"

    def respond(task, model, messages):
        if task == "MetadataAnswer":  # a model that calls the department a township
            return {"township": "某某县司法局", "county": None, "year": 2023, "issuer": "某某县司法局",
                    "report_date": "2024-01-08"}
        return plausible(task, model, messages)

    labeller, _ = _labeller(respond)
    meta = extract_document(_doc(tmp_path, text), labeller).meta
    assert (meta.issuer_level, meta.township, meta.county, meta.issuer, meta.year, str(meta.report_date)) == (
        "county_department", None, "某某县", "某某县司法局", 2023, "2024-01-08")


def test_every_stored_value_parses_from_its_own_quote_inside_its_section(tmp_path):
    """Offsets come from code: each metric's quote holds exactly one quantity, the stored value,
    and lies inside the section the metric is filed under."""
    labeller, _ = _labeller()
    doc = _doc(tmp_path)
    extraction = extract_document(doc, labeller)
    sections = {s.section_id: s for s in extraction.sections}
    assert extraction.metrics
    for metric in extraction.metrics:
        [quantity] = [q for q in find_quantities(metric.quote)]
        assert (quantity.value, quantity.unit) == (metric.value, metric.unit), metric.quote
        if metric.section_id is not None:
            section = sections[metric.section_id]
            assert section.char_start <= metric.char_start < metric.char_end <= section.char_end


# --- the pipeline, offline --------------------------------------------------------------------
@pytest.fixture()
def fake_embedded(monkeypatch):
    """The embedded model's server replaced by its address only; the scripted seam answers."""
    from llm_extract.model import local

    class Server:
        base_url = "http://127.0.0.1:18080/v1"
        binary = None
        slots = 1

        def share_prefix(self, system: str) -> None:
            pass

    @contextlib.contextmanager
    def serve(_settings):
        yield Server()

    monkeypatch.setattr(local, "serve", serve)
    return Server.base_url


def _settings(db: Path, **values) -> Settings:
    return Settings(_env_file=None, db=db, **values)  # type: ignore[call-arg]


def test_runs_record_the_embedded_servers_base_url(tmp_path, fake_embedded):
    """Defect: runs.base_url was NULL for every run on the embedded model."""
    summary = run([SMALL], _settings(tmp_path / "x.duckdb"), model_backend=ScriptedBackend())
    assert summary.exit_code == 0 and summary.base_url == fake_embedded
    with Store(tmp_path / "x.duckdb", read_only=True) as store:
        assert store.query("SELECT base_url FROM runs")[0]["base_url"] == fake_embedded
        doc = store.query("SELECT model, prompt_version, run_id FROM documents")[0]
    assert doc == {"model": summary.model, "prompt_version": summary.prompt_version, "run_id": summary.run_id}


def test_pipeline_run_events_skip_and_partial_exit_code(tmp_path, fake_embedded):
    events = []
    settings = _settings(tmp_path / "x.duckdb")
    first = run([REPORTS], settings, model_backend=ScriptedBackend(), on_event=events.append)
    assert first.exit_code == 0 and len(first.ok) == 5
    assert [type(e).__name__ for e in events].count("DocDone") == 5
    assert all(isinstance(e.extraction.metrics, list) for e in events if isinstance(e, DocDone))
    events.clear()
    again = run([REPORTS], settings, model_backend=ScriptedBackend(), on_event=events.append)
    assert len(again.skipped) == 5 and sum(isinstance(e, Skipped) for e in events) == 5

    def broken(task, model, messages):
        return ModelOutputError("nonsense") if task.startswith("Metric") else plausible(task, model, messages)

    partial = run([SMALL], settings, force=True, model_backend=ScriptedBackend(broken))
    assert partial.exit_code == 1 and partial.partial == [str(SMALL)]


def test_the_model_is_asked_for_metadata_only_when_code_leaves_something_to_read(tmp_path):
    # Title, issuer and signature name township, county and year: the model could change nothing.
    titled = "某某县青山镇人民政府\n2023年法治政府建设年度报告\n" + TEXT + "\n某某县青山镇人民政府\n2024年1月8日\n"
    labeller, backend = _labeller()
    meta = extract_document(_doc(tmp_path, titled), labeller).meta
    assert (meta.township, meta.county, meta.year) == ("青山镇", "某某县", 2023)
    assert not any(task == "MetadataAnswer" for task, _ in backend.calls)
    # No title and no signature: code reads nothing, so the model is asked once.
    labeller, backend = _labeller()
    extract_document(_doc(tmp_path), labeller)
    assert sum(task == "MetadataAnswer" for task, _ in backend.calls) == 1
