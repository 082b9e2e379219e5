-- Running aggregates of events (incremental detection, issue 15): one row
-- per tenant, source, integration, endpoint, outcome (failed: is_error and
-- an error family; successes collapse family/surface/code to '') and
-- one-second bucket, kept in the transaction that inserts the events. n
-- counts the rows; (min_ts, min_id) and (max_ts, max_id) are the first and
-- last event of the bucket in (ts, id) order. The api.errors rules read
-- these instead of every event of their window. Existing events are
-- aggregated here once.

-- +goose Up
CREATE TABLE event_buckets (
    tenant      TEXT    NOT NULL,
    source      TEXT    NOT NULL,
    integration TEXT    NOT NULL,
    endpoint    TEXT    NOT NULL,
    failed      INTEGER NOT NULL,
    family      TEXT    NOT NULL,
    surface     TEXT    NOT NULL,
    code        TEXT    NOT NULL,
    bucket      INTEGER NOT NULL,               -- unix microseconds, a multiple of 1,000,000
    n           INTEGER NOT NULL,
    min_ts      INTEGER NOT NULL,
    min_id      INTEGER NOT NULL,
    max_ts      INTEGER NOT NULL,
    max_id      INTEGER NOT NULL,
    PRIMARY KEY (tenant, source, integration, endpoint, failed, family, surface, code, bucket)
) STRICT, WITHOUT ROWID;
CREATE INDEX event_buckets_failed ON event_buckets (tenant, failed, bucket);
CREATE INDEX event_buckets_bucket ON event_buckets (bucket);

INSERT INTO event_buckets (tenant, source, integration, endpoint, failed, family, surface, code, bucket, n, min_ts, min_id, max_ts, max_id)
SELECT tenant, source, integration, endpoint, failed, family, surface, code, bucket,
       COUNT(*), MIN(ts), MIN(fid), MAX(ts), MAX(lid)
FROM (
    SELECT tenant, source, integration, endpoint, failed, family, surface, code, bucket, ts,
           FIRST_VALUE(id) OVER w AS fid, LAST_VALUE(id) OVER w AS lid
    FROM (
        SELECT id, ts, tenant, source, integration, endpoint,
               f AS failed,
               CASE WHEN f = 1 THEN family ELSE '' END AS family,
               CASE WHEN f = 1 THEN surface ELSE '' END AS surface,
               CASE WHEN f = 1 THEN code ELSE '' END AS code,
               (ts / 1000000) * 1000000 AS bucket
        FROM (SELECT *, CASE WHEN is_error <> 0 AND family IN ('auth', 'client', 'rate_limit', 'server', 'timeout') THEN 1 ELSE 0 END AS f FROM events)
    )
    WINDOW w AS (PARTITION BY tenant, source, integration, endpoint, failed, family, surface, code, bucket
                 ORDER BY ts, id ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING)
)
GROUP BY tenant, source, integration, endpoint, failed, family, surface, code, bucket;

-- +goose Down
DROP TABLE event_buckets;
