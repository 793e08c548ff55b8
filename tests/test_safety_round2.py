"""Data safety, second round: no output flag writes over the database or an input, one bad file
never stops a run, nothing grows without bound, nothing odd goes unsaid. Every case through the
real CLI (typer's runner in-process, or a subprocess where a signal, a limit or the terminal is
part of it) over real DuckDB files and real files in tmp_path."""

from __future__ import annotations

import errno
import hashlib
import io
import json
import os
import shutil
import socket
import sqlite3
import subprocess
import sys
import zipfile
import zlib
from pathlib import Path

import duckdb
import pytest

from tests.support.clihelp import REPORTS, cli, invoke, one_line_error

SMALL = REPORTS / "004_264309198007c7ae.txt"
OTHER = REPORTS / "001_68665389685953dc.txt"


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _documents(db: Path) -> list[tuple[str, str]]:
    con = duckdb.connect(str(db), read_only=True)
    try:
        return [(str(p), str(d)) for p, d in con.execute("SELECT path, doc_id FROM documents ORDER BY path").fetchall()]
    finally:
        con.close()


@pytest.fixture
def here(clean_env):
    """An empty current folder with r.txt (a report) in it, no endpoint settings."""
    shutil.copy(SMALL, clean_env / "r.txt")
    return clean_env


def _rules(*args: str) -> tuple[int, str]:
    result = invoke("run", *args, "--backend", "rules")
    return result.exit_code, result.stderr


@pytest.fixture
def stored(here):
    """c.duckdb holding r.txt (rules backend)."""
    code, stderr = _rules("r.txt", "--db", "c.duckdb")
    assert code == 0, stderr
    return here / "c.duckdb"


def _refused(result, *words: str) -> str:
    assert result.exit_code == 2, (result.exit_code, result.stdout, result.stderr)
    line = one_line_error(result.stderr)
    assert "refused" in line, line
    for word in words:
        assert word in line, line
    return line


# --- 1. report -o ------------------------------------------------------------------------------
@pytest.mark.parametrize("target", ["c.duckdb", "c.duckdb.wal", "./sub/../c.duckdb", "link.duckdb", "hard.duckdb", "r.txt"])
def test_report_never_writes_over_the_database_or_an_input(stored, target):
    (stored.parent / "sub").mkdir()
    os.symlink("c.duckdb", stored.parent / "link.duckdb")
    os.link(stored, stored.parent / "hard.duckdb")
    before = {name: _sha(stored.parent / name) for name in ("c.duckdb", "r.txt")}
    _refused(invoke("report", "r.txt", "--db", "c.duckdb", "-o", target))
    assert {name: _sha(stored.parent / name) for name in before} == before
    assert not (stored.parent / "c.duckdb.wal").exists()
    assert len(_documents(stored)) == 1


def test_report_replaces_a_page_it_is_asked_to_write(stored):
    (stored.parent / "page.html").write_text("old", encoding="utf-8")
    result = invoke("report", "r.txt", "--db", "c.duckdb", "-o", "page.html")
    assert result.exit_code == 0, result.stderr
    assert "<html" in (stored.parent / "page.html").read_text(encoding="utf-8")


# --- 2. batch prepare -o -------------------------------------------------------------------------
@pytest.mark.parametrize("target", ["c.duckdb", "c.duckdb.wal", "hard.duckdb"])
def test_batch_prepare_never_writes_over_the_database(stored, target):
    os.link(stored, stored.parent / "hard.duckdb")
    before = _sha(stored)
    _refused(invoke("batch", "prepare", "r.txt", "-o", target, "--db", "c.duckdb", "--model", "m", "--force"))
    assert _sha(stored) == before and len(_documents(stored)) == 1


@pytest.mark.parametrize("target", ["r.txt", "in/b.txt", "./in/../r.txt", "link.jsonl"])
def test_batch_prepare_never_writes_over_a_report_it_reads(here, target):
    (here / "in").mkdir()
    shutil.copy(OTHER, here / "in" / "b.txt")
    os.symlink("r.txt", here / "link.jsonl")
    before = {p: _sha(here / p) for p in ("r.txt", "in/b.txt")}
    _refused(invoke("batch", "prepare", "r.txt", "in", "-o", target, "--db", "new.duckdb", "--model", "m"))
    assert {p: _sha(here / p) for p in before} == before
    # A request file of its own is written, and written again (replacing it is what -o is for).
    for _ in range(2):
        result = invoke("batch", "prepare", "r.txt", "in", "-o", "requests.jsonl", "--db", "new.duckdb", "--model", "m")
        assert result.exit_code == 0, result.stderr


