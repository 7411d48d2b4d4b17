-- The revocation feed pages by (revoked_at, id): a keyset cursor that
-- moves on even when more sessions than a page were revoked in one second.
DROP INDEX sessions_by_revoked_at;
CREATE INDEX sessions_by_revoked_at ON sessions(revoked_at, id) WHERE revoked_at IS NOT NULL;

-- Repeated failed logins (same event, user and address within a window)
-- are one row with a count; `last_at` is the newest of them (NULL: `at`).
ALTER TABLE audit_log ADD COLUMN count BIGINT NOT NULL DEFAULT 1;
ALTER TABLE audit_log ADD COLUMN last_at BIGINT;
-- Partial: only failed logins fold, and every refresh writes an audit row
-- that must not pay for this index (retention deletes by id, rows being
-- appended in time order, so it needs no index on `at` either).
CREATE INDEX audit_failures_by_ip ON audit_log(ip, id) WHERE event = 'login.failure';

-- An entry still never changes, except its count and last time; entries
-- older than the retention are deleted.
DROP TRIGGER audit_log_no_change ON audit_log;
CREATE OR REPLACE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.id IS DISTINCT FROM OLD.id OR NEW.at IS DISTINCT FROM OLD.at
       OR NEW.event IS DISTINCT FROM OLD.event OR NEW.user_id IS DISTINCT FROM OLD.user_id
       OR NEW.session_id IS DISTINCT FROM OLD.session_id OR NEW.ip IS DISTINCT FROM OLD.ip
       OR NEW.user_agent IS DISTINCT FROM OLD.user_agent OR NEW.detail IS DISTINCT FROM OLD.detail
    THEN
        RAISE EXCEPTION 'audit_log entries do not change';
    END IF;
    RETURN NEW;
END;
$$;
CREATE TRIGGER audit_log_no_change BEFORE UPDATE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION audit_log_append_only();
