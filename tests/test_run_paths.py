"""One file is one document whatever its path; odd files and names never stop a run (issue 10,
cases 2, 3, 5, 6, 7 and the smaller path cases), through the real CLI over real DuckDB files."""

from __future__ import annotations

import hashlib
import os
import resource
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from tests.support.clihelp import REPORTS, cli, cli_env, invoke

A = REPORTS / "001_68665389685953dc.txt"
B = REPORTS / "004_264309198007c7ae.txt"


def _stored(db: Path) -> dict[str, str]:
    """path -> doc_id of every stored document (and no path stored twice)."""
    con = duckdb.connect(str(db), read_only=True)
    try:
        rows = con.execute("SELECT path, doc_id FROM documents ORDER BY path").fetchall()
    finally:
        con.close()
    assert len({p for p, _ in rows}) == len(rows), rows
    return dict(rows)


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _lines(stderr: str, prefix: str) -> list[str]:
    return [line for line in stderr.splitlines() if line.startswith(prefix)]


def _run(*args: str) -> tuple[int, str]:
    result = invoke("run", *args, "--backend", "rules")
    return result.exit_code, result.stderr


def test_a_changed_file_run_under_any_spelling_of_its_path_is_stored_once(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    report = tmp_path / "chg" / "r.txt"
    report.parent.mkdir()
    db = tmp_path / "x.duckdb"
    text = B.read_text(encoding="utf-8")
    spellings = [("chg/r.txt", tmp_path), (str(report), tmp_path), ("r.txt", report.parent),
                 ("chg/./r.txt", tmp_path), ("../chg/r.txt", report.parent)]
    for i, (spelling, cwd) in enumerate(spellings):
        report.write_text(f"{text}\n修订 {i}\n", encoding="utf-8")  # edited between runs
        monkeypatch.chdir(cwd)
        code, stderr = _run(spelling, "--db", str(db))
        assert code == 0, stderr
    assert _stored(db) == {str(report.resolve()): _sha(report)}


def test_a_renamed_file_is_kept_under_its_new_name_and_the_new_file_is_added(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "p.txt").write_bytes(A.read_bytes())
    assert _run("in", "--db", "x.duckdb")[0] == 0
    (folder / "p.txt").rename(folder / "a.txt")
    (folder / "p.txt").write_bytes(B.read_bytes())
    code, stderr = _run("in", "--db", "x.duckdb")
    assert code == 0, stderr
    # What was printed is what is stored: both files, each under the name it has now.
    assert _stored(tmp_path / "x.duckdb") == {str(folder.resolve() / "a.txt"): _sha(A), str(folder.resolve() / "p.txt"): _sha(B)}
    assert [line.split(":")[0] for line in _lines(stderr, "skipped")] == ["skipped in/a.txt"]
    assert [line.split(":")[0] for line in _lines(stderr, "ok")] == ["ok  in/p.txt"]


def test_swapped_files_are_stored_under_their_new_names(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "a.txt").write_bytes(A.read_bytes())
    (folder / "b.txt").write_bytes(B.read_bytes())
    assert _run("in", "--db", "x.duckdb")[0] == 0
    (folder / "a.txt").write_bytes(B.read_bytes())
    (folder / "b.txt").write_bytes(A.read_bytes())
    code, stderr = _run("in", "--db", "x.duckdb")
    assert code == 0, stderr
    assert _stored(tmp_path / "x.duckdb") == {str(folder.resolve() / "a.txt"): _sha(B), str(folder.resolve() / "b.txt"): _sha(A)}
    assert len(_lines(stderr, "skipped")) == 2, stderr


def test_identical_files_at_two_paths_are_one_document_and_counted_once(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "a.txt").write_bytes(B.read_bytes())
    (folder / "b.txt").write_bytes(B.read_bytes())
    code, stderr = _run("in", "--db", "x.duckdb")
    assert code == 0, stderr
    assert "1 extracted" in stderr and "1 skipped" in stderr, stderr
    assert _lines(stderr, "skipped") == ["skipped in/b.txt: same content as in/a.txt"]
    assert _stored(tmp_path / "x.duckdb") == {str(folder.resolve() / "a.txt"): _sha(B)}


def test_a_symlink_to_a_file_outside_the_folder_is_followed_and_said(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "elsewhere").mkdir()
    target = tmp_path / "elsewhere" / "r.txt"
    target.write_bytes(B.read_bytes())
    folder = tmp_path / "in"
    folder.mkdir()
    os.symlink(target, folder / "link.txt")
    code, stderr = _run("in", "--db", "x.duckdb")
    assert code == 0, stderr
    assert f"note  in/link.txt: a symbolic link to {target.resolve()}, outside in; followed" in stderr
    assert _stored(tmp_path / "x.duckdb") == {str(target.resolve()): _sha(B)}


def test_paths_and_names_that_look_like_markup_are_printed_as_they_are(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "[bold]r[i].txt").write_bytes(B.read_bytes())
    code, stderr = _run("[/x]", "in", "--db", "x.duckdb")
    assert code == 1, stderr
    assert "failed  [/x]: no such file or folder" in stderr
    assert "ok  in/[bold]r[i].txt: 1 metrics" in stderr
    assert len(_stored(tmp_path / "x.duckdb")) == 1


def _limit_memory() -> None:  # a read that never ends must fail fast, not take the machine's memory
    resource.setrlimit(resource.RLIMIT_AS, (3 << 30, 3 << 30))


def test_special_files_are_refused_without_reading_them(tmp_path):
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "good.txt").write_bytes(B.read_bytes())
    os.mkfifo(folder / "fifo.txt")  # opening it to read would wait for a writer forever
    os.symlink("/dev/zero", folder / "zero.txt")  # endless bytes; its size says 0
    try:
        result = subprocess.run([sys.executable, "-m", "llm_extract", "run", "in", "--backend", "rules", "--db", "x.duckdb"],
                                env=cli_env(), cwd=tmp_path, capture_output=True, text=True, timeout=60,
                                preexec_fn=_limit_memory)
    except subprocess.TimeoutExpired:
        pytest.fail("the run hung on a special file")
    assert result.returncode == 1, result.stderr
    assert "Traceback" not in result.stderr
    assert sorted(_lines(result.stderr, "failed")) == [
        "failed  in/fifo.txt: not a regular file (a named pipe)",
        "failed  in/zero.txt: not a regular file (a device)"]
    assert len(_stored(tmp_path / "x.duckdb")) == 1


def test_symlink_loops_are_reported_and_the_run_goes_on(tmp_path):
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "good.txt").write_bytes(B.read_bytes())
    os.symlink("b.txt", folder / "a.txt")
    os.symlink("a.txt", folder / "b.txt")
    os.symlink("self.txt", tmp_path / "self.txt")
    result = cli("run", "in", "self.txt", "--backend", "rules", "--db", "x.duckdb", cwd=tmp_path)
    assert result.returncode == 1, result.stderr
    assert "Traceback" not in result.stderr
    assert sorted(_lines(result.stderr, "failed")) == [
        "failed  in/a.txt: symbolic link loop", "failed  in/b.txt: symbolic link loop",
        "failed  self.txt: symbolic link loop"]
    assert len(_stored(tmp_path / "x.duckdb")) == 1
