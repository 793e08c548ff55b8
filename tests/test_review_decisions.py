"""The review library on a real database: write rules, append-only reviews, the reviewed views,
and reviews surviving a re-extraction by span and value."""

from __future__ import annotations

import json

import pytest
from pydantic import ValidationError

from llm_extract.errors import ReviewError
from llm_extract.review import decisions, queue
from llm_extract.review.decisions import DecisionIn, ItemKey
from llm_extract.store.database import Store
from tests.support import reviewdb

ADD_DOC = "002_f3ad0f8b935bdfdd.txt"  # 全面摸排辖区五类普法重点人员: the guide's borderline classification


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    return reviewdb.build(tmp_path_factory.mktemp("rules"))


@pytest.fixture()
def store(built, tmp_path):
    with Store(reviewdb.copy(built, tmp_path)) as store:
        yield store


def doc_id(store: Store, name: str = reviewdb.DOC_NAME) -> str:
    [(found, _)] = store.find_documents(name)
    return found


def metric_key(row: dict) -> ItemKey:
    return ItemKey(kind="metric", char_start=row["char_start"], char_end=row["char_end"], value=row["value"])


def metrics(store: Store, doc: str) -> list[dict]:
    return store.query("SELECT * FROM metrics WHERE doc_id = ? ORDER BY metric_id", [doc])


def decide(store, doc, reviewer="ann", **request):
    return decisions.decide(store, doc, DecisionIn.model_validate(request), reviewer)


def reviewed(store, doc, table="metrics_reviewed"):
    return store.query(f"SELECT * FROM {table} WHERE doc_id = ? ORDER BY char_start, char_end", [doc])


def test_without_reviews_the_views_are_the_tables(store):
    for table, view in (("metrics", "metrics_reviewed"), ("problems", "problems_reviewed")):
        raw = store.query(f"SELECT * FROM {table} ORDER BY doc_id, char_start")
        seen = store.query(f"SELECT * FROM {view} ORDER BY doc_id, char_start")
        assert len(seen) == len(raw) > 0
        for r, v in zip(raw, seen):
            assert {k: v[k] for k in r} == r
            assert v["review"] is None


def test_accept_reject_correct_add_and_the_views(store):
    doc = doc_id(store)
    rows = metrics(store, doc)
    first, second, third = rows[0], rows[1], rows[2]
    decide(store, doc, decision="accept", key=metric_key(first).model_dump())
    decide(store, doc, decision="reject", key=metric_key(second).model_dump())
    decide(store, doc, decision="correct", key=metric_key(third).model_dump(),
           change={"name": "下达执法文书数", "category": "enforcement"})
    problem = store.query("SELECT * FROM problems WHERE doc_id = ? ORDER BY problem_id", [doc])[0]
    decide(store, doc, decision="reject", key={"kind": "problem", "char_start": problem["char_start"],
                                               "char_end": problem["char_end"]})

    view = reviewed(store, doc)
    assert len(view) == len(rows) - 1  # the rejected one dropped out
    assert second["char_start"] not in [v["char_start"] for v in view]
    by_start = {v["char_start"]: v for v in view}
    assert by_start[first["char_start"]]["review"] == "accept"
    assert by_start[first["char_start"]]["name"] == first["name"]
    corrected = by_start[third["char_start"]]
    assert (corrected["review"], corrected["name"], corrected["category"]) == ("correct", "下达执法文书数", "enforcement")
    assert corrected["value"] == third["value"] and corrected["quote"] == third["quote"]
    assert len(reviewed(store, doc, "problems_reviewed")) == 2
    # The extraction itself is untouched.
    assert metrics(store, doc) == rows


def test_reviews_are_appended_never_changed(store):
    doc = doc_id(store)
    key = metric_key(metrics(store, doc)[0]).model_dump()
    decide(store, doc, decision="reject", key=key)
    first = store.query("SELECT * FROM reviews")
    decide(store, doc, decision="accept", key=key, reviewer="bob")  # changes their mind: a new row
    rows = store.query("SELECT * FROM reviews ORDER BY review_id")
    assert len(rows) == 2 and rows[0] == first[0]
    assert [r["decision"] for r in rows] == ["reject", "accept"] and rows[1]["reviewer"] == "bob"
    assert json.loads(rows[0]["before"])["quote"] == metrics(store, doc)[0]["quote"] and rows[0]["after"] is None
    assert len(reviewed(store, doc)) == len(metrics(store, doc))  # the latest decision wins


