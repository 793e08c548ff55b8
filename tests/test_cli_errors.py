"""One line, never a traceback, for the bad databases and folders of issue 10 case 9; `show` matches
literally and prints document text as text (case 7 and a smaller case). Real CLI, real files."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from tests.support.clihelp import REPORT, cli, copy_db, invoke, one_line_error, rules_db


@pytest.fixture(scope="module")
def built_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return rules_db(tmp_path_factory.mktemp("clidb"), REPORT)


@pytest.fixture()
def db(built_db: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    return copy_db(built_db, tmp_path)


def _damage(db: Path, where: str) -> None:
    """"header": the blocks DuckDB reads to open the file; "blocks": the block holding the documents
    table's data, read by queries only (the file still opens)."""
    data = bytearray(db.read_bytes())
    if where == "header":
        for i in range(4096, 3 * 4096, 512):
            data[i] ^= 0xFF
    else:
        con = duckdb.connect(str(db), read_only=True)
        try:
            size = con.execute("SELECT block_size FROM pragma_database_size()").fetchone()[0]  # type: ignore[index]
            blocks = [r[0] for r in con.execute(
                "SELECT DISTINCT block_id FROM pragma_storage_info('documents') WHERE block_id >= 0").fetchall()]
        finally:
            con.close()
        for block in blocks:  # blocks follow the three 4 KiB headers
            data[3 * 4096 + block * size + 1000] ^= 0xFF
    db.write_bytes(bytes(data))


def test_export_into_an_existing_file_is_one_line(db: Path, tmp_path: Path):
    (tmp_path / "afile").write_text("x")
    result = invoke("export", "afile", "--db", str(db))
    assert result.exit_code == 2
    assert "afile" in one_line_error(result.stderr)


def test_export_into_a_folder_that_cannot_be_created_is_one_line(db: Path, tmp_path: Path):
    (tmp_path / "afile").write_text("x")
    result = invoke("export", "afile/sub", "--db", str(db))
    assert result.exit_code == 2
    assert "afile/sub" in one_line_error(result.stderr)


def test_export_never_writes_over_the_database(db: Path, tmp_path: Path):
    before = db.read_bytes()
    (tmp_path / "documents.csv").symlink_to(db)
    result = invoke("export", ".", "--db", str(db), "--format", "csv")
    assert result.exit_code == 2
    assert "database" in one_line_error(result.stderr)
    assert db.read_bytes() == before


@pytest.mark.parametrize(("where", "args"), [
    ("header", ["export", "out"]),
    ("blocks", ["export", "out"]),
    ("blocks", ["run", str(REPORT), "--backend", "rules", "--force"]),
    ("blocks", ["show", "000"]),
    ("header", ["run", str(REPORT), "--backend", "rules"]),
    ("header", ["show", "000"]),
    ("header", ["sql", "SELECT 1"]),
], ids=lambda v: v if isinstance(v, str) else v[0])
def test_a_damaged_database_is_one_line(db: Path, where: str, args: list[str]):
    _damage(db, where)
    result = invoke(*args, "--db", str(db))
    assert result.exit_code == 2
    assert one_line_error(result.stderr).startswith("error: ")


def test_a_locked_database_is_one_line_for_export(db: Path, tmp_path: Path):
    holder = subprocess.Popen([sys.executable, "-c", "import duckdb, sys, time; c = duckdb.connect(sys.argv[1]); "
                               "print('held', flush=True); time.sleep(30)", str(db)], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        result = cli("export", "out", "--db", str(db), cwd=tmp_path, LLM_EXTRACT_WAIT="0.3")
    finally:
        holder.kill()
        holder.wait()
    assert result.returncode == 2
    assert "Could not set lock" in one_line_error(result.stderr)


def test_db_whose_folder_cannot_be_created_is_one_line(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "afile").write_text("x")
    result = invoke("run", str(REPORT), "--backend", "rules", "--db", "afile/x.duckdb")
    assert result.exit_code == 2
    assert "afile" in one_line_error(result.stderr)


def test_show_matches_names_literally(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "a_b.txt").write_bytes(REPORT.read_bytes())
    (tmp_path / "in" / "axb.txt").write_text(REPORT.read_text(encoding="utf-8") + "\n附\n", encoding="utf-8")
    (tmp_path / "in" / "100%.txt").write_text(REPORT.read_text(encoding="utf-8") + "\n附二\n", encoding="utf-8")
    assert invoke("run", "in", "--backend", "rules", "--db", "x.duckdb").exit_code == 0
    for name in ("a_b.txt", "100%"):
        result = invoke("show", name, "--db", "x.duckdb")
        assert result.exit_code == 0, result.stderr
        assert name in result.stdout


def test_show_prints_titles_and_quotes_that_look_like_markup(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    text = REPORT.read_text(encoding="utf-8").replace("一、", "一、[/i][bold]", 1)
    (tmp_path / "r.txt").write_text(text, encoding="utf-8")
    assert invoke("run", "r.txt", "--backend", "rules", "--db", "x.duckdb").exit_code == 0
    result = invoke("show", "r.txt", "--db", "x.duckdb")
    assert result.exit_code == 0, result.stderr
    assert "[/i][bold]" in result.stdout
