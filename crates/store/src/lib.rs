//! # tessera-store
//!
//! The storage of Tessera: role traits, and their SQL backends.
//!
//! The rules (what a refresh means, when a session dies) live in
//! `tessera-core`; this crate only keeps rows and offers the atomic
//! operations those rules need, above all [`SessionStore::rotate_session`],
//! a compare-and-swap on a session's current refresh-token hash.
//!
//! ## Roles
//!
//! What the store keeps is split by role, one trait each:
//!
//! | trait            | keeps                                               |
//! |------------------|-----------------------------------------------------|
//! | [`UserStore`]    | user accounts                                       |
//! | [`SessionStore`] | sessions, their rotation, revocation and feed       |
//! | [`Lifecycle`]    | verified/disabled/deleted users, single-use tokens  |
//! | [`KeyStore`]     | sealed signing keys                                 |
//! | [`ClientStore`]  | OAuth clients and the session-less token denylist   |
//! | [`MfaStore`]     | second factors, recovery codes, pending MFA logins  |
//! | [`AuditLog`]     | the append-only audit log                           |
//! | [`Leases`]       | named leases (one instance runs a periodic job)     |
//! | [`Kv`]           | versioned key-value with expiry (shared throttling) |
//! | [`Health`]       | the readiness ping                                  |
//!
//! [`Store`] is all of them at once, implemented for every type that
//! implements every role; the layers above hold an `Arc<dyn Store>` from
//! [`open`]. All role methods are callable on a `dyn Store` directly;
//! generic code imports the traits with `use tessera_store::prelude::*`.
//! [`Kv`] is also implemented by [`RedisKv`], and [`Store::into_kv`] gives a
//! store's own.
//!
//! ## Backends
//!
//! - [`SqliteStore`], embedded, always built.
//! - [`PgStore`], PostgreSQL, feature `postgres` (on by default).
//! - [`RedisKv`], the key-value role only, feature `redis` (on by default).
//!
//! The SQL backends share their statements, row mapping and migration loop;
//! each keeps only what differs (placeholders stay `$n` in both, error
//! codes, SQLite's write path, the audited rotation statement, the
//! migration lock). An embedded-only build is
//! `--no-default-features`; asking it for a `postgres:` URL is a
//! [`StoreError::Config`] error.
//!
//! Times are whole seconds since the Unix epoch (milliseconds for [`Kv`]),
//! passed in by the caller: this crate never reads a clock. Errors are one
//! [`StoreError`], which keeps the driver's error as its `source()`.
//!
//! ```
//! # tokio_test_block_on(async {
//! use tessera_store::{open, NewUser, Store, StoreError};
//! let dir = tempfile::tempdir().unwrap();
//! let store = open(None, dir.path()).await?;
//! let ada = NewUser {
//!     id: "u1".into(), email: "ada@example.com".into(),
//!     password_hash: "$argon2id$...".into(), roles: vec![], created_at: 1_700_000_000,
//!     email_verified_at: None, disabled_at: None, last_login_at: None,
//! };
//! store.create_user(&ada).await?;
//! assert!(matches!(store.create_user(&ada).await, Err(StoreError::Conflict)));
//! let user = store.user_by_email("ada@example.com").await?.expect("created");
//! assert_eq!(user.id, "u1");
//!
//! // One role on its own: the key-value the shared throttle uses.
//! let kv = store.clone().into_kv();
//! assert!(kv.kv_put("k", None, b"v", 2_000, 1_000).await?);
//! assert_eq!(kv.kv_get("k", 1_500).await?, Some((b"v".to_vec(), 1)));
//!
//! // Generic code names the roles it needs.
//! use tessera_store::prelude::*;
//! async fn count_users(users: &impl UserStore) -> tessera_store::Result<usize> {
//!     Ok(users.list_users(None, 100).await?.len())
//! }
//! let sqlite = tessera_store::SqliteStore::open_url("sqlite::memory:").await?;
//! assert_eq!(count_users(&sqlite).await?, 0);
//! # Ok::<(), StoreError>(())
//! # });
//! # fn tokio_test_block_on<F: std::future::Future>(f: F) -> F::Output {
//! #     tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(f)
//! # }
//! ```
#![forbid(unsafe_code)]

pub mod backup;
mod batch;
mod error;
mod model;
#[cfg(feature = "postgres")]
mod postgres;
#[cfg(feature = "redis")]
mod redis_kv;
mod roles;
mod sql;
mod sqlite;

#[cfg(feature = "test-support")]
pub mod testing;

pub use error::{Result, StoreError};
pub use model::{
    AuditCount, AuditEvent, AuditFilter, AuditRecord, AuthCode, Client, CodeUse, Consent,
    KeyRecord, MfaChallenge, MfaFactor, NewUser, OneTimeToken, Passkey, PasskeyUse,
    RevokedKeyRecord, Rotation, Session, User,
};
#[cfg(feature = "postgres")]
pub use postgres::PgStore;
#[cfg(feature = "redis")]
pub use redis_kv::RedisKv;
pub use roles::{
    AuditLog, ClientStore, Health, KeyStore, Kv, Leases, Lifecycle, MfaStore, OidcStore,
    PasskeyStore, SessionStore, Store, UserStore,
};
pub use sqlite::SqliteStore;

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

/// The role traits, for `use tessera_store::prelude::*`.
pub mod prelude {
    pub use crate::{
        AuditLog, ClientStore, Health, KeyStore, Kv, Leases, Lifecycle, MfaStore, OidcStore,
        PasskeyStore, SessionStore, Store, UserStore,
    };
}

/// PostgreSQL connection-pool settings (ignored by the other backends; a
/// plain value in every build, so that configuration compiles without the
/// `postgres` feature).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PgPoolSettings {
    /// Largest number of connections.
    pub max_connections: u32,
    /// How long a request may wait for a connection.
    pub acquire_timeout: Duration,
    /// How long a statement may run.
    pub statement_timeout: Duration,
}

impl Default for PgPoolSettings {
    fn default() -> Self {
        PgPoolSettings {
            max_connections: 16,
            acquire_timeout: Duration::from_secs(5),
            statement_timeout: Duration::from_secs(10),
        }
    }
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
            open_postgres(url, pg).await
        }
        Some(_) => Err(StoreError::Config(
            "database_url must start with sqlite: or postgres:",
        )),
    }
}

#[cfg(feature = "postgres")]
async fn open_postgres(url: &str, pg: PgPoolSettings) -> Result<Arc<dyn Store>> {
    Ok(Arc::new(PgStore::open(url, pg).await?))
}

#[cfg(not(feature = "postgres"))]
async fn open_postgres(_url: &str, _pg: PgPoolSettings) -> Result<Arc<dyn Store>> {
    Err(StoreError::Config(
        "database_url is a PostgreSQL URL, but this build has no PostgreSQL support \
         (tessera-store feature `postgres`)",
    ))
}