# --- 3. batch collect --reask-file --------------------------------------------------------------
@pytest.fixture
def prepared(here):
    """requests.jsonl for r.txt and in/b.txt; res.jsonl answering only r.txt's requests."""
    from llm_extract.batch.requests import read_manifest
    from tests.support.batchrunner import AnswerServer, answer_lines, write_lines

    (here / "in").mkdir()
    shutil.copy(OTHER, here / "in" / "b.txt")
    result = invoke("batch", "prepare", "r.txt", "in", "-o", "requests.jsonl", "--db", "rf.duckdb", "--model", "m")
    assert result.exit_code == 0, result.stderr
    first = set(read_manifest(here / "requests.jsonl").documents[1].custom_ids)
    lines = [line for line in answer_lines(here / "requests.jsonl", AnswerServer().answer) if line["custom_id"] in first]
    write_lines(here / "res.jsonl", lines)
    return here


@pytest.mark.parametrize("target", ["rf.duckdb", "rf.duckdb.wal", "res.jsonl", "requests.jsonl",
                                    "requests.manifest.json", "r.txt", "in/b.txt"])
def test_batch_collect_never_writes_its_follow_up_over_the_database_or_an_input(prepared, target):
    files = ["res.jsonl", "requests.jsonl", "requests.manifest.json", "r.txt", "in/b.txt"]
    before = {name: _sha(prepared / name) for name in files}
    _refused(invoke("batch", "collect", "res.jsonl", "--requests", "requests.jsonl", "--db", "rf.duckdb",
                    "--reask-file", target))
    assert {name: _sha(prepared / name) for name in files} == before
    # Refused before anything was stored: the same command with a good path stores one document.
    result = invoke("batch", "collect", "res.jsonl", "--requests", "requests.jsonl", "--db", "rf.duckdb",
                    "--reask-file", "followup.jsonl")
    assert result.exit_code == 1, result.stderr
    assert len(_documents(prepared / "rf.duckdb")) == 1 and (prepared / "followup.jsonl").exists()


# --- 4, 5. review --export-gold -----------------------------------------------------------------
def _accept_all(db: Path) -> None:
    from llm_extract.review.decisions import accept_rest
    from llm_extract.store.database import Store

    with Store(db) as store:
        for doc_id, _ in store.find_documents(""):
            accept_rest(store, doc_id, "tester")


@pytest.fixture
def reviewed(here):
    """c.duckdb with same.txt, same.md, x.docx and z.txt, every item accepted."""
    from tests.support.formatfixtures import docx_bytes

    text = SMALL.read_text(encoding="utf-8")
    (here / "in").mkdir()
    (here / "in" / "same.txt").write_text(text, encoding="utf-8")
    (here / "in" / "same.md").write_text(text + "\n附：另一份\n", encoding="utf-8")
    (here / "in" / "x.docx").write_bytes(docx_bytes(OTHER.read_text(encoding="utf-8")))
    shutil.copy(OTHER, here / "in" / "z.txt")
    code, stderr = _rules("in", "--db", "c.duckdb")
    assert code == 0, stderr
    _accept_all(here / "c.duckdb")
    return here


def test_export_gold_writes_every_reviewed_document_whatever_its_name_and_format(reviewed):
    from llm_extract.evaluate.gold import integrity_errors, load_gold_dir

    result = invoke("review", "--db", "c.duckdb", "--export-gold", "out")
    assert result.exit_code == 0, result.stderr
    assert "4 reviewed documents written" in result.stderr, result.stderr
    written = result.stdout.split()
    assert len(written) == len(set(written)) == 4 and all(Path(p).exists() for p in written)
    gold = load_gold_dir(reviewed / "out")
    assert set(gold) == {"same.txt", "same.md", "x.docx.txt", "z.txt"}
    for name, doc in gold.items():
        text = (reviewed / "out" / "reports" / name).read_text(encoding="utf-8")
        assert integrity_errors(doc, text) == [], name
    # Again into the same folder: its own files are replaced, nothing else is touched.
    assert invoke("review", "--db", "c.duckdb", "--export-gold", "out").exit_code == 0


