-- Issue 17 (part B), passkeys (WebAuthn). One row per registered credential.
-- `credential_id` is the authenticator's raw credential id (unique across all
-- users: a credential belongs to one account); `data` is the credential as
-- the WebAuthn library serialises it (public key, counter, flags; JSON,
-- opaque to the store). The sign counter and the backup flags are copied out
-- so that they can be read and updated without parsing `data`.
CREATE TABLE passkeys (
    id              TEXT PRIMARY KEY,
    user_id         TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    credential_id   BYTEA NOT NULL UNIQUE,
    name            TEXT NOT NULL,
    data            TEXT NOT NULL,
    sign_count      BIGINT NOT NULL DEFAULT 0,
    backup_eligible BIGINT NOT NULL DEFAULT 0,
    backup_state    BIGINT NOT NULL DEFAULT 0,
    created_at      BIGINT NOT NULL,
    last_used_at    BIGINT
);
CREATE INDEX passkeys_by_user ON passkeys(user_id);
