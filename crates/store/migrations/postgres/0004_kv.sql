-- Small shared state with optimistic concurrency (throttling counters,
-- rate-limit buckets), so that several instances enforce one limit.
CREATE TABLE kv (
    key        TEXT PRIMARY KEY,
    value      BYTEA NOT NULL,
    version    BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX kv_by_expiry ON kv(expires_at);
