-- Issue 18: encrypted ID tokens (OIDC Registration §2). The client's
-- id_token_encrypted_response_alg and _enc (NULL: ID tokens are only
-- signed), and its public encryption keys as a JWKS (JSON text).
ALTER TABLE clients ADD COLUMN id_token_encrypted_response_alg TEXT;
ALTER TABLE clients ADD COLUMN id_token_encrypted_response_enc TEXT;
ALTER TABLE clients ADD COLUMN jwks TEXT;
