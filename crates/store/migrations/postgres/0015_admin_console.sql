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
CREATE OR REPLACE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.id IS DISTINCT FROM OLD.id OR NEW.at IS DISTINCT FROM OLD.at
       OR NEW.event IS DISTINCT FROM OLD.event OR NEW.user_id IS DISTINCT FROM OLD.user_id
       OR NEW.session_id IS DISTINCT FROM OLD.session_id OR NEW.ip IS DISTINCT FROM OLD.ip
       OR NEW.user_agent IS DISTINCT FROM OLD.user_agent OR NEW.detail IS DISTINCT FROM OLD.detail
       OR NEW.actor IS DISTINCT FROM OLD.actor OR NEW.client_id IS DISTINCT FROM OLD.client_id
    THEN
        RAISE EXCEPTION 'audit_log entries do not change';
    END IF;
    RETURN NEW;
END;
$$;

-- When a user last started a session (any login, or a code exchange): set
-- by the insert of the session itself, in the same transaction.
ALTER TABLE users ADD COLUMN last_login_at BIGINT;
CREATE FUNCTION sessions_last_login() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE users SET last_login_at = NEW.created_at
    WHERE id = NEW.user_id AND (last_login_at IS NULL OR last_login_at < NEW.created_at);
    RETURN NULL;
END;
$$;
CREATE TRIGGER sessions_last_login AFTER INSERT ON sessions
    FOR EACH ROW EXECUTE FUNCTION sessions_last_login();

-- What a revoked key was, so that the key list still shows it.
ALTER TABLE revoked_keys ADD COLUMN alg TEXT;
ALTER TABLE revoked_keys ADD COLUMN created_at BIGINT;
ALTER TABLE revoked_keys ADD COLUMN activates_at BIGINT;