@pytest.mark.parametrize("mine", ["z.json", "reports/z.txt"])
def test_export_gold_never_replaces_a_file_it_did_not_write(reviewed, mine):
    (reviewed / "out" / "reports").mkdir(parents=True)
    (reviewed / "out" / mine).write_text("hand-labelled", encoding="utf-8")
    _refused(invoke("review", "--db", "c.duckdb", "--export-gold", "out"), mine.split("/")[-1])
    assert (reviewed / "out" / mine).read_text(encoding="utf-8") == "hand-labelled"
    assert not (reviewed / "out" / "same.json").exists()  # refused before anything was written


def test_export_gold_never_writes_over_the_reports_it_was_made_from(reviewed):
    before = {p.name: _sha(p) for p in (reviewed / "in").iterdir()}
    # DIR/reports/z.txt would be in/z.txt itself.
    (reviewed / "g").mkdir()
    os.symlink(reviewed / "in", reviewed / "g" / "reports")
    _refused(invoke("review", "--db", "c.duckdb", "--export-gold", "g"), "input")
    assert {p.name: _sha(p) for p in (reviewed / "in").iterdir()} == before


# --- 6. export ----------------------------------------------------------------------------------
@pytest.mark.parametrize("fmt", ["csv", "jsonl", "parquet"])
def test_export_never_replaces_a_file_it_did_not_write(stored, fmt):
    (stored.parent / "out").mkdir()
    mine = stored.parent / "out" / f"metrics.{fmt}"
    mine.write_text("my own numbers\n", encoding="utf-8")
    _refused(invoke("export", "out", "--db", "c.duckdb", "--format", fmt), f"metrics.{fmt}")
    assert mine.read_text(encoding="utf-8") == "my own numbers\n"
    assert not (stored.parent / "out" / f"documents.{fmt}").exists()
    mine.unlink()
    for _ in range(2):  # its own files: replaced by the next export
        result = invoke("export", "out", "--db", "c.duckdb", "--format", fmt)
        assert result.exit_code == 0, result.stderr


@pytest.mark.parametrize("name", ["c.duckdb.lock", "c.duckdb.tmp"])
def test_export_never_writes_over_the_databases_own_files(stored, name):
    (stored.parent / name).write_text("", encoding="utf-8")
    os.symlink(stored.parent / name, stored.parent / "metrics.csv")
    _refused(invoke("export", ".", "--db", "c.duckdb", "--format", "csv"), "database")


# --- 7, 17. names that are not UTF-8, or that hold escapes, newlines and emoji codes -------------
def _bad_name(folder: Path) -> Path:
    path = Path(os.fsdecode(os.fsencode(str(folder)) + b"/bad\xff\xfename.txt"))
    shutil.copy(OTHER, path)
    return path


def test_a_name_that_is_not_utf8_is_stored_losslessly_and_the_run_goes_on(here):
    from llm_extract.ingest.fsnames import unstored

    (here / "in").mkdir()
    bad = _bad_name(here / "in")
    shutil.copy(SMALL, here / "in" / "good.txt")
    code, stderr = _rules("in", "--db", "c.duckdb")
    assert code == 0, stderr
    assert "Traceback" not in stderr and "ok  in/bad\\xff\\xfename.txt" in stderr, stderr
    paths = [p for p, _ in _documents(here / "c.duckdb")]
    assert len(paths) == 2 and str(bad.resolve()) in [unstored(p) for p in paths]
    assert all(p.encode("utf-8") for p in paths)  # valid UTF-8 in the database
    # The same name found again is the same stored document: skipped, not stored twice.
    code, stderr = _rules("in", "--db", "c.duckdb")
    assert code == 0 and "2 skipped" in stderr and len(_documents(here / "c.duckdb")) == 2, stderr
    shown = invoke("show", "bad", "--db", "c.duckdb")
    assert shown.exit_code == 0 and "bad\\xff\\xfename.txt" in shown.stdout


