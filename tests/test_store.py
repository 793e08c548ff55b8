from pathlib import Path
import duckdb
import pytest

from llm_extract.errors import StoreError
from llm_extract.evaluate import gold_as_extraction
from llm_extract.gold import load_gold_dir
from llm_extract.store import MIGRATIONS, Store

ROOT = Path(__file__).resolve().parents[1]
GOLD = ROOT / "gold"


def _extraction(doc_id="d1", path="r.txt"):
    gold = load_gold_dir(GOLD)["000_bfd2e8a3485ea91a.txt"]
    e = gold_as_extraction(gold, doc_id=doc_id)
    return e.model_copy(update={"path": path})


def test_migrations_are_named_applied_once_and_recorded(tmp_path):
    db = tmp_path / "x.duckdb"
    with Store(db) as store:
        assert store.migrate() == []  # already applied on open
        names = [r["name"] for r in store.query("SELECT name FROM migrations ORDER BY name")]
    assert names == [name for name, _ in MIGRATIONS]


def test_save_is_one_transaction_and_replaces(tmp_path, report_texts):
    db = tmp_path / "x.duckdb"
    text = report_texts["000_bfd2e8a3485ea91a.txt"]
    with Store(db) as store:
        store.save(_extraction(), text, "run1", "m", "v1")
        store.save(_extraction(), text, "run2", "m", "v1")  # same doc again: replaced, not duplicated
        assert store.query("SELECT count(*) n FROM documents")[0]["n"] == 1
        n = store.query("SELECT count(*) n FROM metrics")[0]["n"]
        assert n == len(_extraction().metrics)
        assert store.is_current("d1", "m", "v1") and not store.is_current("d1", "m", "v2")
        # A changed file (new doc_id, same path) replaces the old version's rows.
        store.save(_extraction(doc_id="d2"), text, "run3", "m", "v1")
        assert [r["doc_id"] for r in store.query("SELECT doc_id FROM documents")] == ["d2"]
        assert store.query("SELECT count(*) n FROM metrics")[0]["n"] == n
        # Every stored quote is at its offsets in the stored text.
        bad = store.query("SELECT count(*) n FROM metrics m JOIN documents d USING (doc_id) "
                          "WHERE substring(d.text, m.char_start + 1, m.char_end - m.char_start) <> m.quote")
        assert bad[0]["n"] == 0


def test_failed_save_leaves_nothing_behind(tmp_path, report_texts):
    db = tmp_path / "x.duckdb"
    broken = _extraction()
    broken.metrics.append(broken.metrics[0])  # duplicate primary key: the insert fails mid-document
    with Store(db) as store:
        with pytest.raises(duckdb.Error):
            store.save(broken, report_texts["000_bfd2e8a3485ea91a.txt"], "run1", "m", "v1")
        assert store.query("SELECT count(*) n FROM documents")[0]["n"] == 0
        assert store.query("SELECT count(*) n FROM metrics")[0]["n"] == 0


@pytest.mark.parametrize("sql", ["DROP TABLE metrics", "DELETE FROM metrics", "COPY metrics TO 'out.csv'",
                                 "INSERT INTO runs (run_id, started_at) VALUES ('x', now())"])
def test_read_only_connection_refuses_writes(tmp_path, sql, monkeypatch):
    monkeypatch.chdir(tmp_path)
    db = tmp_path / "x.duckdb"
    Store(db).close()
    with Store(db, read_only=True) as store:
        with pytest.raises(StoreError, match="refused|read-only|disabled"):
            store.query_table(sql)
    assert not (tmp_path / "out.csv").exists()


def test_read_only_open_of_missing_db_names_the_fix(tmp_path):
    with pytest.raises(StoreError, match="llm-extract run"):
        Store(tmp_path / "none.duckdb", read_only=True)
