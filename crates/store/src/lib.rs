//! # tessera-store
//!
//! The storage traits of Tessera and their embedded SQLite backend.
//!
//! The rules (what a refresh means, when a session dies) live in
//! `tessera-core`; this crate only keeps rows and offers the atomic
//! operations those rules need, above all [`Store::rotate_session`], a
//! compare-and-swap on a session's current refresh-token hash.
//!
//! Times are whole seconds since the Unix epoch, passed in by the caller: this
//! crate never reads a clock.
//!
//! ```
//! # tokio_test_block_on(async {
//! use tessera_store::{open, NewUser, Store};
//! let dir = tempfile::tempdir().unwrap();
//! let store = open(None, dir.path()).await?;
//! store.create_user(&NewUser {
//!     id: "u1".into(), email: "ada@example.com".into(),
//!     password_hash: "$argon2id$...".into(), roles: vec![], created_at: 1_700_000_000,
//! }).await?;
//! let user = store.user_by_email("ada@example.com").await?.expect("created");
//! assert_eq!(user.id, "u1");
//! # Ok::<(), tessera_store::StoreError>(())
//! # });
//! # fn tokio_test_block_on<F: std::future::Future>(f: F) -> F::Output {
//! #     tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(f)
//! # }
//! ```
#![forbid(unsafe_code)]

mod kv;
mod postgres;
mod sqlite;

#[cfg(feature = "test-support")]
pub mod testing;

pub use kv::{Kv, RedisKv, StoreKv};
pub use postgres::{PgPoolSettings, PgStore};
pub use sqlite::SqliteStore;

use async_trait::async_trait;
use std::fmt;
use std::path::Path;
use std::sync::Arc;

/// Why a storage operation failed. Messages never contain secrets.
#[non_exhaustive]
#[derive(Debug)]
pub enum StoreError {
    /// A unique constraint was violated (for example a duplicate email).
    Conflict,
    /// The database cannot be reached or is overloaded; retrying may help.
    Unavailable(String),
    /// Anything else the backend reported.
    Backend(String),
}

impl fmt::Display for StoreError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StoreError::Conflict => f.write_str("conflict with an existing row"),
            StoreError::Unavailable(m) => write!(f, "database unavailable: {m}"),
            StoreError::Backend(m) => write!(f, "database error: {m}"),
        }
    }
}

impl std::error::Error for StoreError {}

/// Shorthand result type.
pub type Result<T, E = StoreError> = std::result::Result<T, E>;

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
}

impl fmt::Debug for User {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("User")
            .field("id", &self.id)
            .field("email", &self.email)
            .field("roles", &self.roles)
            .field("created_at", &self.created_at)
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
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client")
            .field("id", &self.id)
            .field("scopes", &self.scopes)
            .field("grants", &self.grants)
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
}

/// An audit event as stored, with its sequence number.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditRecord {
    /// Monotonic id (the paging cursor).
    pub id: i64,
    /// The event.
    pub event: AuditEvent,
}