def test_a_corrected_span_must_still_parse_to_a_value(store):
    doc = doc_id(store)
    text = store.query("SELECT text FROM documents WHERE doc_id = ?", [doc])[0]["text"]
    row = metrics(store, doc)[1]  # 今年累计执法43次
    key = metric_key(row).model_dump()
    # Shorter: only 执法43次 (still parses to 43): the span moves, the value stays.
    start = text.index("执法43次")
    after = decide(store, doc, decision="correct", key=key, change={"char_start": start, "char_end": start + 5})
    item = after.find(metric_key(row))
    assert item is not None and item.current["quote"] == "执法43次" and item.current["value"] == 43
    view = {v["quote"]: v for v in reviewed(store, doc)}
    assert "执法43次" in view and row["quote"] not in view
    assert text[view["执法43次"]["char_start"]:view["执法43次"]["char_end"]] == "执法43次"
    # A span without a number, or with another number than the one asked for, is refused.
    with pytest.raises(ReviewError, match="must parse"):
        decide(store, doc, decision="correct", key=key, change={"char_start": start, "char_end": start + 2})
    with pytest.raises(ReviewError, match="not 44"):
        decide(store, doc, decision="correct", key=key, change={"value": 44})
    with pytest.raises(ReviewError, match="unit is what the text says"):
        decide(store, doc, decision="correct", key=key, change={"unit": "人"})
    with pytest.raises(ReviewError, match="approximate"):
        decide(store, doc, decision="correct", key=key, change={"approx": True})


@pytest.mark.parametrize("change, message", [
    ({"char_start": 10, "char_end": 10_000}, "outside the text"),
    ({"char_start": 2, "char_end": 3 + 400}, "at most 200"),
    ({"category": "weather"}, "unknown category"),
    ({"name": ""}, "needs a name"),
])
def test_bad_corrections_are_refused_with_one_line(store, change, message):
    doc = doc_id(store)
    key = metric_key(metrics(store, doc)[0]).model_dump()
    with pytest.raises(ReviewError, match=message) as caught:
        decide(store, doc, decision="correct", key=key, change=change)
    assert "\n" not in str(caught.value)
    assert store.query("SELECT count(*) n FROM reviews")[0]["n"] == 0


@pytest.mark.parametrize("request_", [
    {"decision": "accept"},  # no key
    {"decision": "accept", "key": {"kind": "metric", "char_start": 5, "char_end": 3, "value": 1}},
    {"decision": "accept", "key": {"kind": "metric", "char_start": 1, "char_end": 3}},  # no value
    {"decision": "reject", "key": {"kind": "problem", "char_start": 1, "char_end": 3}, "change": {"name": "x"}},
    {"decision": "correct", "key": {"kind": "metric", "char_start": 1, "char_end": 3, "value": float("nan")},
     "change": {"name": "x"}},
    {"decision": "correct", "key": {"kind": "metric", "char_start": 1, "char_end": 3, "value": 1},
     "change": {"name": "two\nlines"}},
    {"decision": "add", "kind": "metric"},  # no span
    {"decision": "delete", "key": {"kind": "problem", "char_start": 1, "char_end": 3}},
    {"decision": "accept", "key": {"kind": "problem", "char_start": 1, "char_end": 3}, "path": "/etc/passwd"},
])
def test_malformed_requests_fail_validation(request_):
    with pytest.raises(ValidationError):
        DecisionIn.model_validate(request_)


def test_unknown_item_and_bad_reviewer(store):
    doc = doc_id(store)
    with pytest.raises(ReviewError, match="no such item"):
        decide(store, doc, decision="accept", key={"kind": "metric", "char_start": 0, "char_end": 4, "value": 1})
    key = metric_key(metrics(store, doc)[0]).model_dump()
    with pytest.raises(ReviewError, match="reviewer"):
        decide(store, doc, reviewer="   ", decision="accept", key=key)
    with pytest.raises(ReviewError, match="no document"):
        decide(store, "0" * 64, decision="accept", key=key)


def test_add_a_missed_metric_and_a_problem(store):
    doc = doc_id(store, ADD_DOC)
    text = store.query("SELECT text FROM documents WHERE doc_id = ?", [doc])[0]["text"]
    start = text.index("摸排辖区五类")
    before = len(reviewed(store, doc))
    review = decide(store, doc, decision="add", kind="metric",
                    change={"char_start": start, "char_end": start + 6, "name": "摸排重点人员类别",
                            "category": "publicity"})
    added = [i for i in review.items if i.added]
    assert len(added) == 1 and added[0].current["value"] == 5 and added[0].current["unit"] == "类"
    view = reviewed(store, doc)
    assert len(view) == before + 1
    [row] = [v for v in view if v["metric_id"] is None]
    assert (row["quote"], row["value"], row["review"], row["township"]) == ("摸排辖区五类", 5, "add", "青龙镇")
    assert text[row["char_start"]:row["char_end"]] == row["quote"]
    # The same span again is refused; rejecting the added item removes it.
    with pytest.raises(ReviewError, match="already listed"):
        decide(store, doc, decision="add", kind="metric", change={"char_start": start, "char_end": start + 6,
                                                                  "name": "x", "category": "other"})
    decide(store, doc, decision="reject", key=added[0].key.model_dump())
    assert len(reviewed(store, doc)) == before
    # A problem: any span of text, with a summary and a category.
    sentence = text.index("全面摸排")
    decide(store, doc, decision="add", kind="problem",
           change={"char_start": sentence, "char_end": sentence + 14, "summary": "摸排", "category": "other"})
    assert any(p["problem_id"] is None for p in reviewed(store, doc, "problems_reviewed"))
    with pytest.raises(ReviewError, match="no value"):
        decide(store, doc, decision="add", kind="problem",
               change={"char_start": sentence, "char_end": sentence + 3, "summary": "x", "category": "other",
                       "value": 5})


