//! The settings the rules depend on.

use std::time::Duration;
use tessera_jose::Algorithm;
use zeroize::Zeroizing;

/// The shared secrets of the HS256/384/512 mode (`signing_alg = "HS256"`):
/// they come from configuration, never from the key store, and are never
/// generated. `Debug` hides them.
#[derive(Clone, Default)]
pub struct SharedSecrets {
    /// Signs new access tokens (and verifies them).
    pub current: Zeroizing<Vec<u8>>,
    /// Earlier secrets that still verify during a rotation.
    pub previous: Vec<Zeroizing<Vec<u8>>>,
}

/// Encrypted access tokens (nested JWTs): signed as always, then encrypted
/// to `key`'s public half with `enc`. The server holds the private key so
/// that its own Bearer checks, introspection and revocation can read them.
#[derive(Clone, Debug)]
pub struct TokenEncryption {
    /// The key access tokens are encrypted to (and decrypted with).
    pub key: std::sync::Arc<tessera_jose::jwe::DecryptionKey>,
    /// The content encryption (`A256GCM` by default).
    pub enc: tessera_jose::jwe::ContentAlgorithm,
}

impl std::fmt::Debug for SharedSecrets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SharedSecrets")
            .field("previous", &self.previous.len())
            .finish_non_exhaustive()
    }
}

/// Argon2id cost parameters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Argon2Params {
    /// Memory in KiB (OWASP: 19456).
    pub memory_kib: u32,
    /// Iterations (OWASP: 2).
    pub iterations: u32,
    /// Lanes (OWASP: 1).
    pub parallelism: u32,
}

impl Default for Argon2Params {
    fn default() -> Self {
        Argon2Params {
            memory_kib: 19_456,
            iterations: 2,
            parallelism: 1,
        }
    }
}

/// Everything `tessera-core` needs to know about policy.
#[derive(Debug, Clone)]
pub struct AuthConfig {
    /// `iss` of every token.
    pub issuer: String,
    /// `aud` of access tokens.
    pub audience: String,
    /// Access-token lifetime.
    pub access_token_ttl: Duration,
    /// Absolute refresh (session) lifetime.
    pub refresh_token_ttl: Duration,
    /// Idle refresh lifetime (extended by each refresh).
    pub refresh_idle_ttl: Duration,
    /// Window in which the parent of the current refresh token gets the same
    /// successor back; zero disables it.
    pub refresh_reuse_grace: Duration,
    /// Clock-skew allowance when validating tokens.
    pub leeway: Duration,
    /// Algorithm of generated signing keys; an HMAC algorithm selects the
    /// shared-secret mode, which needs `hs_secrets`.
    pub signing_alg: Algorithm,
    /// The shared secrets of the HMAC mode; ignored otherwise.
    pub hs_secrets: Option<SharedSecrets>,
    /// Encrypt access tokens (nested JWTs); `None`: plain JWS.
    pub access_token_encryption: Option<TokenEncryption>,
    /// Automatic key rotation period; zero disables it.
    pub key_rotation_interval: Duration,
    /// How long a new key is published before it signs (at least the JWKS cache lifetime).
    pub key_publish_lead: Duration,
    /// Whether anyone may register.
    pub registration_open: bool,
    /// Password hashing cost.
    pub argon2: Argon2Params,
    /// How many password hashes may run at once.
    pub argon2_workers: usize,
    /// How long a positive session-liveness answer may be reused by this
    /// process's Bearer checks (revocations made by this process apply at
    /// once; those made by other processes within this time). Zero: ask the
    /// store on every request.
    pub session_cache_ttl: Duration,
    /// How long a client registration read from the store may be reused to
    /// authenticate the client (changes made by this process apply at
    /// once; those made by other processes or the CLI within this time).
    /// Zero: read the store on every request.
    pub client_cache_ttl: Duration,
    /// How long audit entries are kept after their last occurrence; zero
    /// keeps them forever.
    pub audit_retention: Duration,
    /// Login answers 403 `email_not_verified` (after a correct password)
    /// until the user has verified their email.
    pub require_verified_email: bool,
    /// How long a password-reset link works.
    pub password_reset_ttl: Duration,
    /// The page a reset link opens (`?token=…` is appended); `None`:
    /// Tessera's own `/account/reset` under the issuer.
    pub password_reset_url: Option<String>,
    /// The page a verification (or email-change) link opens; `None`:
    /// Tessera's own `/account/verify` under the issuer.
    pub email_verify_url: Option<String>,
    /// How DPoP proofs (RFC 9449) are checked.
    pub dpop: DpopPolicy,
    /// The WebAuthn relying party of passkeys (issue 17).
    pub webauthn: WebauthnPolicy,
    /// Multi-factor authentication.
    pub mfa: MfaPolicy,
}

