-- Users. Emails are stored normalised (trimmed, lower-case).
CREATE TABLE users (
    id            TEXT PRIMARY KEY,
    email         TEXT NOT NULL UNIQUE,
    password_hash TEXT NOT NULL,
    roles         TEXT NOT NULL DEFAULT '[]',
    created_at    INTEGER NOT NULL
);

-- One row per refresh-token family (a login). Only the SHA-256 of the
-- current refresh token is stored; earlier tokens are recognised by
-- re-deriving the chain forward from them (see tessera-core).
CREATE TABLE sessions (
    id              TEXT PRIMARY KEY,
    user_id         TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    created_at      INTEGER NOT NULL,
    last_used_at    INTEGER NOT NULL,
    expires_at      INTEGER NOT NULL,
    idle_expires_at INTEGER NOT NULL,
    revoked_at      INTEGER,
    revoked_reason  TEXT,
    user_agent      TEXT,
    ip              TEXT,
    generation      INTEGER NOT NULL,
    token_hash      BLOB NOT NULL,
    rotated_at      INTEGER
);
CREATE INDEX sessions_by_user ON sessions(user_id, revoked_at);
CREATE INDEX sessions_by_expiry ON sessions(expires_at);

-- Signing keys; private material is sealed with the server secret.
CREATE TABLE signing_keys (
    kid          TEXT PRIMARY KEY,
    alg          TEXT NOT NULL,
    sealed_key   BLOB NOT NULL,
    public_jwk   TEXT NOT NULL,
    created_at   INTEGER NOT NULL,
    activates_at INTEGER NOT NULL,
    retired_at   INTEGER
);

-- Append-only security events.
CREATE TABLE audit_log (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    at         INTEGER NOT NULL,
    event      TEXT NOT NULL,
    user_id    TEXT,
    session_id TEXT,
    ip         TEXT,
    user_agent TEXT,
    detail     TEXT
);
CREATE INDEX audit_by_user ON audit_log(user_id, id);
CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END;
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END;
