-- OAuth clients. The secret is stored as a keyed hash (HMAC with a key
-- derived from the server secret); secrets must be high-entropy.
CREATE TABLE clients (
    id          TEXT PRIMARY KEY,
    secret_hash BLOB NOT NULL,
    scopes      TEXT NOT NULL DEFAULT '[]',
    grants      TEXT NOT NULL DEFAULT '[]',
    created_at  INTEGER NOT NULL
);

-- Revoked access tokens that have no session (client credentials), until they expire.
CREATE TABLE revoked_tokens (
    jti        TEXT PRIMARY KEY,
    expires_at INTEGER NOT NULL
);
CREATE INDEX revoked_tokens_by_expiry ON revoked_tokens(expires_at);
