//! The rows the store keeps and the arguments of its atomic operations.

use std::fmt;

/// A user account. `Debug` omits the password hash.
#[derive(Clone, PartialEq, Eq)]
pub struct User {
    /// Opaque id (the `sub` of its tokens).
    pub id: String,
    /// Normalised email.
    pub email: String,
    /// PHC-format password hash.
    pub password_hash: String,
    /// Roles, in order.
    pub roles: Vec<String>,
    /// Creation time.
    pub created_at: i64,
    /// When the email was verified (the link in the verification mail was
    /// used); `None`: not verified.
    pub email_verified_at: Option<i64>,
    /// When an operator disabled the account; `None`: enabled.
    pub disabled_at: Option<i64>,
    /// When the user last started a session (kept by the store itself on
    /// every new session; ignored when creating a user).
    pub last_login_at: Option<i64>,
}

impl User {
    /// True once the user has proved they read mail at `email`.
    pub fn email_verified(&self) -> bool {
        self.email_verified_at.is_some()
    }

    /// True while an operator has the account disabled.
    pub fn disabled(&self) -> bool {
        self.disabled_at.is_some()
    }
}

/// A single-use token of an emailed link (password reset, email
/// verification, email change). Only its SHA-256 is kept; `Debug` omits it.
#[derive(Clone, PartialEq, Eq)]
pub struct OneTimeToken {
    /// SHA-256 of the token (the token itself is never stored).
    pub token_hash: Vec<u8>,
    /// What it may be used for, e.g. `password_reset`.
    pub purpose: String,
    /// Whose it is.
    pub user_id: String,
    /// The address it was sent to (verification) or to change to (change).
    pub email: Option<String>,
    /// Issue time.
    pub created_at: i64,
    /// Expiry (exclusive).
    pub expires_at: i64,
}

impl fmt::Debug for OneTimeToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OneTimeToken")
            .field("purpose", &self.purpose)
            .field("user_id", &self.user_id)
            .field("created_at", &self.created_at)
            .field("expires_at", &self.expires_at)
            .finish_non_exhaustive()
    }
}

/// A user to create.
pub type NewUser = User;

/// A session: one refresh-token family. `Debug` omits the token hash.
#[derive(Clone, PartialEq, Eq)]
pub struct Session {
    /// Opaque id (the `sid` of its tokens).
    pub id: String,
    /// Owner.
    pub user_id: String,
    /// Login time.
    pub created_at: i64,
    /// Last refresh.
    pub last_used_at: i64,
    /// Absolute expiry.
    pub expires_at: i64,
    /// Idle expiry (moves forward on each refresh).
    pub idle_expires_at: i64,
    /// When it was revoked, if it was.
    pub revoked_at: Option<i64>,
    /// Why it was revoked.
    pub revoked_reason: Option<String>,
    /// User agent at login.
    pub user_agent: Option<String>,
    /// Client IP at login.
    pub ip: Option<String>,
    /// Rotation counter of the current refresh token (0 at login).
    pub generation: i64,
    /// SHA-256 of the current refresh token.
    pub token_hash: Vec<u8>,
    /// When the current token replaced its parent.
    pub rotated_at: Option<i64>,
    /// The OAuth client the session was issued to (`None`: Tessera's own API).
    pub client_id: Option<String>,
    /// Fingerprint (SHA-256) of the client that made the last rotation.
    pub rotated_by: Option<Vec<u8>>,
    /// The RFC 7638 thumbprint of the DPoP key the refresh token is bound
    /// to (RFC 9449 §5); `None`: not bound.
    pub dpop_jkt: Option<String>,
    /// The scope granted to the session's client (authorization code flow).
    pub scope: Option<String>,
    /// The SSO session it was issued from (authorization code flow).
    pub sso_id: Option<String>,
}