def test_a_re_extraction_keeps_the_reviews_that_still_match(store):
    doc = doc_id(store)
    rows = metrics(store, doc)
    decide(store, doc, decision="reject", key=metric_key(rows[0]).model_dump())
    decide(store, doc, decision="correct", key=metric_key(rows[2]).model_dump(), change={"name": "文书"})
    extraction = store.load_extraction(doc)
    assert extraction is not None
    # A new extraction renumbers the items (reversed ids) and finds item 2 at another span.
    metrics_now = []
    for i, m in enumerate(reversed(extraction.metrics)):
        update = {"metric_id": i}
        if m.metric_id == 2:
            update |= {"char_start": m.char_start + 2, "quote": m.quote[2:]}
        metrics_now.append(m.model_copy(update=update))
    store.save(extraction.model_copy(update={"metrics": metrics_now, "run_id": "again"}))
    view = {v["char_start"]: v for v in reviewed(store, doc)}
    assert rows[0]["char_start"] not in view  # the rejection still applies: same span and value
    moved = view[rows[2]["char_start"] + 2]
    assert moved["review"] is None and moved["name"] == rows[2]["name"]  # no longer the reviewed item
    assert store.query("SELECT count(*) n FROM reviews")[0]["n"] == 2  # nothing was deleted
    review = decisions.load(store, doc)
    assert [i.state for i in review.items if i.key == metric_key(rows[0])] == ["reject"]


def test_accept_rest_and_the_document_list(store):
    doc = doc_id(store)
    listed = {d["doc_id"]: d for d in decisions.documents(store)}
    total = listed[doc]["metrics"] + listed[doc]["problems"]
    assert listed[doc]["unreviewed"] == total
    decide(store, doc, decision="reject", key=metric_key(metrics(store, doc)[0]).model_dump())
    assert decisions.accept_rest(store, doc, "ann") == total - 1
    assert decisions.accept_rest(store, doc, "ann") == 0
    listed = {d["doc_id"]: d for d in decisions.documents(store)}
    assert (listed[doc]["unreviewed"], listed[doc]["rejected"]) == (0, 1)


def test_python_listing_agrees_with_the_views(store):
    """The page (decisions.load) and SQL users (the views) see the same reviewed items."""
    doc = doc_id(store, ADD_DOC)
    rows = metrics(store, doc)
    text = store.query("SELECT text FROM documents WHERE doc_id = ?", [doc])[0]["text"]
    decide(store, doc, decision="reject", key=metric_key(rows[0]).model_dump())
    decide(store, doc, decision="correct", key=metric_key(rows[1]).model_dump(), change={"name": "改名"})
    start = text.index("摸排辖区五类")
    decide(store, doc, decision="add", kind="metric",
           change={"char_start": start, "char_end": start + 6, "name": "类别", "category": "other"})
    page = sorted((i.current["char_start"], i.current["name"], i.current["value"])
                  for i in decisions.load(store, doc).items if i.kind == "metric" and i.state != "reject")
    sql = sorted((v["char_start"], v["name"], v["value"]) for v in reviewed(store, doc))
    assert page == sql


def test_queue_flags_chinese_numerals_and_partial_documents(store):
    doc = doc_id(store, "003_df8a1734a1b083a2.txt")
    review = decisions.load(store, doc)
    queue.flag(review)
    flagged = [i for i in review.items if "chinese" in i.flags]
    for item in flagged:
        assert any(ch in item.current["quote"] for ch in "一二两三四五六七八九十百千万")
    assert review.items[:len(flagged)] == flagged  # they come first
    store.con.execute("UPDATE documents SET status = 'partial' WHERE doc_id = ?", [doc])  # test setup only
    review = decisions.load(store, doc)
    queue.flag(review)
    assert all("partial" in i.flags for i in review.items)
    assert decisions.documents(store)[0]["doc_id"] == doc  # partial documents first
