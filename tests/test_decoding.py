"""Encodings are told by evidence and mojibake is never stored (issue 10, case 4 and the smaller
decoding cases); special files are refused before they are read (case 5)."""

from __future__ import annotations

import os
import threading
from pathlib import Path

import duckdb
import pytest

from llm_extract.ingest.documents import MAX_BYTES, decode, load
from llm_extract.errors import InputError
from tests.support.clihelp import REPORTS, invoke

# A traditional-Chinese report as a Big5 user would have it: three metrics the rules find.
TRADITIONAL = """某某鎮 2023 年度法治政府建設工作報告
一、工作成效
（一）普法宣傳
全年開展普法宣傳活動 12 次，發放宣傳資料 3000 份，培訓村幹部 150 人次。
二、存在問題
一是群眾法治意識有待提高。二是執法隊伍力量不足。
"""
SIMPLIFIED = (REPORTS / "004_264309198007c7ae.txt").read_text(encoding="utf-8")


def test_big5_is_decoded_as_big5_not_as_gb18030():
    assert decode(TRADITIONAL.encode("big5")) == TRADITIONAL


def test_a_big5_report_is_extracted_with_its_metrics(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "r.txt").write_bytes(TRADITIONAL.encode("big5"))
    result = invoke("run", "r.txt", "--backend", "rules", "--db", "x.duckdb")
    assert result.exit_code == 0, result.stderr
    con = duckdb.connect("x.duckdb", read_only=True)
    try:
        assert con.execute("SELECT text FROM documents").fetchone() == (TRADITIONAL,)
        assert con.execute("SELECT value FROM metrics ORDER BY value").fetchall() == [(12.0,), (150.0,), (3000.0,)]
    finally:
        con.close()


def test_gbk_reports_still_decode():
    text = (REPORTS / "001_68665389685953dc.txt").read_text(encoding="utf-8")
    data = text.encode("gbk", errors="replace")
    assert decode(data) == data.decode("gb18030").replace("\r\n", "\n")


def test_text_in_no_single_encoding_is_refused_not_stored_as_mojibake(tmp_path, monkeypatch):
    # Half GBK, half Big5: GB18030 decodes every byte of it, into garbage for the second half.
    data = SIMPLIFIED[:1500].encode("gbk", errors="replace") + TRADITIONAL.encode("big5") * 8
    with pytest.raises(InputError, match="cannot tell the encoding"):
        decode(data)
    monkeypatch.chdir(tmp_path)
    (tmp_path / "mixed.txt").write_bytes(data)
    result = invoke("run", "mixed.txt", "--backend", "rules", "--db", "x.duckdb")
    assert result.exit_code == 1
    assert "failed  mixed.txt: cannot tell the encoding" in result.stderr
    con = duckdb.connect("x.duckdb", read_only=True)
    try:
        assert con.execute("SELECT count(*) FROM documents").fetchone() == (0,)
    finally:
        con.close()


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-le", "utf-16-be", "utf-32"])
def test_utf16_and_utf32_are_decoded(encoding):
    assert decode(SIMPLIFIED.encode(encoding)) == SIMPLIFIED


@pytest.mark.parametrize("data", ["\u3000\u3000\n\u3000".encode(), b"\xef\xbb\xbf", "\ufeff \u3000\r\n".encode(),
                                  "\u3000".encode("utf-16"), "\u3000\u3000".encode("gb18030")],
                         ids=["ideographic-spaces", "bom", "bom-and-spaces", "utf16-space", "gb18030-spaces"])
def test_files_of_only_blank_characters_are_empty(data):
    with pytest.raises(InputError, match="empty"):
        decode(data)


def test_size_message_uses_one_unit(tmp_path):
    path = tmp_path / "huge.txt"
    path.write_bytes(b"a" * (MAX_BYTES + 300_000))
    with pytest.raises(InputError) as info:
        load(path)
    assert str(info.value) == "file is 5.3 MiB; reports over 5 MiB are refused"


def test_load_refuses_special_files_before_reading(tmp_path):
    fifo = tmp_path / "fifo.txt"
    os.mkfifo(fifo)
    outcome: list[BaseException | None] = []

    def load_fifo() -> None:
        try:
            load(fifo)
            outcome.append(None)
        except BaseException as exc:
            outcome.append(exc)

    reader = threading.Thread(target=load_fifo, daemon=True)
    reader.start()
    reader.join(5)
    if reader.is_alive():  # a plain open waits for a writer forever: be that writer, then fail
        os.close(os.open(fifo, os.O_WRONLY | os.O_NONBLOCK))
        reader.join(5)
        pytest.fail("load() blocked on a named pipe")
    assert isinstance(outcome[0], InputError) and "not a regular file" in str(outcome[0])
    with pytest.raises(InputError, match="not a regular file"):
        load(Path("/dev/null"))


def test_load_stores_the_resolved_absolute_path(tmp_path, monkeypatch):
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "r.txt").write_text(SIMPLIFIED, encoding="utf-8")
    monkeypatch.chdir(tmp_path / "sub")
    assert load(Path("../sub/./r.txt")).path == (tmp_path / "sub" / "r.txt").resolve()