impl fmt::Debug for User {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("User")
            .field("id", &self.id)
            .field("email", &self.email)
            .field("roles", &self.roles)
            .field("created_at", &self.created_at)
            .field("email_verified_at", &self.email_verified_at)
            .field("disabled_at", &self.disabled_at)
            .field("last_login_at", &self.last_login_at)
            .finish_non_exhaustive()
    }
}

impl fmt::Debug for Session {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Session")
            .field("id", &self.id)
            .field("user_id", &self.user_id)
            .field("created_at", &self.created_at)
            .field("last_used_at", &self.last_used_at)
            .field("expires_at", &self.expires_at)
            .field("idle_expires_at", &self.idle_expires_at)
            .field("revoked_at", &self.revoked_at)
            .field("revoked_reason", &self.revoked_reason)
            .field("generation", &self.generation)
            .field("rotated_at", &self.rotated_at)
            .finish_non_exhaustive()
    }
}

impl Session {
    /// True if not revoked and neither expiry has passed at `now`.
    pub fn is_live(&self, now: i64) -> bool {
        self.revoked_at.is_none() && now < self.expires_at && now < self.idle_expires_at
    }
}

/// The compare-and-swap of one refresh rotation.
#[derive(Debug, Clone)]
pub struct Rotation<'a> {
    /// Session id.
    pub session_id: &'a str,
    /// The generation the caller saw.
    pub expected_generation: i64,
    /// The token hash the caller saw.
    pub expected_hash: &'a [u8],
    /// The successor's hash.
    pub new_hash: &'a [u8],
    /// Time of the rotation.
    pub now: i64,
    /// New idle expiry.
    pub idle_expires_at: i64,
    /// Fingerprint of the rotating client (see [`Session::rotated_by`]).
    pub rotated_by: Option<&'a [u8]>,
    /// An audit event committed in the same transaction, only if the
    /// rotation wins (one commit per refresh instead of two).
    pub audit: Option<&'a AuditEvent>,
}

/// A signing key row. The private key is sealed by the caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyRecord {
    /// Key id.
    pub kid: String,
    /// JOSE algorithm name.
    pub alg: String,
    /// Sealed private key (opaque to the store).
    pub sealed_key: Vec<u8>,
    /// Public JWK JSON.
    pub public_jwk: String,
    /// Creation (publication) time.
    pub created_at: i64,
    /// From when it may sign.
    pub activates_at: i64,
    /// When a newer key took over signing.
    pub retired_at: Option<i64>,
}

/// A registered OAuth client.
#[derive(Clone, PartialEq, Eq)]
pub struct Client {
    /// Client id.
    pub id: String,
    /// Keyed hash of the secret (opaque to the store).
    pub secret_hash: Vec<u8>,
    /// Scopes it may request.
    pub scopes: Vec<String>,
    /// Grant types it may use.
    pub grants: Vec<String>,
    /// Creation time.
    pub created_at: i64,
    /// Token requests must carry a DPoP proof (RFC 9449).
    pub require_dpop: bool,
    /// Redirect URIs (exact match) of the authorization code flow.
    pub redirect_uris: Vec<String>,
    /// Where RP-initiated logout may send the browser back to.
    pub post_logout_redirect_uris: Vec<String>,
    /// A public client: no secret, PKCE required.
    pub public: bool,
    /// A first-party client: no consent page.
    pub first_party: bool,
    /// The JWS algorithm of its ID tokens (`None`: RS256).
    pub id_token_alg: Option<String>,
    /// `id_token_encrypted_response_alg` (`None`: ID tokens are not encrypted).
    pub id_token_enc_alg: Option<String>,
    /// `id_token_encrypted_response_enc`.
    pub id_token_enc_enc: Option<String>,
    /// The client's public keys (a JWKS, JSON text).
    pub jwks: Option<String>,
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client")
            .field("id", &self.id)
            .field("scopes", &self.scopes)
            .field("grants", &self.grants)
            .field("require_dpop", &self.require_dpop)
            .field("redirect_uris", &self.redirect_uris)
            .field("public", &self.public)
            .field("first_party", &self.first_party)
            .finish_non_exhaustive()
    }
}