/// The WebAuthn relying party: whose passkeys this server accepts.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WebauthnPolicy {
    /// The RP ID (a domain); `None`: the issuer's host.
    pub rp_id: Option<String>,
    /// The origins (`scheme://host[:port]`) ceremonies may come from; empty:
    /// the issuer's origin.
    pub origins: Vec<String>,
    /// The name authenticators may show.
    pub rp_name: String,
}

/// Multi-factor authentication policy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MfaPolicy {
    /// Every user must enrol a second factor (at their next login).
    pub required: bool,
    /// Users holding any of these roles must enrol a second factor.
    pub required_roles: Vec<String>,
    /// How long an `mfa_token` (the pending second step of a login) works.
    pub token_ttl: Duration,
    /// How recent an access token's `auth_time` must be for changes to the
    /// factors without `current_password`.
    pub recent_auth: Duration,
}

impl Default for MfaPolicy {
    fn default() -> Self {
        MfaPolicy {
            required: false,
            required_roles: Vec::new(),
            token_ttl: Duration::from_secs(300),
            recent_auth: Duration::from_secs(600),
        }
    }
}

/// How DPoP proofs are checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DpopPolicy {
    /// How old a proof's `iat` may be; a proof from the future is accepted
    /// up to `leeway`. Its `jti` is remembered for this window plus `leeway`.
    pub iat_window: Duration,
    /// Require server nonces (RFC 9449 §8): a proof without the current
    /// nonce is answered with `use_dpop_nonce` and a `DPoP-Nonce` header.
    pub nonce: bool,
}

impl Default for DpopPolicy {
    fn default() -> Self {
        DpopPolicy {
            iat_window: Duration::from_secs(60),
            nonce: false,
        }
    }
}

impl Default for AuthConfig {
    fn default() -> Self {
        AuthConfig {
            issuer: "http://127.0.0.1:8080".into(),
            audience: "tessera".into(),
            access_token_ttl: Duration::from_secs(15 * 60),
            refresh_token_ttl: Duration::from_secs(30 * 24 * 3600),
            refresh_idle_ttl: Duration::from_secs(7 * 24 * 3600),
            refresh_reuse_grace: Duration::from_secs(10),
            leeway: Duration::from_secs(30),
            signing_alg: Algorithm::ES256,
            hs_secrets: None,
            access_token_encryption: None,
            key_rotation_interval: Duration::from_secs(30 * 24 * 3600),
            key_publish_lead: Duration::from_secs(300),
            registration_open: true,
            argon2: Argon2Params::default(),
            argon2_workers: 2,
            session_cache_ttl: Duration::from_secs(1),
            client_cache_ttl: Duration::from_secs(1),
            audit_retention: Duration::from_secs(90 * 24 * 3600),
            require_verified_email: false,
            password_reset_ttl: Duration::from_secs(30 * 60),
            password_reset_url: None,
            email_verify_url: None,
            dpop: DpopPolicy::default(),
            webauthn: WebauthnPolicy::default(),
            mfa: MfaPolicy::default(),
        }
    }
}

pub(crate) fn secs(d: Duration) -> i64 {
    i64::try_from(d.as_secs()).unwrap_or(i64::MAX)
}
