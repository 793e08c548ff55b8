"""The reviews table and the views that apply it: schema, as SQL (migration 008 in store.py).

A review names its item by key: document, kind, span and, for a metric, value. Extraction ids
(metric_id, problem_id) are renumbered by every re-extraction, so a review keyed by them would
silently move to another item; keyed by span and value it applies again exactly when the same
item comes back, and to nothing otherwise. Values are compared exactly: both sides are the number
parser's reading of the same characters (numbers._tidy rounds them), stored as the same DOUBLE.

Decisions: accept (the item is right as extracted), reject (it is not a metric/problem), correct
(`after` holds the corrected item, possibly with another span and value), add (an item the
extractor missed; `after` holds it, keyed by its own span and value). The latest decision per key
wins. An added item whose key a later extraction also finds is that item, corrected.
"""

from __future__ import annotations

# Columns of the views, in order: the source table's columns, then who decided what and when.
REVIEWS_SQL = """
    CREATE SEQUENCE review_seq START 1;
    CREATE TABLE reviews (
        review_id BIGINT PRIMARY KEY DEFAULT nextval('review_seq'),
        doc_id VARCHAR NOT NULL,
        kind VARCHAR NOT NULL,
        char_start INTEGER NOT NULL,
        char_end INTEGER NOT NULL,
        value DOUBLE,
        item_id INTEGER,
        decision VARCHAR NOT NULL,
        before JSON,
        after JSON,
        reviewer VARCHAR NOT NULL,
        reviewed_at TIMESTAMP NOT NULL,
        prompt_version VARCHAR
    );
    CREATE VIEW reviews_latest AS
        SELECT *, bool_or(decision = 'add') OVER (PARTITION BY doc_id, kind, char_start, char_end, value) AS added
        FROM reviews
        QUALIFY row_number() OVER (PARTITION BY doc_id, kind, char_start, char_end, value ORDER BY review_id DESC) = 1;
    CREATE VIEW metrics_reviewed AS
        WITH joined AS (
            SELECT m.*, r.review_id, r.decision, r.reviewer, r.reviewed_at,
                   CASE WHEN r.decision IN ('correct', 'add') THEN r.after END AS a
            FROM metrics m LEFT JOIN reviews_latest r
              ON r.kind = 'metric' AND r.doc_id = m.doc_id AND r.char_start = m.char_start
             AND r.char_end = m.char_end AND r.value = m.value
        )
        SELECT doc_id, metric_id,
               CASE WHEN a IS NULL THEN section_id ELSE CAST(a->>'section_id' AS INTEGER) END AS section_id,
               CASE WHEN a IS NULL THEN name ELSE a->>'name' END AS name,
               CASE WHEN a IS NULL THEN value ELSE CAST(a->>'value' AS DOUBLE) END AS value,
               CASE WHEN a IS NULL THEN value_max ELSE CAST(a->>'value_max' AS DOUBLE) END AS value_max,
               CASE WHEN a IS NULL THEN unit ELSE a->>'unit' END AS unit,
               CASE WHEN a IS NULL THEN approx ELSE CAST(a->>'approx' AS BOOLEAN) END AS approx,
               CASE WHEN a IS NULL THEN category ELSE a->>'category' END AS category,
               CASE WHEN a IS NULL THEN quote ELSE a->>'quote' END AS quote,
               CASE WHEN a IS NULL THEN char_start ELSE CAST(a->>'char_start' AS INTEGER) END AS char_start,
               CASE WHEN a IS NULL THEN char_end ELSE CAST(a->>'char_end' AS INTEGER) END AS char_end,
               alignment, township, label_source,
               decision AS review, reviewer, reviewed_at, review_id
        FROM joined WHERE decision IS DISTINCT FROM 'reject'
        UNION ALL
        SELECT r.doc_id, NULL, CAST(r.after->>'section_id' AS INTEGER), r.after->>'name',
               CAST(r.after->>'value' AS DOUBLE), CAST(r.after->>'value_max' AS DOUBLE), r.after->>'unit',
               CAST(r.after->>'approx' AS BOOLEAN), r.after->>'category', r.after->>'quote',
               CAST(r.after->>'char_start' AS INTEGER), CAST(r.after->>'char_end' AS INTEGER),
               'exact', d.township, NULL, r.decision, r.reviewer, r.reviewed_at, r.review_id
        FROM reviews_latest r JOIN documents d USING (doc_id)
        WHERE r.kind = 'metric' AND r.added AND r.decision <> 'reject'
          AND NOT EXISTS (SELECT 1 FROM metrics m WHERE m.doc_id = r.doc_id AND m.char_start = r.char_start
                          AND m.char_end = r.char_end AND m.value = r.value);
    CREATE VIEW problems_reviewed AS
        WITH joined AS (
            SELECT p.*, r.review_id, r.decision, r.reviewer, r.reviewed_at,
                   CASE WHEN r.decision IN ('correct', 'add') THEN r.after END AS a
            FROM problems p LEFT JOIN reviews_latest r
              ON r.kind = 'problem' AND r.doc_id = p.doc_id AND r.char_start = p.char_start
             AND r.char_end = p.char_end
        )
        SELECT doc_id, problem_id,
               CASE WHEN a IS NULL THEN section_id ELSE CAST(a->>'section_id' AS INTEGER) END AS section_id,
               CASE WHEN a IS NULL THEN summary ELSE a->>'summary' END AS summary,
               CASE WHEN a IS NULL THEN category ELSE a->>'category' END AS category,
               CASE WHEN a IS NULL THEN quote ELSE a->>'quote' END AS quote,
               CASE WHEN a IS NULL THEN char_start ELSE CAST(a->>'char_start' AS INTEGER) END AS char_start,
               CASE WHEN a IS NULL THEN char_end ELSE CAST(a->>'char_end' AS INTEGER) END AS char_end,
               alignment, township,
               decision AS review, reviewer, reviewed_at, review_id
        FROM joined WHERE decision IS DISTINCT FROM 'reject'
        UNION ALL
        SELECT r.doc_id, NULL, CAST(r.after->>'section_id' AS INTEGER), r.after->>'summary',
               r.after->>'category', r.after->>'quote',
               CAST(r.after->>'char_start' AS INTEGER), CAST(r.after->>'char_end' AS INTEGER),
               'exact', d.township, r.decision, r.reviewer, r.reviewed_at, r.review_id
        FROM reviews_latest r JOIN documents d USING (doc_id)
        WHERE r.kind = 'problem' AND r.added AND r.decision <> 'reject'
          AND NOT EXISTS (SELECT 1 FROM problems p WHERE p.doc_id = r.doc_id AND p.char_start = r.char_start
                          AND p.char_end = r.char_end);
"""