def test_batch_prepare_and_collect_keep_a_name_that_is_not_utf8(here):
    from tests.support.batchrunner import AnswerServer, answer_lines, write_lines

    (here / "in").mkdir()
    bad = _bad_name(here / "in")
    result = invoke("batch", "prepare", "in", "-o", "requests.jsonl", "--db", "b.duckdb", "--model", "m")
    assert result.exit_code == 0, result.stderr
    manifest = json.loads((here / "requests.manifest.json").read_text(encoding="utf-8"))
    assert manifest["documents"][0]["path"] == str(bad.resolve())
    write_lines(here / "res.jsonl", answer_lines(here / "requests.jsonl", AnswerServer().answer))
    result = invoke("batch", "collect", "res.jsonl", "--requests", "requests.jsonl", "--db", "b.duckdb")
    assert result.exit_code == 0, result.stderr
    assert len(_documents(here / "b.duckdb")) == 1


@pytest.mark.parametrize("name", ["\x1b[31mred.txt", "x\nok  fake.txt", ":warning:.txt", "[bold]b[red].txt",
                                  "\u202etxt.exe.txt"])
def test_names_are_printed_escaped(here, name):
    (here / "in").mkdir()
    shutil.copy(SMALL, here / "in" / name)
    (here / "in" / f"empty{name}").write_text("", encoding="utf-8")  # a failure line names it too
    code, stderr = _rules("in", "--db", "c.duckdb")
    assert code == 1, stderr
    assert "\x1b" not in stderr and "\u202e" not in stderr and "⚠" not in stderr
    assert not any(line.startswith("ok  fake") for line in stderr.splitlines()), stderr
    assert len([line for line in stderr.splitlines() if line.startswith(("ok", "failed"))]) == 2, stderr
    if name.startswith((":", "[")):
        assert name in stderr  # as it is: no emoji, no markup


# --- 8. a converter's exception is that file's one line ----------------------------------------
LOOPING_PDF = (b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n"
               b"2 0 obj<</Type/Pages/Kids[2 0 R]/Count 1>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n")


def test_a_pdf_whose_page_tree_points_at_itself_fails_alone(here):
    (here / "in").mkdir()
    (here / "in" / "a_loop.pdf").write_bytes(LOOPING_PDF)
    shutil.copy(SMALL, here / "in" / "b.txt")
    code, stderr = _rules("in", "--db", "c.duckdb")
    assert code == 1 and "Traceback" not in stderr, stderr
    [failed] = [line for line in stderr.splitlines() if line.startswith("failed")]
    assert "a_loop.pdf" in failed and "pdf" in failed
    assert [Path(p).name for p, _ in _documents(here / "c.duckdb")] == ["b.txt"]


def test_any_exception_of_a_converter_is_that_files_failure(here, monkeypatch):
    from llm_extract.ingest.formats import html

    def broken(data: bytes, source_format: str = "html"):
        raise RecursionError("maximum recursion depth exceeded")

    monkeypatch.setattr(html, "convert", broken)
    (here / "in").mkdir()
    (here / "in" / "a.html").write_text("<html><body><p>x</p></body></html>", encoding="utf-8")
    shutil.copy(SMALL, here / "in" / "b.txt")
    code, stderr = _rules("in", "--db", "c.duckdb")
    assert code == 1 and "RecursionError" in stderr and "Traceback" not in stderr, stderr
    assert len(_documents(here / "c.duckdb")) == 1


# --- 9. disk full ----------------------------------------------------------------------------------
def _three(here: Path) -> None:
    (here / "in").mkdir()
    for i, report in enumerate((SMALL, OTHER, REPORTS / "000_bfd2e8a3485ea91a.txt")):
        shutil.copy(report, here / "in" / f"r{i}.txt")


@pytest.mark.parametrize("full", [
    lambda: OSError(errno.ENOSPC, "No space left on device"),
    lambda: duckdb.TransactionException('TransactionContext Error: Failed to commit: Could not write file '
                                        '"c.duckdb.wal": No space left on device'),
])
def test_a_full_disk_stops_the_run_with_one_line_and_exit_2(here, monkeypatch, full):
    from llm_extract.store import database as store_module
    from llm_extract.store.database import Store

    _three(here)
    real = Store.save.__wrapped__  # under the file-errors wrapper, as DuckDB's own errors are
    calls = []

    def save(self, extraction):
        calls.append(extraction.path)
        if len(calls) == 2:
            raise full()
        return real(self, extraction)

    monkeypatch.setattr(Store, "save", store_module._file_errors(save))
    code, stderr = _rules("in", "--db", "c.duckdb")
    assert code == 2 and "Traceback" not in stderr, stderr
    [aborted] = [line for line in stderr.splitlines() if line.startswith("aborted")]
    assert "disk" in aborted and "full" in aborted
    assert [Path(p).name for p, _ in _documents(here / "c.duckdb")] == ["r0.txt"]  # nothing saved is lost


