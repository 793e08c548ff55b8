"""`batch prepare` / `batch collect` offline: request bodies against what the live client sends
over HTTP, custom ids, result lines, re-asks (follow-up file and live) and idempotent collects.

The model is an `AnswerServer` on 127.0.0.1 (real HTTP for `run` and `--reask live`); the batch
endpoint is played by answering each request line's body with the same function. The round trip
with the real embedded model is in test_batch_llm.py.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import duckdb
import pytest

from llm_extract.batch.collect import collect
from llm_extract.batch.prepare import prepare
from llm_extract.batch.requests import (
    Results,
    manifest_path,
    parse_result_line,
    read_manifest,
)
from llm_extract.config import Settings
from llm_extract.errors import BatchError
from llm_extract.label.labellers import extraction_version
from llm_extract.run.pipeline import run
from llm_extract.label.prompts import Prompts
from tests.support.batchrunner import (
    AnswerServer,
    BatchesServer,
    answer_lines,
    completion,
    schema_of,
    some_answer,
    write_lines,
)
from tests.support.paths import REPORTS

# 6 requests (sections, metadata, three metric batches, problems) and 3 (metadata, metrics, problems)
REPORT_A = "000_bfd2e8a3485ea91a.txt"
REPORT_B = "004_264309198007c7ae.txt"


@pytest.fixture()
def work(clean_env: Path) -> Path:
    for name in (REPORT_A, REPORT_B):
        shutil.copy(REPORTS / name, clean_env / name)
    return clean_env


def settings(db: str, **more: Any) -> Settings:
    return Settings(_env_file=None, db=Path(db), **({"model": "test-model"} | more))  # type: ignore[call-arg]


def answered(requests: Path, out: Path, answer: Any = None) -> Path:
    """Play the batch endpoint: every request answered as the AnswerServer answers it live."""
    server = AnswerServer()
    return write_lines(out, answer_lines(requests, answer or server.answer))


def lines(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def rows(db: Path) -> dict[str, list[tuple[Any, ...]]]:
    """What an extraction stored, without what differs by run (ids, times, seconds)."""
    queries = {
        "documents": "SELECT doc_id, path, title, township, county, year, issuer, report_date, issuer_level, status, "
                     "failed_steps, n_dropped, n_fallbacks, model, prompt_version, source_format, converter, "
                     "model_calls, n_chars FROM documents ORDER BY doc_id",
        "sections": "SELECT * FROM sections ORDER BY doc_id, section_id",
        "metrics": "SELECT * FROM metrics ORDER BY doc_id, metric_id",
        "problems": "SELECT * FROM problems ORDER BY doc_id, problem_id",
    }
    with duckdb.connect(str(db), read_only=True) as con:
        return {table: con.execute(sql).fetchall() for table, sql in queries.items()}


def break_answer(line: dict[str, Any], content: str) -> dict[str, Any]:
    broken = json.loads(json.dumps(line))
    broken["response"]["body"]["choices"][0]["message"]["content"] = content
    return broken


# --- the request bodies are the run's ------------------------------------------------------------
@pytest.mark.parametrize("mode", ["json_schema", "tools"])
def test_prepared_requests_are_the_bodies_run_sends_and_collect_stores_what_run_stores(work, mode):
    docs = [work / REPORT_A, work / REPORT_B]
    with AnswerServer().running() as server:
        summary = run(docs, settings("run.duckdb", base_url=server.base_url, mode=mode, concurrency=1))
    assert summary.exit_code == 0 and len(summary.ok) == 2
    sent = server.bodies

    prepared = prepare(docs, settings("batch.duckdb", mode=mode), work / "requests.jsonl")
    assert prepared.requests == len(sent) == 9 and prepared.exit_code == 0
    batch = lines(work / "requests.jsonl")
    assert [line["body"] for line in batch] == sent  # the very bytes' JSON, in the run's order
    assert {(line["method"], line["url"]) for line in batch} == {("POST", "/v1/chat/completions")}

    result = collect([answered(work / "requests.jsonl", work / "results.jsonl")], settings("batch.duckdb"),
                     work / "requests.jsonl")
    assert result.exit_code == 0 and len(result.ok) == 2 and not result.waiting
    assert rows(work / "batch.duckdb") == rows(work / "run.duckdb")
    with duckdb.connect(str(work / "batch.duckdb"), read_only=True) as con:
        assert con.execute("SELECT model, status, n_docs, n_ok, base_url FROM runs").fetchall() == [
            ("test-model", "finished", 2, 2, "batch:results.jsonl")]


def test_custom_ids_are_deterministic_and_name_document_version_and_request(work):
    docs = [work / REPORT_A, work / REPORT_B]
    prepare(docs, settings("a.duckdb"), work / "one.jsonl")
    prepare(docs, settings("a.duckdb"), work / "two.jsonl")
    assert (work / "one.jsonl").read_bytes() == (work / "two.jsonl").read_bytes()
    version = extraction_version(Prompts(), "code")
    manifest = read_manifest(work / "one.jsonl")
    ids = [line["custom_id"] for line in lines(work / "one.jsonl")]
    assert len(ids) == len(set(ids)) == 9 and all(len(i) <= 64 for i in ids)
    for doc in manifest.documents:
        assert doc.custom_ids and all(re.fullmatch(rf"{doc.doc_id[:16]}-{version}-[0-9a-f]{{12}}", i)
                                      for i in doc.custom_ids)
    # Another prompt version (the model names metrics) or another model: other ids.
    prepare(docs, settings("a.duckdb", names="model"), work / "names.jsonl")
    prepare(docs, settings("a.duckdb", model="other"), work / "other.jsonl")
    for other in ("names.jsonl", "other.jsonl"):
        assert not set(ids) & {line["custom_id"] for line in lines(work / other)}
    assert manifest_path(work / "one.jsonl") == work / "one.manifest.json"


def test_prepare_skips_documents_already_stored_unless_forced(work):
    docs = [work / REPORT_A, work / REPORT_B]
    prepare(docs, settings("db.duckdb"), work / "requests.jsonl")
    collect([answered(work / "requests.jsonl", work / "results.jsonl")], settings("db.duckdb"), work / "requests.jsonl")
    again = prepare(docs, settings("db.duckdb"), work / "again.jsonl")
    assert again.requests == 0 and len(again.skipped) == 2 and lines(work / "again.jsonl") == []
    assert prepare(docs, settings("db.duckdb"), work / "forced.jsonl", force=True).requests == 9


def test_collecting_twice_stores_nothing_twice(work):
    docs = [work / REPORT_A, work / REPORT_B]
    prepare(docs, settings("db.duckdb"), work / "requests.jsonl")
    results = answered(work / "requests.jsonl", work / "results.jsonl")
    first = collect([results], settings("db.duckdb"), work / "requests.jsonl")
    stored = rows(work / "db.duckdb")
    second = collect([results], settings("db.duckdb"), work / "requests.jsonl")
    assert first.exit_code == second.exit_code == 0
    assert len(second.skipped) == 2 and not second.ok
    assert rows(work / "db.duckdb") == stored


# --- result lines --------------------------------------------------------------------------------
def test_result_lines_that_are_not_answers_are_named_with_their_reason():
    results = Results()
    parse_result_line('{"custom_id": "a", "response": {"status_code": 200, "body": {"choi', "r.jsonl:1", results)
    parse_result_line('{"id": "x", "response": {}}', "r.jsonl:2", results)
    parse_result_line('{"custom_id": "b", "response": null, "error": {"code": "server_error", "message": "boom"}}',
                      "r.jsonl:3", results)
    parse_result_line('{"custom_id": "c", "response": {"status_code": 429, "body": {"error": {"message": "slow down"}}}}',
                      "r.jsonl:4", results)
    parse_result_line('{"custom_id": "d", "response": {"status_code": 200, "body": {"object": "error"}}}', "r.jsonl:5", results)
    parse_result_line('{"custom_id": "e", "response": {"status_code": 200, "body": {"choices": [{}]}}}', "r.jsonl:6", results)
    assert results.bad_lines == [
        "r.jsonl:1: not JSON (Unterminated string starting at, column 62); the rest of the file is read",
        "r.jsonl:2: no custom_id"]
    assert results.by_id["b"][0].error == "the batch endpoint failed the request (server_error: boom)"
    assert results.by_id["c"][0].error == "the endpoint answered HTTP 429 (slow down)"
    assert "not a chat completion" in (results.by_id["d"][0].error or "")
    assert results.by_id["e"][0].completion == {"choices": [{}]} and results.by_id["e"][0].where == "r.jsonl:6"


def test_missing_failed_and_unparseable_answers_keep_their_document_out_and_are_listed(work):
    docs = [work / REPORT_A, work / REPORT_B]
    prepare(docs, settings("db.duckdb"), work / "requests.jsonl")
    server = AnswerServer()
    out = answer_lines(work / "requests.jsonl", server.answer)
    a_ids = read_manifest(work / "requests.jsonl").documents[0].custom_ids
    by_id = {line["custom_id"]: json.loads(json.dumps(line)) for line in out}
    by_id[a_ids[0]] = {"id": "x", "custom_id": a_ids[0], "response": {"status_code": 500, "body": {"error": {"message": "overloaded"}}}, "error": None}
    by_id[a_ids[1]]["response"]["body"] = {"not": "a completion", "choices": "no"}
    del by_id[a_ids[2]]
    other = json.loads(json.dumps(out[0]))
    other["custom_id"] = "f" * 16 + other["custom_id"][16:]  # another document's answer
    results = write_lines(work / "results.jsonl", [*by_id.values(), other])
    (work / "results.jsonl").write_text(results.read_text() + "{not json\n", encoding="utf-8")
    summary = collect([results], settings("db.duckdb"), work / "requests.jsonl")
    assert summary.exit_code == 1 and summary.ok == [str(work / REPORT_B)]
    assert summary.not_stored == [str(work / REPORT_A)]
    reasons = {item.custom_id: item.reason for item in summary.waiting}
    assert list(reasons) == a_ids[:3]
    assert reasons[a_ids[0]].startswith("the endpoint answered HTTP 500 (overloaded)")
    assert "not a chat completion" in reasons[a_ids[1]]
    assert reasons[a_ids[2]] == "no answer in the results"
    assert summary.unknown_ids == 1
    assert summary.bad_lines == [(f"results.jsonl:{len(by_id) + 2}: not JSON (Expecting property name enclosed "
                                  "in double quotes, column 2); the rest of the file is read")]
    assert [r[1] for r in rows(work / "db.duckdb")["documents"]] == [str(work / REPORT_B)]
    # A later file with answers for them overrides the failures: the document is stored.
    fixed = write_lines(work / "fixed.jsonl", [line for line in out if line["custom_id"] in a_ids[:3]])
    again = collect([results, fixed], settings("db.duckdb"), work / "requests.jsonl")
    assert again.exit_code == 0 and again.ok == [str(work / REPORT_A)] and again.skipped == [str(work / REPORT_B)]


def test_an_answer_cut_off_at_max_tokens_splits_the_batch_as_run_does(work):
    """A truncated metric batch is split in halves, as `run` splits it; the halves are new
    requests, written to the follow-up file and then answered."""
    def cut(body: dict[str, Any]) -> dict[str, Any]:
        name, schema = schema_of(body)
        if name.startswith("MetricCategories") and len(schema["properties"]) > 1:
            return completion(body, '{"c1": "publi', finish="length")
        return completion(body, some_answer(name, schema, body))

    doc = work / REPORT_A
    with AnswerServer().running() as server:
        server.answer = cut  # type: ignore[method-assign]
        assert run([doc], settings("run.duckdb", base_url=server.base_url, mode="json_schema", concurrency=1)).exit_code == 0
    split = [b for b in server.bodies if "MetricCategories" in schema_of(b)[0]]

    prepare([doc], settings("db.duckdb"), work / "requests.jsonl")
    prepared = [line["body"] for line in lines(work / "requests.jsonl")]
    files = [write_lines(work / "results.jsonl", answer_lines(work / "requests.jsonl", cut))]
    followups: list[dict[str, Any]] = []
    for round_ in range(1, 9):  # a half that is cut off again is split again: one round per level
        summary = collect(files, settings("db.duckdb"), work / "requests.jsonl", reask_file=work / f"followup{round_}.jsonl")
        if summary.exit_code == 0:
            break
        assert summary.not_stored == [str(doc)] and {i.reason for i in summary.waiting} == {"no answer in the results"}
        followups += [line["body"] for line in lines(work / f"followup{round_}.jsonl")]
        files.append(write_lines(work / f"more{round_}.jsonl", answer_lines(work / f"followup{round_}.jsonl", cut)))
    assert summary.exit_code == 0 and summary.ok == [str(doc)] and round_ > 2
    key = lambda body: json.dumps(body, sort_keys=True)
    assert sorted(map(key, followups)) == sorted(key(b) for b in split if b not in prepared)
    assert rows(work / "db.duckdb") == rows(work / "run.duckdb")


# --- invalid answers: listed, then a follow-up batch or a live re-ask ---------------------------
def _one_invalid(work: Path) -> tuple[Path, str, dict[str, Any]]:
    docs = [work / REPORT_A, work / REPORT_B]
    prepare(docs, settings("db.duckdb"), work / "requests.jsonl")
    out = answer_lines(work / "requests.jsonl", AnswerServer().answer)
    target = next(k for k, line in enumerate(out) if line["custom_id"] in read_manifest(work / "requests.jsonl").documents[1].custom_ids
                  and "ProblemCategories" in schema_of(lines(work / "requests.jsonl")[k]["body"])[0])
    out[target] = break_answer(out[target], '{"c1": "not_a_category", "c2": "other", "c3": "other"}')
    return write_lines(work / "results.jsonl", out), out[target]["custom_id"], lines(work / "requests.jsonl")[target]


def test_an_invalid_answer_is_listed_and_written_as_a_reask_with_the_same_custom_id(work):
    results, cid, request = _one_invalid(work)
    summary = collect([results], settings("db.duckdb"), work / "requests.jsonl", reask_file=work / "followup.jsonl")
    assert summary.exit_code == 1 and summary.ok == [str(work / REPORT_A)] and summary.not_stored == [str(work / REPORT_B)]
    [item] = summary.waiting
    assert item.custom_id == cid and item.task == "ProblemCategories3" and item.reason.startswith("invalid answer (results.jsonl:")
    assert "not_a_category" in item.reason
    [line] = lines(work / "followup.jsonl")
    assert line["custom_id"] == cid and line["url"] == "/v1/chat/completions" and line["method"] == "POST"
    messages = line["body"]["messages"]
    # instructor's re-ask for the mode: the request, the invalid answer, the validation error
    assert messages[:2] == request["body"]["messages"]
    assert messages[2] == {"role": "assistant", "content": '{"c1": "not_a_category", "c2": "other", "c3": "other"}'}
    assert messages[3]["role"] == "user" and "not_a_category" in messages[3]["content"]
    assert {k: v for k, v in line["body"].items() if k != "messages"} == {k: v for k, v in request["body"].items() if k != "messages"}
    assert [r[1] for r in rows(work / "db.duckdb")["documents"]] == [str(work / REPORT_A)]

    # The follow-up answered validly, collected after the first results: the re-ask's answer.
    followup_results = write_lines(work / "followup-results.jsonl", answer_lines(work / "followup.jsonl", AnswerServer().answer))
    again = collect([results, followup_results], settings("db.duckdb"), work / "requests.jsonl")
    assert again.exit_code == 0 and again.ok == [str(work / REPORT_B)]


def test_an_answer_still_invalid_after_the_reasks_fails_its_step_as_in_run(work):
    results, _, _ = _one_invalid(work)
    collect([results], settings("db.duckdb"), work / "requests.jsonl", reask_file=work / "followup.jsonl")
    [line] = answer_lines(work / "followup.jsonl", AnswerServer().answer)
    still = write_lines(work / "still.jsonl", [break_answer(line, '{"c1": "nope"}')])
    summary = collect([results, still], settings("db.duckdb"), work / "requests.jsonl")
    assert summary.exit_code == 1 and summary.partial == [str(work / REPORT_B)] and not summary.waiting
    [doc] = [d for d in rows(work / "db.duckdb")["documents"] if d[1] == str(work / REPORT_B)]
    assert doc[9] == "partial" and "stayed invalid after 2 attempts" in doc[10]
    assert rows(work / "db.duckdb")["problems"] == [] or all(r[0] != doc[0] for r in rows(work / "db.duckdb")["problems"])


def test_reask_live_asks_the_original_request_and_stores_the_document(work):
    results, cid, request = _one_invalid(work)
    with AnswerServer().running() as server:
        summary = collect([results], settings("db.duckdb", base_url=server.base_url), work / "requests.jsonl", reask="live")
    assert summary.exit_code == 0 and sorted(summary.ok) == sorted([str(work / REPORT_A), str(work / REPORT_B)])
    assert [item.custom_id for item in summary.asked_live] == [cid]
    assert server.bodies == [request["body"]]  # asked afresh in the prepared mode and model, once


# --- documents and versions that moved on -------------------------------------------------------
def test_a_file_changed_since_prepare_is_reported_and_not_stored(work):
    docs = [work / REPORT_A, work / REPORT_B]
    prepare(docs, settings("db.duckdb"), work / "requests.jsonl")
    results = answered(work / "requests.jsonl", work / "results.jsonl")
    (work / REPORT_B).write_text((work / REPORT_B).read_text(encoding="utf-8") + "\n补记。\n", encoding="utf-8")
    summary = collect([results], settings("db.duckdb"), work / "requests.jsonl")
    assert summary.exit_code == 1 and summary.ok == [str(work / REPORT_A)]
    [(path, reason)] = summary.failed
    assert path == str(work / REPORT_B) and reason.startswith("changed since the requests were prepared")


def test_answers_for_another_prompt_version_are_refused(work):
    prepare([work / REPORT_B], settings("db.duckdb"), work / "requests.jsonl")
    results = answered(work / "requests.jsonl", work / "results.jsonl")
    manifest = json.loads(manifest_path(work / "requests.jsonl").read_text(encoding="utf-8"))
    manifest["prompt_version"] = "0" * 16
    manifest_path(work / "requests.jsonl").write_text(json.dumps(manifest), encoding="utf-8")
    with pytest.raises(BatchError, match="changed since these requests were prepared"):
        collect([results], settings("db.duckdb"), work / "requests.jsonl")


# --- the command line ------------------------------------------------------------------------------
def cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "llm_extract", *args], check=False, cwd=cwd, capture_output=True, text=True,
                          timeout=300)


def test_cli_prints_counts_lists_unanswered_requests_and_exits_like_run(work):
    prepared = cli("batch", "prepare", REPORT_A, REPORT_B, "-o", "requests.jsonl", "--model", "test-model", cwd=work)
    assert prepared.returncode == 0, prepared.stderr
    assert "2 documents, 9 requests (test-model, json_schema" in prepared.stderr
    out = answer_lines(work / "requests.jsonl", AnswerServer().answer)
    out[0] = break_answer(out[0], "I cannot answer that.")
    write_lines(work / "results.jsonl", out)
    collected = cli("batch", "collect", "results.jsonl", "--reask-file", "followup.jsonl", cwd=work)
    assert collected.returncode == 1, collected.stderr
    assert re.search(rf"unanswered  {REPORT_A}: {out[0]['custom_id']} \(\w+\): invalid answer \(results.jsonl:1\)",
                     collected.stderr), collected.stderr
    assert "1 stored (0 partial), 0 skipped, 0 failed, 1 waiting for 1 answers" in collected.stderr
    assert "wrote 1 requests to followup.jsonl" in collected.stderr
    no_manifest = cli("batch", "collect", "results.jsonl", "--requests", "elsewhere.jsonl", cwd=work)
    assert no_manifest.returncode == 2 and "no elsewhere.manifest.json beside elsewhere.jsonl" in no_manifest.stderr


def test_submit_and_status_go_through_the_files_and_batches_api(work, monkeypatch):
    assert cli("batch", "prepare", REPORT_A, REPORT_B, "--model", "test-model", cwd=work).returncode == 0
    failing = read_manifest(work / "requests.jsonl").documents[1].custom_ids[0]
    with BatchesServer(AnswerServer().answer, fail={failing}).running() as api:
        monkeypatch.setenv("LLM_EXTRACT_BASE_URL", api.base_url)
        monkeypatch.setenv("LLM_EXTRACT_API_KEY", "sk-test")
        submitted = cli("batch", "submit", "requests.jsonl", cwd=work)
        assert submitted.returncode == 0, submitted.stderr
        batch_id = submitted.stdout.strip()
        assert batch_id == "batch_1" and api.files["file-1"] == (work / "requests.jsonl").read_text(encoding="utf-8")
        waiting = cli("batch", "status", batch_id, "-o", "results.jsonl", cwd=work)
        assert waiting.returncode == 1 and "in_progress, 0 of 9 requests answered" in waiting.stderr
        assert not (work / "results.jsonl").exists()
        done = cli("batch", "status", batch_id, "-o", "results.jsonl", cwd=work)
        assert done.returncode == 0, done.stderr
        assert "completed, 8 of 9 requests answered, 1 failed; 9 result lines → results.jsonl" in done.stderr
        missing = cli("batch", "status", "batch_9", cwd=work)
        assert missing.returncode == 2 and "no such batch or no batch API (HTTP 404)" in missing.stderr
    collected = cli("batch", "collect", "results.jsonl", cwd=work)
    assert collected.returncode == 1
    assert f"{failing} (" in collected.stderr and "the endpoint answered HTTP 500 (server busy)" in collected.stderr
    assert "1 stored (0 partial), 0 skipped, 0 failed, 1 waiting for 1 answers" in collected.stderr


def test_submit_without_a_hosted_endpoint_says_what_to_set(work):
    (work / "requests.jsonl").write_text("", encoding="utf-8")
    result = cli("batch", "submit", "requests.jsonl", cwd=work)
    assert result.returncode == 2 and "set LLM_EXTRACT_BASE_URL and LLM_EXTRACT_API_KEY" in result.stderr


def test_prepare_refuses_to_write_a_file_that_would_miss_requests(work, monkeypatch):
    """If a step's missing answer stopped the steps after it (one request at a time), the file
    would hold the first request only: prepare says so instead of writing it."""
    from llm_extract.run import extract

    real = extract._Later.result
    stopped: list[bool] = []

    def stop_after_a_failure(self):  # type: ignore[no-untyped-def]
        if stopped:
            raise extract.ModelOutputError("skipped after an earlier failure")
        try:
            return real(self)
        except extract.ModelOutputError:
            stopped.append(True)
            raise

    monkeypatch.setattr(extract._Later, "result", stop_after_a_failure)
    with pytest.raises(BatchError, match="recording the requests of .* went wrong .* this is a bug"):
        prepare([work / REPORT_A], settings("db.duckdb"), work / "requests.jsonl")
    assert not (work / "requests.jsonl").exists()
