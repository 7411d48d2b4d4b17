-- Issue 17, multi-factor authentication.
-- How a session's user authenticated (RFC 8176 `amr`, a JSON array; NULL:
-- a session from before MFA, read as ["pwd"]) and when (`auth_time`; NULL:
-- the session's created_at), so refreshed access tokens keep both.
ALTER TABLE sessions ADD COLUMN amr TEXT;
ALTER TABLE sessions ADD COLUMN auth_time INTEGER;

-- A user's second factors, one row each: `kind` is `totp` (issue 17) or
-- `passkey` (WebAuthn); `id` tells apart several of one kind (TOTP: always
-- `totp`; a passkey: its credential id). `secret` is the factor's key,
-- sealed with the server secret (TOTP) or public (a passkey's COSE key);
-- `data` is JSON the factor's code reads (opaque to the store); `counter`
-- is the last TOTP time step used (no code twice) or a passkey's signature
-- counter, only ever moved forward. A factor counts once confirmed.
CREATE TABLE mfa_factors (
    user_id      TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    kind         TEXT NOT NULL,
    id           TEXT NOT NULL,
    secret       BLOB NOT NULL,
    data         TEXT NOT NULL DEFAULT '{}',
    counter      INTEGER NOT NULL DEFAULT 0,
    created_at   INTEGER NOT NULL,
    confirmed_at INTEGER,
    PRIMARY KEY (user_id, kind, id)
);

-- Recovery codes, by their SHA-256 only; each is used once.
CREATE TABLE recovery_codes (
    user_id    TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    code_hash  BLOB NOT NULL,
    created_at INTEGER NOT NULL,
    used_at    INTEGER,
    PRIMARY KEY (user_id, code_hash)
);

-- The pending second step of a login (the `mfa_token`, by its SHA-256):
-- whose, for what (`login` or `enroll`), the login it is bound to (`data`,
-- JSON: client, DPoP key, cookie mode), expiry, and when it was spent.
CREATE TABLE mfa_challenges (
    token_hash BLOB PRIMARY KEY,
    user_id    TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    purpose    TEXT NOT NULL,
    data       TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    used_at    INTEGER
);
CREATE INDEX mfa_challenges_by_expiry ON mfa_challenges(expires_at);