/// What Tessera keeps, and the atomic operations its rules need.
#[async_trait]
pub trait Store: Send + Sync + 'static {
    /// Answers when the database answers (for readiness).
    async fn ping(&self) -> Result<()>;

    /// Creates a user; `Conflict` if the email exists.
    async fn create_user(&self, user: &NewUser) -> Result<()>;
    /// Finds a user by normalised email.
    async fn user_by_email(&self, email: &str) -> Result<Option<User>>;
    /// Finds a user by id.
    async fn user_by_id(&self, id: &str) -> Result<Option<User>>;
    /// Lists users ordered by email, after the given email, at most `limit`.
    async fn list_users(&self, after_email: Option<&str>, limit: u32) -> Result<Vec<User>>;
    /// Replaces a user's roles; false if there is no such user.
    async fn set_roles(&self, user_id: &str, roles: &[String]) -> Result<bool>;
    /// Replaces a user's password hash.
    async fn set_password_hash(&self, user_id: &str, hash: &str) -> Result<bool>;

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
    /// How many sessions were revoked at or after `from`.
    async fn count_revocations_since(&self, from: i64) -> Result<u64>;

    /// Adds a signing key.
    async fn insert_key(&self, key: &KeyRecord) -> Result<()>;
    /// All signing keys, oldest first.
    async fn keys(&self) -> Result<Vec<KeyRecord>>;
    /// Marks a key retired from signing at `at` (if not already).
    async fn retire_key(&self, kid: &str, at: i64) -> Result<()>;
    /// Deletes a key.
    async fn delete_key(&self, kid: &str) -> Result<()>;

    /// Registers an OAuth client; `Conflict` if the id exists.
    async fn create_client(&self, client: &Client) -> Result<()>;
    /// Finds a client.
    async fn client(&self, id: &str) -> Result<Option<Client>>;
    /// All clients, by id.
    async fn clients(&self) -> Result<Vec<Client>>;
    /// Deletes a client; false if absent.
    async fn delete_client(&self, id: &str) -> Result<bool>;
    /// Denylists a session-less access token until it expires.
    async fn revoke_token(&self, jti: &str, expires_at: i64) -> Result<()>;
    /// True if the token id is denylisted.
    async fn is_token_revoked(&self, jti: &str) -> Result<bool>;
    /// Drops denylist entries that expired before `before`.
    async fn purge_revoked_tokens(&self, before: i64) -> Result<u64>;

    /// Takes (or renews) the lease `name` for `holder` until `now + ttl`, if it
    /// is free, expired, or already held by `holder`. True if held now.
    async fn try_lease(&self, name: &str, holder: &str, now: i64, ttl: i64) -> Result<bool>;

    /// Reads a shared value and its version, if present and unexpired
    /// (`now` and `expires_at` in the caller's unit, milliseconds for throttling).
    async fn kv_get(&self, key: &str, now: i64) -> Result<Option<(Vec<u8>, i64)>>;
    /// Writes a shared value if its version is still `expected` (`None`: if
    /// absent or expired). True if this write won.
    async fn kv_put(
        &self,
        key: &str,
        expected: Option<i64>,
        value: &[u8],
        expires_at: i64,
        now: i64,
    ) -> Result<bool>;
    /// Deletes a shared value.
    async fn kv_delete(&self, key: &str) -> Result<()>;
    /// Deletes expired shared values.
    async fn kv_purge(&self, now: i64) -> Result<u64>;

    /// Appends a security event.
    async fn audit(&self, event: &AuditEvent) -> Result<()>;
    /// Reads audit events with id greater than `after`, oldest first.
    async fn audit_after(&self, after: i64, limit: u32) -> Result<Vec<AuditRecord>>;
    /// Reads the newest `limit` audit events with id less than `before`, newest first.
    async fn audit_before(&self, before: Option<i64>, limit: u32) -> Result<Vec<AuditRecord>>;
}

/// Opens the store: `database_url` if given (`sqlite:` or `postgres:` URLs),
/// otherwise `tessera.db` in `data_dir`. Migrations run before this returns.
pub async fn open(database_url: Option<&str>, data_dir: &Path) -> Result<Arc<dyn Store>> {
    open_with(database_url, data_dir, PgPoolSettings::default()).await
}

/// Like [`open`], with PostgreSQL pool settings.
pub async fn open_with(
    database_url: Option<&str>,
    data_dir: &Path,
    pg: PgPoolSettings,
) -> Result<Arc<dyn Store>> {
    match database_url {
        None => Ok(Arc::new(
            SqliteStore::open_file(&data_dir.join("tessera.db")).await?,
        )),
        Some(url) if url.starts_with("sqlite:") => Ok(Arc::new(SqliteStore::open_url(url).await?)),
        Some(url) if url.starts_with("postgres:") || url.starts_with("postgresql:") => {
            Ok(Arc::new(PgStore::open(url, pg).await?))
        }
        Some(_) => Err(StoreError::Backend(
            "database_url must start with sqlite: or postgres:".into(),
        )),
    }
}