@pytest.fixture
def tiny_disk(tmp_path):
    """A 2 MiB tmpfs (needs root; skipped elsewhere)."""
    mount = tmp_path / "tiny"
    mount.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", str(mount)], capture_output=True)
    if done.returncode != 0:
        pytest.skip("cannot mount a tmpfs here (needs root)")
    try:
        yield mount
    finally:
        subprocess.run(["umount", str(mount)], check=False)


def test_a_really_full_disk_is_one_line_and_exit_2(tmp_path, tiny_disk):
    folder = tmp_path / "in"
    folder.mkdir()
    text = (REPORTS / "000_bfd2e8a3485ea91a.txt").read_text(encoding="utf-8")
    for i in range(120):
        (folder / f"r{i:03d}.txt").write_text(f"{text}\n第{i}份\n", encoding="utf-8")
    done = cli("run", str(folder), "--backend", "rules", "--db", str(tiny_disk / "c.duckdb"), cwd=tmp_path)
    assert done.returncode == 2 and "Traceback" not in done.stderr, done.stderr[-2000:]
    [aborted] = [line for line in done.stderr.splitlines() if line.startswith("aborted")]
    assert "No space left on device" in aborted
    saved = [line for line in done.stderr.splitlines() if line.startswith("ok")]
    assert len(saved) < 120
    # What was reported saved is in the database.
    copy = tmp_path / "copy.duckdb"
    shutil.copy(tiny_disk / "c.duckdb", copy)
    if (tiny_disk / "c.duckdb.wal").exists():
        shutil.copy(tiny_disk / "c.duckdb.wal", tmp_path / "copy.duckdb.wal")
    assert len(_documents(copy)) == len(saved)


# --- 14, 16. DuckDB: no extensions, files that are not DuckDB, the temp folder --------------------
@pytest.mark.parametrize("command", [["run", "r.txt", "--backend", "rules"], ["sql", "SELECT 1"], ["show", "r.txt"],
                                     ["export", "out"], ["report", "r.txt", "-o", "p.html"], ["review", "--export-gold", "g"]])
@pytest.mark.parametrize("kind", ["sqlite", "text"])
def test_a_file_that_is_not_duckdb_as_db_is_one_line_and_untouched(here, command, kind):
    db = here / "other.db"
    if kind == "sqlite":
        con = sqlite3.connect(db)
        con.execute("CREATE TABLE t (x)")
        con.commit()
        con.close()
    else:
        shutil.copy(SMALL, db)
    before = _sha(db)
    result = invoke(*command, "--db", "other.db")
    assert result.exit_code == 2, result.stderr
    line = one_line_error(result.stderr)
    assert "not a DuckDB database" in line and "extension" not in line.lower(), line
    assert _sha(db) == before and not (here / "other.db.wal").exists()


def test_no_connection_installs_or_loads_extensions_and_temp_files_stay_private(stored, monkeypatch):
    from llm_extract.store import dbfile
    from llm_extract.store.database import Store

    opened = []
    real = duckdb.connect
    monkeypatch.setattr(duckdb, "connect", lambda *a, **k: opened.append(k.get("config")) or real(*a, **k))
    for read_only in (False, True):
        with Store(stored, read_only=read_only) as store:
            assert store.query("SELECT current_setting('autoinstall_known_extensions') a, "
                               "current_setting('autoload_known_extensions') b, "
                               "current_setting('temp_directory') t")[0] == {"a": False, "b": False, "t": dbfile.private_temp()}
    assert opened and all(c["autoinstall_known_extensions"] is False and c["autoload_known_extensions"] is False
                          for c in opened)


def test_a_linked_tmp_folder_beside_the_database_reads_nothing(stored):
    secret = stored.parent / "private"
    secret.mkdir()
    (secret / "key.txt").write_text("do not show", encoding="utf-8")
    os.symlink(secret, stored.parent / "c.duckdb.tmp")
    result = invoke("sql", "SELECT content FROM read_text('c.duckdb.tmp/key.txt')", "--db", "c.duckdb")
    assert result.exit_code == 2 and "do not show" not in result.stdout + result.stderr
    one_line_error(result.stderr)


