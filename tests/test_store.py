import duckdb
import pytest

from llm_extract.ingest.documents import load
from llm_extract.errors import StoreError
from llm_extract.evaluate.scorers import gold_as_extraction
from llm_extract.evaluate.gold import load_gold_dir
from llm_extract.store.database import Store
from llm_extract.store.migrations import MIGRATIONS
from tests.support.paths import GOLD, REPORTS

NAME = "000_bfd2e8a3485ea91a.txt"


def _extraction(doc_id="d1", path="r.txt", run_id="run1", version="v1"):
    gold = load_gold_dir(GOLD)[NAME]
    e = gold_as_extraction(gold, doc_id=doc_id)
    return e.model_copy(update={"path": path, "text": load(REPORTS / NAME).text, "model": "m",
                                "prompt_version": version, "run_id": run_id})


def test_migrations_are_named_applied_once_and_recorded(tmp_path):
    db = tmp_path / "x.duckdb"
    with Store(db) as store:
        assert store.migrate() == []  # already applied on open
        names = [r["name"] for r in store.query("SELECT name FROM migrations ORDER BY name")]
    assert names == [name for name, _ in MIGRATIONS]


def test_save_is_one_transaction_and_replaces(tmp_path, report_texts):
    db = tmp_path / "x.duckdb"
    with Store(db) as store:
        store.save(_extraction())
        store.save(_extraction(run_id="run2"))  # same doc again: replaced, not duplicated
        assert store.query("SELECT count(*) n FROM documents")[0]["n"] == 1
        n = store.query("SELECT count(*) n FROM metrics")[0]["n"]
        assert n == len(_extraction().metrics)
        assert "d1" in store.current_documents("m", "v1") and "d1" not in store.current_documents("m", "v2")
        # A changed file (new doc_id, same path) replaces the old version's rows.
        store.save(_extraction(doc_id="d2", run_id="run3"))
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
            store.save(broken)
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


def test_save_refuses_a_quote_that_is_not_the_text_at_its_offsets(tmp_path):
    shifted = _extraction()
    m = shifted.metrics[3]
    shifted.metrics[3] = m.model_copy(update={"char_start": m.char_start + 1, "char_end": m.char_end + 1})
    with Store(tmp_path / "x.duckdb") as store:
        with pytest.raises(StoreError, match="refusing to store"):
            store.save(shifted)
        assert store.query("SELECT count(*) n FROM documents")[0]["n"] == 0


def test_provenance_and_labels_round_trip(tmp_path):
    e = _extraction()
    e.metrics[0] = e.metrics[0].model_copy(update={"label_source": "fallback"})
    e = e.model_copy(update={"fallbacks": 1, "base_url": "http://127.0.0.1:1/v1"})
    e.meta.issuer_level = "county_department"
    with Store(tmp_path / "x.duckdb") as store:
        store.save(e)
        back = store.load_extraction("d1")
    assert back is not None
    assert (back.text, back.model, back.prompt_version, back.run_id) == (e.text, "m", "v1", "run1")
    assert back.metrics[0].label_source == "fallback" and back.fallbacks == 1
    assert back.meta.issuer_level == "county_department"
