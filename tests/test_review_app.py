"""The review server over real HTTP (uvicorn on a free 127.0.0.1 port, a real database file):
who may write, what a write must look like, and what the static report contains."""

from __future__ import annotations

import re
import socket

import httpx
import pytest

from llm_extract.review.app import ReviewServer
from llm_extract.store.database import Store
from tests.support import reviewdb
from tests.support.clihelp import as_if_in_a_terminal


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    return reviewdb.build(tmp_path_factory.mktemp("rules"))


@pytest.fixture()
def server(built, tmp_path):
    db = reviewdb.copy(built, tmp_path)
    with Store(db):  # migrated, as `llm-extract review` does before serving
        pass
    server = ReviewServer(db, "tester")
    server.start()
    yield server
    server.stop()


@pytest.fixture()
def doc(server):
    with Store(server.review.db, read_only=True) as store:
        [(doc_id, _)] = store.find_documents(reviewdb.DOC_NAME)
        first = store.query("SELECT * FROM metrics WHERE doc_id = ? ORDER BY metric_id LIMIT 1", [doc_id])[0]
    return doc_id, {"kind": "metric", "char_start": first["char_start"], "char_end": first["char_end"],
                    "value": first["value"]}


def reviews(server) -> list[dict]:
    with Store(server.review.db, read_only=True) as store:
        return store.query("SELECT * FROM reviews ORDER BY review_id")


def post(server, doc_id, body, token=True, **headers):
    sent = {"Content-Type": "application/json", **headers}
    if token:
        sent["X-Review-Token"] = server.token if token is True else token
    return httpx.post(f"{server.url}api/doc/{doc_id}/decide", json=body, headers=sent)


def test_listens_on_loopback_only_by_default(server):
    assert server.host == "127.0.0.1" and server.url.startswith("http://127.0.0.1:")
    other = _non_loopback_address()
    if other is None:
        pytest.skip("this machine has no non-loopback IPv4 address to try")
    with pytest.raises(OSError):
        socket.create_connection((other, server.port), timeout=2).close()


def _non_loopback_address() -> str | None:
    probe = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        probe.connect(("192.0.2.1", 9))  # no packet is sent: only picks the outgoing interface
        address = probe.getsockname()[0]
    except OSError:
        return None
    finally:
        probe.close()
    return None if address.startswith("127.") else address


def test_pages_render_and_the_token_is_only_in_the_document_page(server, doc):
    doc_id, _ = doc
    index = httpx.get(server.url)
    assert index.status_code == 200 and f"/doc/{doc_id}" in index.text and server.token not in index.text
    page = httpx.get(f"{server.url}doc/{doc_id}")
    assert page.status_code == 200 and server.token in page.text
    assert "default-src 'self'" in page.headers["content-security-policy"]
    assert httpx.get(f"{server.url}static/review.js").status_code == 200


def test_writes_need_this_sessions_token(server, doc):
    doc_id, key = doc
    body = {"decision": "accept", "key": key}
    assert post(server, doc_id, body, token=False).status_code == 403
    assert post(server, doc_id, body, token="x" * 43).status_code == 403
    assert post(server, doc_id, body, Origin="http://evil.example").status_code == 403
    assert reviews(server) == []
    answer = post(server, doc_id, body)
    assert answer.status_code == 200, answer.text
    assert [r["decision"] for r in reviews(server)] == ["accept"]
    assert reviews(server)[0]["reviewer"] == "tester"
    assert "st-accept" in answer.json()["text_html"]


def test_another_host_name_is_refused(server):
    # A DNS-rebinding page reaches 127.0.0.1 under its own name; it never gets the token.
    answer = httpx.get(server.url, headers={"Host": f"evil.example:{server.port}"})
    assert answer.status_code == 400