# --- 18. small ones ------------------------------------------------------------------------------
@pytest.mark.parametrize("query", ["SELECT 1 AS update", "SELECT 2 AS delete, 3 AS insert",
                                   "EXPLAIN (FORMAT json) SELECT count(*) FROM documents",
                                   "EXPLAIN ANALYZE (FORMAT json) SELECT 1"])
def test_sql_runs_reading_statements_whose_words_look_like_writes(stored, query):
    result = invoke("sql", query, "--db", "c.duckdb", "--format", "json")
    assert result.exit_code == 0, result.stderr
    json.loads(result.stdout)


@pytest.mark.parametrize("query", ["WITH d AS (DELETE FROM documents RETURNING *) SELECT * FROM d",
                                   "EXPLAIN (FORMAT json) COPY documents TO 'x.csv'",
                                   "EXPLAIN ANALYZE (FORMAT json) WITH d AS (DELETE FROM metrics RETURNING 1) SELECT 1"])
def test_sql_still_refuses_writes_behind_them(stored, query):
    before = _sha(stored)
    _refused(invoke("sql", query, "--db", "c.duckdb"))
    assert _sha(stored) == before


def test_sql_csv_has_unix_line_ends(stored):
    from tests.support.clihelp import cli_env

    # Bytes as written (text mode would turn CRLF into LF on the way in).
    done = subprocess.run([sys.executable, "-m", "llm_extract", "sql", "SELECT 1 AS a UNION ALL SELECT 2 ORDER BY a",
                           "--db", "c.duckdb", "--format", "csv"], cwd=stored.parent, env=cli_env(),
                          capture_output=True, timeout=60)
    assert done.returncode == 0 and done.stdout == b"a\n1\n2\n", done


def test_a_device_is_reported_as_one(here):
    code, stderr = _rules("/dev/zero", "r.txt", "--db", "c.duckdb")
    assert code == 1
    [failed] = [line for line in stderr.splitlines() if line.startswith("failed")]
    assert "/dev/zero" in failed and "device" in failed and "no such file" not in failed


def test_a_database_of_a_newer_schema_is_not_written_into(stored):
    con = duckdb.connect(str(stored))
    con.execute("INSERT INTO migrations VALUES ('999_from_the_future', now())")
    con.close()
    before = _sha(stored)
    result = invoke("run", "r.txt", "--db", "c.duckdb", "--backend", "rules", "--force")
    assert result.exit_code == 2 and "newer llm-extract" in one_line_error(result.stderr)
    assert _sha(stored) == before
    assert invoke("sql", "SELECT count(*) FROM documents", "--db", "c.duckdb").exit_code == 0  # still readable


def test_eval_from_another_folder_finds_the_thresholds_beside_its_gold(clean_env):
    root = REPORTS.parent
    result = invoke("eval", "--rules-only", "--gold", str(root / "gold"), "--reports", str(REPORTS),
                    "--results", str(clean_env / "results"))
    assert result.exit_code in (0, 1), result.stderr
    assert "thresholds" not in result.stderr or "below threshold" in result.stderr
    assert (clean_env / "results" / "latest.md").exists()


# --- 13. linked folders -----------------------------------------------------------------------------
def test_a_linked_folder_is_walked_and_said_and_a_loop_is_not_followed(here):
    elsewhere = here / "elsewhere"
    elsewhere.mkdir()
    for i, report in enumerate(sorted(REPORTS.glob("*.txt"))):
        shutil.copy(report, elsewhere / f"r{i}.txt")
    (here / "in").mkdir()
    os.symlink(elsewhere, here / "in" / "linked")
    os.symlink(here / "in", here / "in" / "linked_back")  # a loop
    code, stderr = _rules("in", "--db", "c.duckdb")
    assert code == 0, stderr
    assert len(_documents(here / "c.duckdb")) == 5
    notes = [line for line in stderr.splitlines() if line.startswith("note")]
    assert any("in/linked" in n and "followed" in n for n in notes), stderr
    assert any("in/linked_back" in n and "not followed" in n for n in notes), stderr