/// A security event to append to the audit log.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuditEvent {
    /// Time.
    pub at: i64,
    /// Event name, e.g. `login.success`.
    pub event: String,
    /// User, if known.
    pub user_id: Option<String>,
    /// Session, if any.
    pub session_id: Option<String>,
    /// Client IP.
    pub ip: Option<String>,
    /// User agent.
    pub user_agent: Option<String>,
    /// Free-form detail (never a secret).
    pub detail: Option<String>,
    /// Who did it, for an administrative action (an admin's user id, or
    /// `cli:<os user>`).
    pub actor: Option<String>,
    /// The OAuth client it concerns (the caller, or the target).
    pub client_id: Option<String>,
}

/// Which audit events to read ([`crate::AuditLog::audit_search`]): every
/// `Some` must match. Newest first, by id.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuditFilter {
    /// Only ids below this (the paging cursor).
    pub before: Option<i64>,
    /// Only this event name.
    pub event: Option<String>,
    /// Only this user.
    pub user_id: Option<String>,
    /// Only this client.
    pub client_id: Option<String>,
    /// Only this actor.
    pub actor: Option<String>,
    /// Only at or after this time.
    pub since: Option<i64>,
    /// Only before this time.
    pub until: Option<i64>,
}

/// How many times one event happened in one hour (the overview's counts).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditCount {
    /// Event name.
    pub event: String,
    /// Whether the rows had an actor (administrative actions).
    pub by_actor: bool,
    /// Hours before the end of the range: 0 is the last hour.
    pub hours_ago: i64,
    /// How many (repeats included).
    pub count: i64,
}

/// A revoked signing key: its kid and revocation time, and what it was
/// (unknown for keys revoked before migration 15).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RevokedKeyRecord {
    /// Key id.
    pub kid: String,
    /// When it was revoked.
    pub revoked_at: i64,
    /// Its algorithm.
    pub alg: Option<String>,
    /// When it was created.
    pub created_at: Option<i64>,
    /// When it could sign from.
    pub activates_at: Option<i64>,
}

/// An audit event as stored, with its sequence number.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditRecord {
    /// Monotonic id (the paging cursor).
    pub id: i64,
    /// The event (its first occurrence, for a repeated one).
    pub event: AuditEvent,
    /// How many times it happened (1, or more for aggregated failures).
    pub count: i64,
    /// The last occurrence, when `count` is above 1.
    pub last_at: Option<i64>,
}

/// An authorization code, stored by the SHA-256 of the code. `Debug` omits
/// the hash.
#[derive(Clone, PartialEq, Eq)]
pub struct AuthCode {
    /// SHA-256 of the code.
    pub code_hash: Vec<u8>,
    /// The client it was issued to.
    pub client_id: String,
    /// The user who authorized it.
    pub user_id: String,
    /// The authorization request it answers (JSON, opaque to the store).
    pub data: String,
    /// Issue time.
    pub created_at: i64,
    /// Expiry (exclusive).
    pub expires_at: i64,
    /// When it was exchanged, if it was.
    pub used_at: Option<i64>,
    /// The session it was exchanged for.
    pub session_id: Option<String>,
}

impl fmt::Debug for AuthCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AuthCode")
            .field("client_id", &self.client_id)
            .field("user_id", &self.user_id)
            .field("expires_at", &self.expires_at)
            .field("used_at", &self.used_at)
            .field("session_id", &self.session_id)
            .finish_non_exhaustive()
    }
}

/// What exchanging a code found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CodeUse {
    /// No such code.
    Unknown,
    /// The code, now marked used by this call.
    Fresh(AuthCode),
    /// The code had been used before (a replay).
    Replayed(AuthCode),
}

/// One remembered consent: a user let a client have a scope.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Consent {
    /// The user.
    pub user_id: String,
    /// The client.
    pub client_id: String,
    /// The scope.
    pub scope: String,
    /// When.
    pub granted_at: i64,
}