@pytest.mark.parametrize("body, status, message", [
    ({"decision": "accept"}, 400, "key"),
    ({"decision": "correct", "key": "K", "change": {"value": 4e9}}, 400, "reads"),
    ({"decision": "correct", "key": "K", "change": {"char_start": 0, "char_end": 99999}}, 400, "outside the text"),
    ({"decision": "correct", "key": "K", "change": {"char_start": 0, "char_end": 4}}, 400, "must parse"),
    ({"decision": "correct", "key": "K", "change": {"category": "../../etc"}}, 400, "unknown category"),
    ({"decision": "accept", "key": "K", "path": "/etc/passwd"}, 400, "Extra inputs"),
])
def test_bad_writes_are_refused_with_one_line_and_nothing_stored(server, doc, body, status, message):
    doc_id, key = doc
    body = {k: (key if v == "K" else v) for k, v in body.items()}
    answer = post(server, doc_id, body)
    assert answer.status_code == status
    assert message in answer.json()["error"] and "\n" not in answer.json()["error"]
    assert reviews(server) == []


def test_content_type_size_and_document_names(server, doc):
    doc_id, key = doc
    headers = {"X-Review-Token": server.token}
    form = httpx.post(f"{server.url}api/doc/{doc_id}/decide", content=b"decision=accept",
                      headers=headers | {"Content-Type": "application/x-www-form-urlencoded"})
    assert form.status_code == 415
    big = httpx.post(f"{server.url}api/doc/{doc_id}/decide", content=b"{" + b" " * 70_000 + b"}",
                     headers=headers | {"Content-Type": "application/json"})
    assert big.status_code == 413
    assert post(server, "../../etc/passwd", {"decision": "accept", "key": key}).status_code == 404
    assert post(server, "0" * 64, {"decision": "accept", "key": key}).status_code == 400
    assert httpx.get(f"{server.url}doc/{'0' * 64}").status_code == 400
    assert reviews(server) == []


def test_parse_reads_a_selection_with_the_extractors_parser(server, doc):
    doc_id, key = doc
    answer = httpx.get(f"{server.url}api/doc/{doc_id}/parse",
                       params={"start": key["char_start"], "end": key["char_end"]}).json()
    assert [r["value"] for r in answer["readings"]] == [key["value"]]
    assert answer["name"]


def test_accept_rest(server, doc):
    doc_id, _ = doc
    answer = httpx.post(f"{server.url}api/doc/{doc_id}/accept-rest", json={},
                        headers={"X-Review-Token": server.token})
    assert answer.status_code == 200
    progress = answer.json()["progress"]
    assert progress["decided"] == progress["total"] == len(reviews(server))


def test_static_report_highlights_every_item(built, tmp_path):
    from llm_extract.review.page import report_html

    with Store(built, read_only=True) as store:  # a database without the reviews migration
        [(doc_id, _)] = store.find_documents(reviewdb.DOC_NAME)
        html = report_html(store, doc_id)
        items = store.query("SELECT metric_id FROM metrics WHERE doc_id = ? UNION ALL "
                            "SELECT problem_id FROM problems WHERE doc_id = ?", [doc_id, doc_id])
    assert len(set(re.findall(r'<mark class="hl [^"]*" data-uid="([^"]+)"', html))) == len(items)
    assert '<link rel="stylesheet"' not in html and '<script src=' not in html  # self-contained
    assert 'name="review-token"' not in html  # no token: read-only


def test_the_cli_serves_on_loopback_prints_its_url_and_stops_on_ctrl_c(built, tmp_path):
    import signal
    import subprocess
    import sys

    db = reviewdb.copy(built, tmp_path)
    process = subprocess.Popen([sys.executable, "-m", "llm_extract", "review", "--db", str(db), "--reviewer", "cli"],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, preexec_fn=as_if_in_a_terminal)
    try:
        line = process.stdout.readline()  # type: ignore[union-attr]
        url = re.search(r"http://127\.0\.0\.1:\d+/", line)
        assert url, line
        assert httpx.get(url.group(0)).status_code == 200
    finally:
        process.send_signal(signal.SIGINT)
        process.wait(timeout=20)
    assert process.returncode == 0
    assert "Traceback" not in process.stderr.read()  # type: ignore[union-attr]
    with Store(db, read_only=True) as store:
        assert store.has_table("metrics_reviewed")  # migrated before serving


def test_the_cli_refuses_a_missing_database_with_one_line(tmp_path):
    import subprocess
    import sys

    done = subprocess.run([sys.executable, "-m", "llm_extract", "review", "--db", str(tmp_path / "none.duckdb")],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 2 and done.stderr.count("\n") == 1 and "no database" in done.stderr
    assert not (tmp_path / "none.duckdb").exists()
