CREATE TABLE clients (
    id          TEXT PRIMARY KEY,
    secret_hash BYTEA NOT NULL,
    scopes      TEXT NOT NULL DEFAULT '[]',
    grants      TEXT NOT NULL DEFAULT '[]',
    created_at  BIGINT NOT NULL
);

CREATE TABLE revoked_tokens (
    jti        TEXT PRIMARY KEY,
    expires_at BIGINT NOT NULL
);
CREATE INDEX revoked_tokens_by_expiry ON revoked_tokens(expires_at);