# Areas and indicators (migration 009): the comparable labels of metrics and problems, and the
# reviewed views again with them as their last columns (columns are only ever added, at the end).
# A correction or an added item whose `after` has an `area` / `indicator` key (JSON null
# included: "no indicator") decides it, and the source becomes 'review' where that changes the
# extracted label; a review written before these columns existed has no such key and leaves the
# extracted labels as they are.
AREAS_SQL = """
    ALTER TABLE metrics ADD COLUMN area VARCHAR;
    ALTER TABLE metrics ADD COLUMN area_source VARCHAR;
    ALTER TABLE metrics ADD COLUMN indicator VARCHAR;
    ALTER TABLE metrics ADD COLUMN indicator_source VARCHAR;
    ALTER TABLE problems ADD COLUMN area VARCHAR;
    ALTER TABLE problems ADD COLUMN area_source VARCHAR;
    CREATE OR REPLACE VIEW metrics_reviewed AS
        WITH joined AS (
            SELECT m.*, r.review_id, r.decision, r.reviewer, r.reviewed_at,
                   CASE WHEN r.decision IN ('correct', 'add') THEN r.after END AS a
            FROM metrics m LEFT JOIN reviews_latest r
              ON r.kind = 'metric' AND r.doc_id = m.doc_id AND r.char_start = m.char_start
             AND r.char_end = m.char_end AND r.value = m.value
        ), labelled AS (
            SELECT *, coalesce(json_exists(a, '$.area'), false) AS a_has_area,
                      coalesce(json_exists(a, '$.indicator'), false) AS a_has_indicator
            FROM joined
        )
        SELECT doc_id, metric_id,
               CASE WHEN a IS NULL THEN section_id ELSE CAST(a->>'section_id' AS INTEGER) END AS section_id,
               CASE WHEN a IS NULL THEN name ELSE a->>'name' END AS name,
               CASE WHEN a IS NULL THEN value ELSE CAST(a->>'value' AS DOUBLE) END AS value,
               CASE WHEN a IS NULL THEN value_max ELSE CAST(a->>'value_max' AS DOUBLE) END AS value_max,
               CASE WHEN a IS NULL THEN unit ELSE a->>'unit' END AS unit,
               CASE WHEN a IS NULL THEN approx ELSE CAST(a->>'approx' AS BOOLEAN) END AS approx,
               CASE WHEN a IS NULL THEN category ELSE a->>'category' END AS category,
               CASE WHEN a IS NULL THEN quote ELSE a->>'quote' END AS quote,
               CASE WHEN a IS NULL THEN char_start ELSE CAST(a->>'char_start' AS INTEGER) END AS char_start,
               CASE WHEN a IS NULL THEN char_end ELSE CAST(a->>'char_end' AS INTEGER) END AS char_end,
               alignment, township, label_source,
               decision AS review, reviewer, reviewed_at, review_id,
               CASE WHEN a_has_area THEN a->>'area' ELSE area END AS area,
               CASE WHEN a_has_area AND (a->>'area') IS DISTINCT FROM area THEN 'review' ELSE area_source END
                   AS area_source,
               CASE WHEN a_has_indicator THEN a->>'indicator' ELSE indicator END AS indicator,
               CASE WHEN a_has_indicator AND (a->>'indicator') IS DISTINCT FROM indicator THEN 'review'
                    ELSE indicator_source END AS indicator_source
        FROM labelled WHERE decision IS DISTINCT FROM 'reject'
        UNION ALL
        SELECT r.doc_id, NULL, CAST(r.after->>'section_id' AS INTEGER), r.after->>'name',
               CAST(r.after->>'value' AS DOUBLE), CAST(r.after->>'value_max' AS DOUBLE), r.after->>'unit',
               CAST(r.after->>'approx' AS BOOLEAN), r.after->>'category', r.after->>'quote',
               CAST(r.after->>'char_start' AS INTEGER), CAST(r.after->>'char_end' AS INTEGER),
               'exact', d.township, NULL, r.decision, r.reviewer, r.reviewed_at, r.review_id,
               r.after->>'area', CASE WHEN r.after->>'area' IS NOT NULL THEN 'review' END,
               r.after->>'indicator', CASE WHEN r.after->>'indicator' IS NOT NULL THEN 'review' END
        FROM reviews_latest r JOIN documents d USING (doc_id)
        WHERE r.kind = 'metric' AND r.added AND r.decision <> 'reject'
          AND NOT EXISTS (SELECT 1 FROM metrics m WHERE m.doc_id = r.doc_id AND m.char_start = r.char_start
                          AND m.char_end = r.char_end AND m.value = r.value);
    CREATE OR REPLACE VIEW problems_reviewed AS
        WITH joined AS (
            SELECT p.*, r.review_id, r.decision, r.reviewer, r.reviewed_at,
                   CASE WHEN r.decision IN ('correct', 'add') THEN r.after END AS a
            FROM problems p LEFT JOIN reviews_latest r
              ON r.kind = 'problem' AND r.doc_id = p.doc_id AND r.char_start = p.char_start
             AND r.char_end = p.char_end
        ), labelled AS (
            SELECT *, coalesce(json_exists(a, '$.area'), false) AS a_has_area FROM joined
        )
        SELECT doc_id, problem_id,
               CASE WHEN a IS NULL THEN section_id ELSE CAST(a->>'section_id' AS INTEGER) END AS section_id,
               CASE WHEN a IS NULL THEN summary ELSE a->>'summary' END AS summary,
               CASE WHEN a IS NULL THEN category ELSE a->>'category' END AS category,
               CASE WHEN a IS NULL THEN quote ELSE a->>'quote' END AS quote,
               CASE WHEN a IS NULL THEN char_start ELSE CAST(a->>'char_start' AS INTEGER) END AS char_start,
               CASE WHEN a IS NULL THEN char_end ELSE CAST(a->>'char_end' AS INTEGER) END AS char_end,
               alignment, township,
               decision AS review, reviewer, reviewed_at, review_id,
               CASE WHEN a_has_area THEN a->>'area' ELSE area END AS area,
               CASE WHEN a_has_area AND (a->>'area') IS DISTINCT FROM area THEN 'review' ELSE area_source END
                   AS area_source
        FROM labelled WHERE decision IS DISTINCT FROM 'reject'
        UNION ALL
        SELECT r.doc_id, NULL, CAST(r.after->>'section_id' AS INTEGER), r.after->>'summary',
               r.after->>'category', r.after->>'quote',
               CAST(r.after->>'char_start' AS INTEGER), CAST(r.after->>'char_end' AS INTEGER),
               'exact', d.township, r.decision, r.reviewer, r.reviewed_at, r.review_id,
               r.after->>'area', CASE WHEN r.after->>'area' IS NOT NULL THEN 'review' END
        FROM reviews_latest r JOIN documents d USING (doc_id)
        WHERE r.kind = 'problem' AND r.added AND r.decision <> 'reject'
          AND NOT EXISTS (SELECT 1 FROM problems p WHERE p.doc_id = r.doc_id AND p.char_start = r.char_start
                          AND p.char_end = r.char_end);
    -- One row per reviewed metric stated as a catalogue indicator, with its document's columns:
    -- what comparisons across reports are written over.
    CREATE VIEW indicator_values AS
        SELECT m.doc_id, d.path, d.issuer, d.issuer_level, d.county, d.township, d.year,
               m.indicator, m.value, m.value_max, m.unit, m.approx, m.quote, m.char_start, m.char_end,
               m.metric_id
        FROM metrics_reviewed m JOIN documents d USING (doc_id)
        WHERE m.indicator IS NOT NULL;
"""
