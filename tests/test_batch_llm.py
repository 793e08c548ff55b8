"""Batch round trip with the real embedded model: `batch prepare` → a runner plays the batch
endpoint by POSTing each line's body to the llama-server → `batch collect`, against a direct
`llm-extract run` of the same reports on the same server (through a proxy that keeps its traffic).

Why the comparison has two parts: llama.cpp is not bit-identical across batch compositions
(ggml-org/llama.cpp#7052, #6950): with several slots decoding together a near-tie (two problem
categories) can flip between two identical requests. Both sides therefore ask one request at a
time; and, independent of the model's determinism, the run's own answers collected as a batch
must give exactly the run's rows.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from llm_extract.config import LOCAL_MODEL_NAME
from tests.support.batchrunner import RecordingProxy, run_batch, write_lines
from tests.support.paths import REPORTS
from tests.test_batch import rows

pytestmark = pytest.mark.llm

# 2 and 3 requests: the smallest two reports by model calls.
NAMES = ["001_68665389685953dc.txt", "004_264309198007c7ae.txt"]


def cli(*args: str, env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "llm_extract", *args], check=False, env=env, cwd=cwd,
                          capture_output=True, text=True, timeout=1800)


def lines(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def content(answer: dict[str, Any]) -> str:
    return answer["choices"][0]["message"]["content"]


@pytest.fixture(scope="module")
def trip(local_server: str, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    work = tmp_path_factory.mktemp("batch")
    for name in NAMES:
        shutil.copy(REPORTS / name, work / name)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LLM_EXTRACT_", "OPENAI_"))}
    env |= {"LLM_EXTRACT_BASE_URL": local_server, "LLM_EXTRACT_MODEL": LOCAL_MODEL_NAME}
    prepared = cli("batch", "prepare", *NAMES, "-o", "requests.jsonl", "--db", "batch.duckdb", env=env, cwd=work)
    assert prepared.returncode == 0, prepared.stderr
    run_batch(work / "requests.jsonl", work / "results.jsonl", local_server, parallel=1)
    collected = cli("batch", "collect", "results.jsonl", "--db", "batch.duckdb", env=env, cwd=work)
    with RecordingProxy(local_server).running() as proxy:
        ran = cli("run", *NAMES, "--db", "run.duckdb", "--concurrency", "1", env=env | {"LLM_EXTRACT_BASE_URL": proxy.base_url},
                  cwd=work)
    assert ran.returncode == 0, ran.stderr
    return {"work": work, "env": env, "server": local_server, "prepared": prepared, "collected": collected,
            "exchanges": proxy.exchanges}


def test_prepare_writes_exactly_the_requests_the_run_sent(trip):
    work = trip["work"]
    assert "2 documents, 5 requests (qwen2.5-coder-1.5b-instruct-q4_k_m, json_schema" in trip["prepared"].stderr
    prepared = sorted(json.dumps(line["body"], sort_keys=True) for line in lines(work / "requests.jsonl"))
    sent = sorted(json.dumps(body, sort_keys=True) for body, _ in trip["exchanges"])
    assert sent == prepared


def test_the_runs_own_answers_collected_as_a_batch_give_exactly_the_runs_rows(trip):
    work = trip["work"]
    by_body = {json.dumps(line["body"], sort_keys=True): line["custom_id"] for line in lines(work / "requests.jsonl")}
    answers = [{"id": f"r{k}", "custom_id": by_body[json.dumps(body, sort_keys=True)],
                "response": {"status_code": 200, "body": answer}, "error": None}
               for k, (body, answer) in enumerate(trip["exchanges"])]
    write_lines(work / "run-answers.jsonl", answers)
    result = cli("batch", "collect", "run-answers.jsonl", "--db", "replayed.duckdb", env=trip["env"], cwd=work)
    assert result.returncode == 0, result.stderr
    replayed, ran = rows(work / "replayed.duckdb"), rows(work / "run.duckdb")
    assert replayed == ran
    assert len(ran["metrics"]) == 11 and len(ran["problems"]) == 6 and len(ran["sections"]) > 10


def test_batch_round_trip_stores_the_rows_of_run(trip):
    work, collected = trip["work"], trip["collected"]
    assert collected.returncode == 0, collected.stderr
    assert "2 stored (0 partial), 0 skipped, 0 failed, 0 waiting for 0 answers" in collected.stderr
    batch_answers = {line["custom_id"]: content(line["response"]["body"]) for line in lines(work / "results.jsonl")}
    by_body = {json.dumps(line["body"], sort_keys=True): line["custom_id"] for line in lines(work / "requests.jsonl")}
    run_answers = {by_body[json.dumps(body, sort_keys=True)]: content(answer) for body, answer in trip["exchanges"]}
    # One request at a time on the same server: the model answered both the same, so the rows are equal.
    assert batch_answers == run_answers
    assert rows(work / "batch.duckdb") == rows(work / "run.duckdb")


def test_an_invalid_answer_is_listed_then_answered_by_a_followup_batch_or_live(trip):
    work, env = trip["work"], trip["env"]
    requests = lines(work / "requests.jsonl")
    results = lines(work / "results.jsonl")
    k = next(i for i, line in enumerate(requests)
             if line["custom_id"].startswith("e0a56e83") and "ProblemCategories" in json.dumps(line["body"]["response_format"]))
    results[k]["response"]["body"]["choices"][0]["message"]["content"] = '{"c1": "not_a_category", "c2": "other", "c3": "other"}'
    write_lines(work / "broken.jsonl", results)

    listed = cli("batch", "collect", "broken.jsonl", "--db", "broken.duckdb", "--reask-file", "followup.jsonl", env=env, cwd=work)
    assert listed.returncode == 1, listed.stderr
    assert f"unanswered  {NAMES[1]}: {requests[k]['custom_id']} (ProblemCategories3): invalid answer (broken.jsonl:{k + 1})" \
        in listed.stderr
    assert "1 stored (0 partial), 0 skipped, 0 failed, 1 waiting for 1 answers" in listed.stderr
    assert [r[1] for r in rows(work / "broken.duckdb")["documents"]] == [str(work / NAMES[0])]
    [followup] = lines(work / "followup.jsonl")
    assert followup["custom_id"] == requests[k]["custom_id"]
    assert followup["body"]["messages"][:2] == requests[k]["body"]["messages"]
    assert [m["role"] for m in followup["body"]["messages"][2:]] == ["assistant", "user"]

    # The follow-up played against the model, then collected after the first results.
    run_batch(work / "followup.jsonl", work / "followup-results.jsonl", trip["server"], parallel=1)
    answered = cli("batch", "collect", "broken.jsonl", "followup-results.jsonl", "--db", "broken.duckdb", env=env, cwd=work)
    assert answered.returncode == 0, answered.stderr
    assert "1 stored (0 partial), 1 skipped" in answered.stderr

    # Or asked live, with the client's own re-asks.
    live = cli("batch", "collect", "broken.jsonl", "--db", "live.duckdb", "--reask", "live", env=env, cwd=work)
    assert live.returncode == 0, live.stderr
    assert f"asked live  {NAMES[1]}: {requests[k]['custom_id']}" in live.stderr
    assert "2 stored (0 partial)" in live.stderr and "1 asked live" in live.stderr
    stored = rows(work / "live.duckdb")
    assert len(stored["documents"]) == 2 and len(stored["problems"]) == 6