# --- 15. batch collect: repeated ids, BOMs, cut-off problems answers -----------------------------
@pytest.fixture
def one_prepared(here):
    result = invoke("batch", "prepare", "r.txt", "-o", "requests.jsonl", "--db", "b.duckdb", "--model", "m")
    assert result.exit_code == 0, result.stderr
    return here


def _answers(folder: Path, answer=None) -> list[dict]:
    from tests.support.batchrunner import AnswerServer, answer_lines

    return answer_lines(folder / "requests.jsonl", answer or AnswerServer().answer)


def _collect(*args: str):
    return invoke("batch", "collect", *args, "--requests", "requests.jsonl", "--db", "b.duckdb")


def test_a_custom_id_answered_twice_in_one_file_is_reported(one_prepared):
    lines = _answers(one_prepared)
    text = "".join(json.dumps(line, ensure_ascii=False) + "\n" for line in [*lines, lines[0]])
    (one_prepared / "res.jsonl").write_text(text, encoding="utf-8")
    result = _collect("res.jsonl")
    assert result.exit_code == 0, result.stderr
    [note] = [line for line in result.stderr.splitlines() if "second answer" in line]
    assert lines[0]["custom_id"] in note and f"line {len(lines) + 1}:" in note and "res.jsonl:1" in note


def test_result_lines_starting_with_a_bom_are_read(one_prepared):
    lines = _answers(one_prepared)
    text = "".join("\ufeff" + json.dumps(line, ensure_ascii=False) + "\n" for line in lines)
    (one_prepared / "res.jsonl").write_text(text, encoding="utf-8")
    result = _collect("res.jsonl")
    assert result.exit_code == 0 and "1 stored" in result.stderr and "unreadable" not in result.stderr, result.stderr


def test_a_cut_off_answer_to_a_problems_request_is_listed_and_asked_again(one_prepared):
    from tests.support.batchrunner import AnswerServer, answer_lines, completion, schema_of, write_lines

    def cut(body):
        if schema_of(body)[0].startswith("ProblemCategories"):
            return completion(body, '{"c1": "oth', finish="length")
        return AnswerServer().answer(body)

    write_lines(one_prepared / "res.jsonl", _answers(one_prepared, cut))
    result = _collect("res.jsonl", "--reask-file", "more.jsonl")
    assert result.exit_code == 1, result.stderr
    [listed] = [line for line in result.stderr.splitlines() if line.startswith("unanswered")]
    assert "ProblemCategories" in listed and "cut off" in listed
    [again] = [json.loads(line) for line in (one_prepared / "more.jsonl").read_text(encoding="utf-8").splitlines()]
    [original] = [json.loads(line) for line in (one_prepared / "requests.jsonl").read_text(encoding="utf-8").splitlines()
                  if json.loads(line)["custom_id"] == again["custom_id"]]
    assert again["body"]["max_tokens"] == 2 * original["body"]["max_tokens"]
    assert _documents(one_prepared / "b.duckdb") == []  # not stored as a partial document
    write_lines(one_prepared / "more_res.jsonl", answer_lines(one_prepared / "more.jsonl", AnswerServer().answer))
    result = _collect("res.jsonl", "more_res.jsonl")
    assert result.exit_code == 0 and "1 stored (0 partial)" in result.stderr, result.stderr


# --- 12. the review server refuses a long body while it comes in ----------------------------------
@pytest.fixture
def review_server(stored):
    from llm_extract.review.app import ReviewServer
    from llm_extract.store.database import Store

    with Store(stored):  # the reviews migration, as `llm-extract review` applies it
        pass
    server = ReviewServer(stored, "tester")
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.mark.parametrize("chunked", [False, True])
def test_the_review_server_refuses_a_huge_body_before_it_has_all_of_it(review_server, chunked):
    doc_id = _documents(review_server.review.db)[0][1]
    length = "Transfer-Encoding: chunked" if chunked else f"Content-Length: {300 * 2**20}"
    head = (f"POST /api/doc/{doc_id}/decide HTTP/1.1\r\nHost: 127.0.0.1:{review_server.port}\r\n"
            f"X-Review-Token: {review_server.token}\r\nContent-Type: application/json\r\n{length}\r\n\r\n").encode()
    piece = b"x" * 2**17  # 128 KiB of the 300 MB announced, then the client waits
    with socket.create_connection(("127.0.0.1", review_server.port), timeout=10) as sock:
        sock.sendall(head)
        sock.sendall(f"{len(piece):x}\r\n".encode() + piece + b"\r\n" if chunked else piece)
        sock.settimeout(5)  # the rest never comes: a server waiting for it would time out here
        answer = sock.recv(4096)
    assert answer.startswith(b"HTTP/1.1 413"), answer[:200]


