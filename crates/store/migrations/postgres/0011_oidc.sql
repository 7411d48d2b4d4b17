-- Issue 16, the OpenID Connect provider.
-- A client's registration for the authorization code flow: its exact
-- redirect URIs and post-logout redirect URIs (JSON arrays), whether it is
-- public (no secret, PKCE required), first-party (no consent page), and the
-- algorithm of its ID tokens (NULL: RS256).
ALTER TABLE clients ADD COLUMN redirect_uris TEXT NOT NULL DEFAULT '[]';
ALTER TABLE clients ADD COLUMN post_logout_redirect_uris TEXT NOT NULL DEFAULT '[]';
ALTER TABLE clients ADD COLUMN public_client BIGINT NOT NULL DEFAULT 0;
ALTER TABLE clients ADD COLUMN first_party BIGINT NOT NULL DEFAULT 0;
ALTER TABLE clients ADD COLUMN id_token_alg TEXT;

-- The scope a client's session was granted (NULL: Tessera's own API and the
-- password grant), so refreshed access tokens keep it; and the SSO session
-- it was issued from (the authorization code flow), so logging out of the
-- SSO session ends the sessions of every client it signed in.
ALTER TABLE sessions ADD COLUMN scope TEXT;
ALTER TABLE sessions ADD COLUMN sso_id TEXT;

-- Authorization codes, by the SHA-256 of the code. A code is marked used
-- (not deleted) so that a replay is recognised and revokes the session it
-- was exchanged for (RFC 6749 §4.1.2). `data` is the request (JSON, opaque
-- to the store).
CREATE TABLE auth_codes (
    code_hash  BYTEA PRIMARY KEY,
    client_id  TEXT NOT NULL,
    user_id    TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    data       TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    used_at    BIGINT,
    session_id TEXT
);
CREATE INDEX auth_codes_by_expiry ON auth_codes(expires_at);

-- Consent, remembered per user, client and scope.
CREATE TABLE consents (
    user_id    TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    client_id  TEXT NOT NULL,
    scope      TEXT NOT NULL,
    granted_at BIGINT NOT NULL,
    PRIMARY KEY (user_id, client_id, scope)
);
