"""A folder mixing .txt, .docx, .pdf and .html reports (and bad files) through the real CLI and
DuckDB: every good file stored with its format, converter and (PDF) pages; every bad one one line."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import pytest

from llm_extract.store import database as store_module
from llm_extract.ingest.documents import load
from llm_extract.run.extract import extract_document
from llm_extract.label.labellers import RulesLabeller
from llm_extract.schemas import PageRecord
from llm_extract.store.database import Store
from tests.support import formatfixtures as ff
from tests.support.clihelp import REPORTS, cli

NAMES = sorted(p.name for p in REPORTS.glob("*.txt"))


@pytest.fixture(scope="module")
def mixed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("mixed")
    reports = folder / "reports"
    reports.mkdir()
    text = {name: load(REPORTS / name).text for name in NAMES}
    (reports / "a.txt").write_text(text[NAMES[4]], encoding="utf-8")
    (reports / "b.docx").write_bytes(ff.docx_bytes(text[NAMES[0]]))
    (reports / "c.pdf").write_bytes(ff.pdf_bytes(text[NAMES[2]]))
    (reports / "d.html").write_bytes(ff.html_page(text[NAMES[3]]))
    (reports / "e.docx").write_bytes(b"PK\x03\x04 not really a zip")
    (reports / "~$b.docx").write_bytes(b"lock")  # Word's lock file: not a report, not walked
    return folder


def test_a_mixed_folder_is_stored_with_formats_converters_and_pages(mixed):
    result = cli("run", "reports", "--backend", "rules", "--db", "x.duckdb", cwd=mixed)
    assert result.returncode == 1, result.stderr  # one file failed, the others are stored
    failed = [line for line in result.stderr.splitlines() if line.startswith("failed")]
    assert len(failed) == 1 and "e.docx" in failed[0] and "not a .docx" in failed[0], result.stderr
    assert "4 extracted (0 partial)" in result.stderr
    con = duckdb.connect(str(mixed / "x.duckdb"), read_only=True)
    try:
        docs = {Path(p).name: (f, c) for p, f, c in
                con.execute("SELECT path, source_format, converter FROM documents").fetchall()}
        pages = con.execute("""SELECT count(*), min(page), max(page) FROM pages JOIN documents USING (doc_id)
                               WHERE source_format = 'pdf'""").fetchone()
        grounded = con.execute("""SELECT count(*), count(*) FILTER (WHERE substring(d.text, m.char_start + 1,
                                  m.char_end - m.char_start) = m.quote) FROM metrics m JOIN documents d USING (doc_id)""").fetchone()
    finally:
        con.close()
    assert set(docs) == {"a.txt", "b.docx", "c.pdf", "d.html"}
    assert docs["a.txt"] == ("txt", "llm-extract text decoding")
    assert docs["b.docx"][0] == "docx" and docs["b.docx"][1].startswith("python-docx ")
    assert docs["c.pdf"][0] == "pdf" and docs["c.pdf"][1].startswith("pypdfium2 ")
    assert docs["d.html"][0] == "html" and docs["d.html"][1].startswith("trafilatura ")
    assert pages[0] >= 3 and pages[1] == 1
    assert grounded[0] > 60 and grounded[0] == grounded[1]


def test_show_says_the_page_and_a_rerun_skips_unchanged_files(mixed):
    shown = cli("show", "c.pdf", "--db", "x.duckdb", cwd=mixed)
    assert shown.returncode == 0, shown.stderr
    assert " page 1" in shown.stdout and " page 2" in shown.stdout and "pdf via pypdfium2" in shown.stdout
    again = cli("run", "reports", "--backend", "rules", "--db", "x.duckdb", cwd=mixed)
    assert again.stderr.count("already extracted") == 4, again.stderr
    rows = json.loads(cli("sql", "SELECT count(*) n FROM pages", "--db", "x.duckdb", "--format", "json", cwd=mixed).stdout)
    assert rows[0]["n"] >= 3


def test_migration_007_adds_columns_and_pages_to_an_existing_database(tmp_path, monkeypatch):
    db = tmp_path / "old.duckdb"
    extraction = extract_document(load(REPORTS / NAMES[4]), RulesLabeller())
    old = [m for m in store_module.MIGRATIONS if m[0] < "007"]
    monkeypatch.setattr(store_module, "MIGRATIONS", old)
    with Store(db) as store:  # a database as the previous version left it
        store.con.execute("INSERT INTO documents (doc_id, path, n_chars, text) VALUES ('d', '/r/x.md', 1, 'x')")
    monkeypatch.undo()
    with Store(db) as store:
        assert store.query("SELECT source_format, converter FROM documents") == [
            {"source_format": "md", "converter": "llm-extract text decoding"}]
        pdf_like = extraction.model_copy(update={"source_format": "pdf", "converter": "test",
                                                 "pages": [PageRecord(page=1, char_start=0, char_end=10),
                                                           PageRecord(page=2, char_start=10, char_end=len(extraction.text))]})
        store.save(pdf_like)
        back = store.load_extraction(extraction.doc_id)
        assert back is not None and [p.page for p in back.pages] == [1, 2] and back.page_at(12) == 2
        assert back.source_format == "pdf" and back.converter == "test"
        current = store.current_documents(extraction.model, extraction.prompt_version)
        assert current[extraction.doc_id] == "test"  # so a newer converter's run redoes it
        store.save(pdf_like.model_copy(update={"pages": []}))  # a replaced document keeps no stale pages
        assert store.query("SELECT count(*) n FROM pages") == [{"n": 0}]