# --- 11. compressed bombs ---------------------------------------------------------------------------
def _deflated(size: int, unit: bytes = b" ") -> bytes:
    packer = zlib.compressobj(9)
    block = unit * (2**20 // len(unit))
    out = [packer.compress(block) for _ in range(size // len(block))]
    return b"".join(out) + packer.flush()


def _bomb_pdf(inflated: int) -> bytes:
    stream = _deflated(inflated, b"0 0 m ")
    objects = [b"<</Type/Catalog/Pages 2 0 R>>", b"<</Type/Pages/Kids[3 0 R]/Count 1>>",
               b"<</Type/Page/Parent 2 0 R/MediaBox[0 0 595 842]/Contents 4 0 R>>",
               b"<</Length %d/Filter/FlateDecode>>stream\n" % len(stream) + stream + b"\nendstream"]
    out = io.BytesIO()
    out.write(b"%PDF-1.4\n")
    offsets = []
    for k, body in enumerate(objects, 1):
        offsets.append(out.tell())
        out.write(b"%d 0 obj\n" % k + body + b"\nendobj\n")
    xref = out.tell()
    out.write(b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1))
    out.write(b"".join(b"%010d 00000 n \n" % o for o in offsets))
    out.write(b"trailer<</Size %d/Root 1 0 R>>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref))
    return out.getvalue()


def _bomb_docx(inflated: int) -> bytes:
    """A Word file whose main part is word/document.bin (named so in its relationships and
    content types), padded to `inflated` bytes."""
    from tests.support.formatfixtures import docx_bytes

    source = zipfile.ZipFile(io.BytesIO(docx_bytes(SMALL.read_text(encoding="utf-8"))))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            data = source.read(info)
            if info.filename == "word/document.xml":
                pad = b" " * (inflated - len(data))
                target.writestr("word/document.bin", data.replace(b"<w:body>", b"<w:body>" + pad, 1))
                continue
            data = data.replace(b"document.xml", b"document.bin")
            target.writestr(info.filename, data)
    return out.getvalue()


@pytest.mark.parametrize("name", ["bomb.pdf", "bomb.docx"])
def test_a_compressed_bomb_is_refused_within_bounded_memory(here, name):
    make = _bomb_pdf if name.endswith(".pdf") else _bomb_docx
    data = make(300 * 2**20)
    assert len(data) < 2 * 2**20  # a small file
    (here / "in").mkdir()
    (here / "in" / name).write_bytes(data)
    shutil.copy(SMALL, here / "in" / "r.txt")
    script = ("import resource, subprocess, sys; done = subprocess.run([sys.executable, '-m', 'llm_extract', 'run', 'in', "
              "'--backend', 'rules', '--db', 'c.duckdb'], capture_output=True, text=True); sys.stderr.write(done.stderr); "
              "print(done.returncode, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)")
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=here, timeout=300,
                          env=os.environ | {"PYTHONPATH": os.pathsep.join(sys.path)})
    code, peak_kib = map(int, done.stdout.split())
    assert code == 1 and "Traceback" not in done.stderr, done.stderr
    [failed] = [line for line in done.stderr.splitlines() if line.startswith("failed")]
    assert name in failed and "inflate" in failed, failed
    assert peak_kib < 400 * 1024, peak_kib  # the 300 MiB inside was never held
    assert [Path(p).name for p, _ in _documents(here / "c.duckdb")] == ["r.txt"]


def test_a_pdf_within_the_bounds_still_converts(here):
    from llm_extract.ingest.formats.pdf import check_inflated
    from tests.support.formatfixtures import pdf_bytes

    check_inflated(pdf_bytes(SMALL.read_text(encoding="utf-8")))  # a real report's PDF passes
    with pytest.raises(Exception, match="inflate"):
        check_inflated(_bomb_pdf(4 * 2**20), limit=2**20)
