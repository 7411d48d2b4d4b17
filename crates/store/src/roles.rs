//! The role traits: what Tessera keeps, one trait per kind of row, and the
//! [`Store`] that is all of them.
//!
//! A backend implements every role; a component that needs only one role
//! can take just that trait (`Arc<dyn Kv>` for the shared throttle). The
//! methods of all roles are callable on a `dyn Store` without importing the
//! role traits; generic code imports them with `use tessera_store::prelude::*`.

use crate::{
    AuditCount, AuditEvent, AuditFilter, AuditRecord, AuthCode, Client, CodeUse, Consent,
    KeyRecord, MfaChallenge, MfaFactor, NewUser, OneTimeToken, Passkey, PasskeyUse, Result,
    RevokedKeyRecord, Rotation, Session, User,
};
use async_trait::async_trait;
use std::sync::Arc;

/// Liveness of the backend (for readiness probes).
#[async_trait]
pub trait Health: Send + Sync {
    /// Answers when the database answers.
    async fn ping(&self) -> Result<()>;
}

/// User accounts.
#[async_trait]
pub trait UserStore: Send + Sync {
    /// Creates a user; `Conflict` if the email exists.
    async fn create_user(&self, user: &NewUser) -> Result<()>;
    /// Finds a user by normalised email.
    async fn user_by_email(&self, email: &str) -> Result<Option<User>>;
    /// Finds a user by id.
    async fn user_by_id(&self, id: &str) -> Result<Option<User>>;
    /// Lists users ordered by email, after the given email, at most `limit`.
    async fn list_users(&self, after_email: Option<&str>, limit: u32) -> Result<Vec<User>>;
    /// Like [`UserStore::list_users`], only emails that start with `prefix`.
    async fn search_users(
        &self,
        prefix: &str,
        after_email: Option<&str>,
        limit: u32,
    ) -> Result<Vec<User>>;
    /// How many accounts there are (deleted ones not counted).
    async fn count_users(&self) -> Result<i64>;
    /// Accounts with the `admin` role, and how many of them have a second
    /// factor (a confirmed TOTP or a passkey): `(admins, with_mfa)`.
    async fn count_admins_with_mfa(&self) -> Result<(i64, i64)>;
    /// Replaces a user's roles; false if there is no such user.
    async fn set_roles(&self, user_id: &str, roles: &[String]) -> Result<bool>;
    /// Replaces a user's password hash.
    async fn set_password_hash(&self, user_id: &str, hash: &str) -> Result<bool>;
    /// Inserts users in one transaction (all or none), skipping each whose
    /// email (or id) already exists: for each user, true if it was inserted.
    /// What `tessera users import` writes a batch with.
    async fn import_users(&self, users: &[NewUser]) -> Result<Vec<bool>>;
}

/// The account lifecycle: a user's verified, disabled and deleted states,
/// and the single-use tokens of emailed links (stored only as hashes).
#[async_trait]
pub trait Lifecycle: Send + Sync {
    /// Disables (`Some(at)`) or enables (`None`) a user; false if there is
    /// no such (undeleted) user.
    async fn set_disabled(&self, user_id: &str, at: Option<i64>) -> Result<bool>;
    /// Marks the user's email verified at `at`, only while it is still
    /// `email` (a link sent to an earlier address verifies nothing).
    async fn mark_email_verified(&self, user_id: &str, email: &str, at: i64) -> Result<bool>;
    /// Replaces the user's email with `new_email`, verified at `at`;
    /// `Conflict` if another account holds it.
    async fn change_email(&self, user_id: &str, new_email: &str, at: i64) -> Result<bool>;
    /// Deletes the user's personal data: the email (freed for a new
    /// registration) and password hash are overwritten, roles cleared, the
    /// row marked deleted at `at` (its id stays, for the audit trail), its
    /// tokens and passkeys dropped, its sessions' IP and user agent cleared. Sessions are
    /// left to the caller to revoke, so that they appear in the revocation
    /// feed. False if already gone.
    async fn delete_user_data(&self, user_id: &str, at: i64) -> Result<bool>;
    /// Revokes every live session of a user but `keep`; returns the ids
    /// revoked.
    async fn revoke_other_sessions(
        &self,
        user_id: &str,
        keep: &str,
        now: i64,
        reason: &str,
    ) -> Result<Vec<String>>;
    /// Stores a single-use token (by its hash).
    async fn insert_one_time_token(&self, token: &OneTimeToken) -> Result<()>;
    /// The unexpired token with this hash, without consuming it.
    async fn one_time_token(&self, hash: &[u8], now: i64) -> Result<Option<OneTimeToken>>;
    /// Consumes the unexpired token with this hash and purpose: of any
    /// number of concurrent calls, exactly one gets it.
    async fn consume_one_time_token(
        &self,
        hash: &[u8],
        purpose: &str,
        now: i64,
    ) -> Result<Option<OneTimeToken>>;
    /// Deletes a user's tokens of one purpose; returns how many.
    async fn delete_user_tokens(&self, user_id: &str, purpose: &str) -> Result<u64>;
    /// Deletes tokens that expired before `before`; returns how many.
    async fn purge_one_time_tokens(&self, before: i64) -> Result<u64>;
}

