-- Signing keys revoked by an operator (a suspected compromise). A kid listed
-- here is never loaded, published or trusted again, whatever signing_keys
-- still holds.
CREATE TABLE revoked_keys (
    kid        TEXT PRIMARY KEY,
    revoked_at INTEGER NOT NULL
);
