-- Issue 20, the admin console and its API.
--
-- Who did it: an administrative action names its actor (the acting admin's
-- user id, or `cli:<os user>`), and a row about an OAuth client names it.
ALTER TABLE audit_log ADD COLUMN actor TEXT;
ALTER TABLE audit_log ADD COLUMN client_id TEXT;
-- The filters of `GET /v1/admin/audit` (each pages by id) and the bounded
-- time range of the overview's counts. `at` grows with `id`, so its index is
-- appended at its right edge; actor and client rows are rare (partial).
CREATE INDEX audit_by_at ON audit_log(at);
CREATE INDEX audit_by_event ON audit_log(event, id);
CREATE INDEX audit_by_actor ON audit_log(actor, id) WHERE actor IS NOT NULL;
CREATE INDEX audit_by_client ON audit_log(client_id, id) WHERE client_id IS NOT NULL;

-- Entries still never change, except a repeated one's count and last time:
-- the new columns are covered too.
DROP TRIGGER audit_log_no_update;
CREATE TRIGGER audit_log_no_update
BEFORE UPDATE OF id, at, event, user_id, session_id, ip, user_agent, detail, actor, client_id
ON audit_log
BEGIN SELECT RAISE(ABORT, 'audit_log entries do not change'); END;

-- When a user last started a session (any login, or a code exchange): set
-- by the insert of the session itself, in the same statement's transaction.
ALTER TABLE users ADD COLUMN last_login_at INTEGER;
CREATE TRIGGER sessions_last_login AFTER INSERT ON sessions
BEGIN
    UPDATE users SET last_login_at = NEW.created_at
    WHERE id = NEW.user_id AND (last_login_at IS NULL OR last_login_at < NEW.created_at);
END;

-- What a revoked key was, so that the key list still shows it.
ALTER TABLE revoked_keys ADD COLUMN alg TEXT;
ALTER TABLE revoked_keys ADD COLUMN created_at INTEGER;
ALTER TABLE revoked_keys ADD COLUMN activates_at INTEGER;