/// Sessions (refresh-token families), their rotation and revocation.
#[async_trait]
pub trait SessionStore: Send + Sync {
    /// Stores a new session.
    async fn create_session(&self, session: &Session) -> Result<()>;
    /// Finds a session by id.
    async fn session(&self, id: &str) -> Result<Option<Session>>;
    /// Finds a session and its user in one query (`None` for the user if the
    /// account is gone).
    async fn session_with_user(&self, id: &str) -> Result<Option<(Session, Option<User>)>>;
    /// Atomically replaces the current token hash if (and only if) the
    /// session is unrevoked and still at the expected generation and hash,
    /// and appends `rotation.audit` in the same transaction when it does.
    /// Returns whether this call won.
    async fn rotate_session(&self, rotation: &Rotation<'_>) -> Result<bool>;
    /// Revokes one session; false if it was already revoked or absent.
    async fn revoke_session(&self, id: &str, now: i64, reason: &str) -> Result<bool>;
    /// Revokes every live session of a user; returns the ids revoked.
    async fn revoke_user_sessions(
        &self,
        user_id: &str,
        now: i64,
        reason: &str,
    ) -> Result<Vec<String>>;
    /// The user's unrevoked, unexpired sessions, newest first.
    async fn live_sessions(&self, user_id: &str, now: i64) -> Result<Vec<Session>>;
    /// Counts unrevoked, unexpired sessions (for metrics).
    async fn count_live_sessions(&self, now: i64) -> Result<i64>;
    /// Deletes sessions that expired before `before`; returns how many.
    /// Sessions revoked at or after `before` stay, so that the revocation
    /// feed never loses a recent entry.
    async fn purge_sessions(&self, before: i64) -> Result<u64>;
    /// Sessions revoked at or after `from` as `(id, revoked_at)`, oldest
    /// first (ties by id), at most `limit` (the revocation feed).
    async fn revocations_since(&self, from: i64, limit: u32) -> Result<Vec<(String, i64)>>;
    /// Sessions revoked after the position `(revoked_at, id)`, in the same
    /// order, at most `limit`: the next page of the revocation feed (a
    /// keyset cursor, which moves on however many share one second).
    async fn revocations_after(&self, after: (i64, &str), limit: u32)
        -> Result<Vec<(String, i64)>>;
    /// How many sessions were revoked at or after `from`.
    async fn count_revocations_since(&self, from: i64) -> Result<u64>;
}

/// Signing keys (sealed by the caller).
#[async_trait]
pub trait KeyStore: Send + Sync {
    /// Adds a signing key.
    async fn insert_key(&self, key: &KeyRecord) -> Result<()>;
    /// All signing keys, oldest first.
    async fn keys(&self) -> Result<Vec<KeyRecord>>;
    /// Marks a key retired from signing at `at` (if not already).
    async fn retire_key(&self, kid: &str, at: i64) -> Result<()>;
    /// Deletes a key.
    async fn delete_key(&self, kid: &str) -> Result<()>;
    /// Revokes a key for good: records its kid as revoked at `at` (also
    /// when another instance has just deleted its row) and deletes it.
    /// False if the kid was already revoked.
    async fn revoke_key(&self, kid: &str, at: i64) -> Result<bool>;
    /// Revoked kids with their revocation time, oldest first.
    async fn revoked_keys(&self) -> Result<Vec<(String, i64)>>;
    /// Revoked keys with what is known of them, oldest revocation first.
    async fn revoked_key_records(&self) -> Result<Vec<RevokedKeyRecord>>;
}

/// OAuth clients, and the denylist of their session-less access tokens.
#[async_trait]
pub trait ClientStore: Send + Sync {
    /// Registers an OAuth client; `Conflict` if the id exists.
    async fn create_client(&self, client: &Client) -> Result<()>;
    /// Finds a client.
    async fn client(&self, id: &str) -> Result<Option<Client>>;
    /// All clients, by id.
    async fn clients(&self) -> Result<Vec<Client>>;
    /// Replaces a client's registration (not its id or creation time);
    /// false if there was none.
    async fn update_client(&self, client: &Client) -> Result<bool>;
    /// Deletes a client; false if absent.
    async fn delete_client(&self, id: &str) -> Result<bool>;
    /// Denylists a session-less access token until it expires.
    async fn revoke_token(&self, jti: &str, expires_at: i64) -> Result<()>;
    /// True if the token id is denylisted.
    async fn is_token_revoked(&self, jti: &str) -> Result<bool>;
    /// Denylisted token ids with their expiry, for tokens expiring at or
    /// after `from`, by expiry then id.
    async fn revoked_tokens(&self, from: i64) -> Result<Vec<(String, i64)>>;
    /// Drops denylist entries that expired before `before`.
    async fn purge_revoked_tokens(&self, before: i64) -> Result<u64>;
}

/// The audit log: entries never change, except the count of a repeated
/// one, and go when older than the retention.
#[async_trait]
pub trait AuditLog: Send + Sync {
    /// Appends a security event.
    async fn audit(&self, event: &AuditEvent) -> Result<()>;
    /// Records a repeatable event: a failed login (`login.failure`) with an
    /// entry of the same user and IP made at or after `since` makes the
    /// newest of them count one more (its `last_at` becomes `event.at`);
    /// anything else is appended.
    async fn audit_repeated(&self, event: &AuditEvent, since: i64) -> Result<()>;
    /// Deletes entries whose last occurrence is before `before`; returns
    /// how many.
    async fn purge_audit(&self, before: i64) -> Result<u64>;
    /// Reads audit events with id greater than `after`, oldest first.
    async fn audit_after(&self, after: i64, limit: u32) -> Result<Vec<AuditRecord>>;
    /// Reads the newest `limit` audit events with id less than `before`, newest first.
    async fn audit_before(&self, before: Option<i64>, limit: u32) -> Result<Vec<AuditRecord>>;
    /// The newest `limit` audit events that match `filter`, newest first.
    async fn audit_search(&self, filter: &AuditFilter, limit: u32) -> Result<Vec<AuditRecord>>;
    /// Counts of events at or after `from` and before `to`, by event, by
    /// whether they had an actor, and by hour counted back from `to`.
    async fn audit_counts(&self, from: i64, to: i64) -> Result<Vec<AuditCount>>;
}

/// Named leases, so that one instance of several runs a periodic job.
#[async_trait]
pub trait Leases: Send + Sync {
    /// Takes (or renews) the lease `name` for `holder` until `now + ttl`, if it
    /// is free, expired, or already held by `holder`. True if held now.
    async fn try_lease(&self, name: &str, holder: &str, now: i64, ttl: i64) -> Result<bool>;
}

/// A versioned key-value with compare-and-swap and expiry, for state that
/// several instances must agree on (the shared throttle): in the database
/// (every [`Store`]) or in Redis ([`crate::RedisKv`], feature `redis`).
///
/// Times are in the caller's unit (milliseconds for throttling).
#[async_trait]
pub trait Kv: Send + Sync {
    /// The value and its version, if present and unexpired.
    async fn kv_get(&self, key: &str, now: i64) -> Result<Option<(Vec<u8>, i64)>>;
    /// Writes if the version is still `expected` (`None`: if absent or
    /// expired). True if this write won.
    async fn kv_put(
        &self,
        key: &str,
        expected: Option<i64>,
        value: &[u8],
        expires_at: i64,
        now: i64,
    ) -> Result<bool>;
    /// Deletes a key.
    async fn kv_delete(&self, key: &str) -> Result<()>;
    /// Deletes expired values; returns how many (0 where the backend
    /// expires values by itself).
    async fn kv_purge(&self, now: i64) -> Result<u64>;
}

/// OpenID Connect: authorization codes and remembered consent.
#[async_trait]
pub trait OidcStore: Send + Sync {
    /// Stores a new authorization code.
    async fn insert_code(&self, code: &AuthCode) -> Result<()>;
    /// Marks the code with this hash used at `now`: of any number of
    /// concurrent calls, exactly one gets [`CodeUse::Fresh`]; the others, and
    /// every later call, get [`CodeUse::Replayed`]. Expiry is the caller's.
    /// The fresh use also records `session_id` (the session the code is
    /// about to be exchanged for), in the same statement.
    async fn use_code(&self, hash: &[u8], now: i64, session_id: Option<&str>) -> Result<CodeUse>;
    /// Records the session a used code was exchanged for.
    async fn set_code_session(&self, hash: &[u8], session_id: &str) -> Result<()>;
    /// Deletes codes that expired before `before`; returns how many.
    async fn purge_codes(&self, before: i64) -> Result<u64>;
    /// Remembers that a user let a client have these scopes.
    async fn grant_consent(
        &self,
        user_id: &str,
        client_id: &str,
        scopes: &[String],
        at: i64,
    ) -> Result<()>;
    /// A user's remembered consents, by client then scope.
    async fn consents(&self, user_id: &str) -> Result<Vec<Consent>>;
    /// Forgets a user's consents to one client; returns how many.
    async fn revoke_consent(&self, user_id: &str, client_id: &str) -> Result<u64>;
}

/// Passkeys (WebAuthn credentials), issue 17.
#[async_trait]
pub trait PasskeyStore: Send + Sync {
    /// Stores a new passkey; `Conflict` if its credential id is registered
    /// (to anyone).
    async fn insert_passkey(&self, passkey: &Passkey) -> Result<()>;
    /// A user's passkeys, oldest first.
    async fn passkeys(&self, user_id: &str) -> Result<Vec<Passkey>>;
    /// The passkey with this credential id, whoever's it is.
    async fn passkey_by_credential(&self, credential_id: &[u8]) -> Result<Option<Passkey>>;
    /// Records a use: new counter, flags and credential data, `last_used_at`.
    /// False if the passkey is gone.
    async fn record_passkey_use(&self, update: &PasskeyUse<'_>) -> Result<bool>;
    /// Deletes one of a user's passkeys; false if the user has none by that id.
    async fn delete_passkey(&self, user_id: &str, id: &str) -> Result<bool>;
}

/// Multi-factor authentication: second factors, recovery codes (hashes
/// only) and the pending second steps of logins (`mfa_token` hashes).
#[async_trait]
pub trait MfaStore: Send + Sync {
    /// Adds a factor, or replaces one of the same user, kind and id that is
    /// not confirmed yet; false if a confirmed one is there.
    async fn put_factor(&self, factor: &MfaFactor) -> Result<bool>;
    /// A user's factors (confirmed or not), by kind then id.
    async fn factors(&self, user_id: &str) -> Result<Vec<MfaFactor>>;
    /// Confirms a pending factor and moves its counter to `counter`; false
    /// if there is none, or it is confirmed already.
    async fn confirm_factor(
        &self,
        user_id: &str,
        kind: &str,
        id: &str,
        counter: i64,
        at: i64,
    ) -> Result<bool>;
    /// Moves a factor's counter forward to `counter`: of concurrent calls
    /// with the same value, exactly one gets true; false if the counter is
    /// already at or past it (a replayed TOTP step).
    async fn advance_factor(
        &self,
        user_id: &str,
        kind: &str,
        id: &str,
        counter: i64,
    ) -> Result<bool>;
    /// Deletes a user's factors of `kind` (every kind with `None`); returns
    /// how many.
    async fn delete_factors(&self, user_id: &str, kind: Option<&str>) -> Result<u64>;
    /// Replaces a user's recovery codes with these hashes (none: deletes them).
    async fn set_recovery_codes(&self, user_id: &str, hashes: &[Vec<u8>], at: i64) -> Result<()>;
    /// The hashes of a user's unused recovery codes.
    async fn unused_recovery_codes(&self, user_id: &str) -> Result<Vec<Vec<u8>>>;
    /// Marks one recovery code used: exactly one of concurrent calls gets true.
    async fn use_recovery_code(&self, user_id: &str, hash: &[u8], at: i64) -> Result<bool>;
    /// Stores a new pending second step.
    async fn insert_mfa_challenge(&self, challenge: &MfaChallenge) -> Result<()>;
    /// The pending second step with this token hash, spent or not.
    async fn mfa_challenge(&self, hash: &[u8]) -> Result<Option<MfaChallenge>>;
    /// Spends it: exactly one of concurrent calls gets true.
    async fn spend_mfa_challenge(&self, hash: &[u8], at: i64) -> Result<bool>;
    /// Deletes those that expired before `before`; returns how many.
    async fn purge_mfa_challenges(&self, before: i64) -> Result<u64>;
}

/// Everything Tessera keeps: every role, from one backend. Implemented for
/// every type that implements all the roles; `Arc<dyn Store>` is how the
/// layers above hold it.
pub trait Store:
    Health
    + UserStore
    + SessionStore
    + Lifecycle
    + KeyStore
    + ClientStore
    + OidcStore
    + PasskeyStore
    + MfaStore
    + AuditLog
    + Leases
    + Kv
    + 'static
{
    /// This store as its [`Kv`] role (the shared throttle in the database).
    fn into_kv(self: Arc<Self>) -> Arc<dyn Kv>;
}

impl<T> Store for T
where
    T: Health + UserStore + SessionStore + Lifecycle + KeyStore + ClientStore + AuditLog,
    T: Leases + Kv + OidcStore + MfaStore + PasskeyStore,
    T: 'static,
{
    fn into_kv(self: Arc<Self>) -> Arc<dyn Kv> {
        self
    }
}
