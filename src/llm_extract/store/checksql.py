"""The checks table, the reviewers' dismissals of its findings, and the view that applies them:
schema, as SQL (migration 011 in store.py).

`checks` holds what the checks package finds, recomputed for a document every time it is saved
(and for every document of its series when another year of the same issuer arrives): it is
derived data, replaced freely. A finding is named by `check_id`, a key made from what it is
about in the text (the check and the spans and values of the items involved, or the required
part it misses), never from metric ids, which a re-extraction renumbers. So a reviewer's
dismissal, appended to `finding_reviews` and keyed by (doc_id, check_id), applies again exactly
when the same finding comes back, as item reviews do (see reviewsql).

The column is `check_name`, not `check`: CHECK is a reserved word in SQL, and every query would
have to quote it.
"""

from __future__ import annotations

CHECKS_SQL = """
    CREATE TABLE checks (
        doc_id VARCHAR NOT NULL,
        check_id VARCHAR NOT NULL,
        check_name VARCHAR NOT NULL,
        severity VARCHAR NOT NULL,
        metric_ids INTEGER[] NOT NULL,
        message VARCHAR NOT NULL,
        char_start INTEGER,
        char_end INTEGER,
        other_doc_id VARCHAR,
        computed_at TIMESTAMP NOT NULL,
        PRIMARY KEY (doc_id, check_id)
    );
    CREATE SEQUENCE finding_review_seq START 1;
    CREATE TABLE finding_reviews (
        review_id BIGINT PRIMARY KEY DEFAULT nextval('finding_review_seq'),
        doc_id VARCHAR NOT NULL,
        check_id VARCHAR NOT NULL,
        decision VARCHAR NOT NULL,
        reason VARCHAR,
        reviewer VARCHAR NOT NULL,
        reviewed_at TIMESTAMP NOT NULL
    );
    CREATE VIEW findings AS
        WITH latest AS (
            SELECT * FROM finding_reviews
            QUALIFY row_number() OVER (PARTITION BY doc_id, check_id ORDER BY review_id DESC) = 1
        )
        SELECT c.*, coalesce(l.decision = 'dismiss', false) AS dismissed,
               l.reason AS review_reason, l.reviewer, l.reviewed_at
        FROM checks c LEFT JOIN latest l USING (doc_id, check_id);
"""
