-- The revocation feed pages by (revoked_at, id): a keyset cursor that
-- moves on even when more sessions than a page were revoked in one second.
DROP INDEX sessions_by_revoked_at;
CREATE INDEX sessions_by_revoked_at ON sessions(revoked_at, id) WHERE revoked_at IS NOT NULL;

-- Repeated failed logins (same event, user and address within a window)
-- are one row with a count; `last_at` is the newest of them (NULL: `at`).
ALTER TABLE audit_log ADD COLUMN count INTEGER NOT NULL DEFAULT 1;
ALTER TABLE audit_log ADD COLUMN last_at INTEGER;
-- Partial: only failed logins fold, and every refresh writes an audit row
-- that must not pay for this index (retention deletes by id, rows being
-- appended in time order, so it needs no index on `at` either).
CREATE INDEX audit_failures_by_ip ON audit_log(ip, id) WHERE event = 'login.failure';

-- An entry still never changes, except its count and last time; entries
-- older than the retention are deleted.
DROP TRIGGER audit_log_no_update;
DROP TRIGGER audit_log_no_delete;
CREATE TRIGGER audit_log_no_update
BEFORE UPDATE OF id, at, event, user_id, session_id, ip, user_agent, detail ON audit_log
BEGIN SELECT RAISE(ABORT, 'audit_log entries do not change'); END;
