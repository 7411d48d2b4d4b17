-- Issue 19 (DPoP, RFC 9449): the thumbprint of the key a session's refresh
-- token is bound to (NULL: not bound), and the per-client policy that token
-- requests must carry a DPoP proof.
ALTER TABLE sessions ADD COLUMN dpop_jkt TEXT;
ALTER TABLE clients ADD COLUMN require_dpop BIGINT NOT NULL DEFAULT 0;
