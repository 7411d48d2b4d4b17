-- Issue 14: the OAuth client a session was issued to (NULL: Tessera's own
-- API), so only that client may refresh, revoke or introspect its tokens;
-- and a fingerprint (SHA-256) of the client that made the last rotation, so
-- a grace-window replay is honoured only from that client.
ALTER TABLE sessions ADD COLUMN client_id TEXT;
ALTER TABLE sessions ADD COLUMN rotated_by BYTEA;
