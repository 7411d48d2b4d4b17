-- Issue 15, the account lifecycle. A user's email is verified (when), the
-- account may be disabled (when), and a deleted account keeps only its id
-- (so the audit trail still names it): its email and password hash are
-- overwritten and `deleted_at` is set.
ALTER TABLE users ADD COLUMN email_verified_at BIGINT;
ALTER TABLE users ADD COLUMN disabled_at BIGINT;
ALTER TABLE users ADD COLUMN deleted_at BIGINT;

-- Single-use tokens of emailed links (password reset, email verification,
-- email change). Only the SHA-256 of a token is stored; consuming one deletes
-- its row, so it is spent exactly once. `email` is the address the link was
-- sent to (verification) or the address to change to (change).
CREATE TABLE one_time_tokens (
    token_hash BYTEA PRIMARY KEY,
    purpose    TEXT NOT NULL,
    user_id    TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    email      TEXT,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX one_time_tokens_by_user ON one_time_tokens(user_id, purpose);
CREATE INDEX one_time_tokens_by_expiry ON one_time_tokens(expires_at);
