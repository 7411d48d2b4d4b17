//! What the SQL backends share: every statement both dialects accept
//! (written once, with `$1`-style placeholders, which sqlx's SQLite driver
//! also binds by number), the row mappers, the list encoding, the role
//! implementations and the migration loop.
//!
//! A backend ([`crate::SqliteStore`], [`crate::PgStore`]) implements
//! [`SqlBackend`]: its pool, which errors mean "unavailable", its write
//! path and its rotation statement. Every role trait follows from that.

mod admin;
pub(crate) mod exec;
mod lifecycle;
mod oidc;
mod roles;
pub(crate) mod rows;

use crate::{AuditEvent, Result, Rotation, StoreError};
use exec::Exec;
use std::future::Future;

/// What differs between the SQL backends.
pub(crate) trait SqlBackend: Send + Sync + 'static {
    /// Its connection pool.
    type Pool: Exec;

    /// Its connection pool.
    fn pool(&self) -> &Self::Pool;

    /// True if the error means the database is unreachable or overloaded
    /// (lost connections, pool timeouts, the backend's busy codes).
    fn transient(e: &sqlx::Error) -> bool;

    /// Waits for this process's turn to write, around the hot-path writes
    /// (users, sessions, audit). `None` where the database queues writers
    /// well by itself.
    fn write_turn(&self) -> impl Future<Output = Option<tokio::sync::MutexGuard<'_, ()>>> + Send;

    /// The refresh rotation and its audit row, committed together and only
    /// if the compare-and-swap wins ([`crate::Rotation::audit`]).
    fn rotate_audited(
        &self,
        rotation: &Rotation<'_>,
        audit: &AuditEvent,
    ) -> impl Future<Output = Result<bool>> + Send;

    /// Inserts users in one transaction, skipping existing emails
    /// ([`INSERT_USER_IF_NEW`]); for each user, true if inserted.
    fn insert_users(
        &self,
        users: &[crate::NewUser],
    ) -> impl Future<Output = Result<Vec<bool>>> + Send;

    /// Maps a sqlx error with [`SqlBackend::transient`].
    fn error(e: sqlx::Error) -> StoreError {
        StoreError::from_sqlx(e, Self::transient)
    }
}

/// The rotation without an audit row: a compare-and-swap on the session's
/// generation and token hash.
pub(crate) const ROTATE: &str = "UPDATE sessions SET token_hash = $1, \
    generation = generation + 1, rotated_at = $2, last_used_at = $2, idle_expires_at = $3, \
    rotated_by = $7 \
    WHERE id = $4 AND generation = $5 AND token_hash = $6 AND revoked_at IS NULL";

/// One imported user, unless its email (or id) exists: both dialects accept
/// `ON CONFLICT DO NOTHING` without a target.
pub(crate) const INSERT_USER_IF_NEW: &str = "INSERT INTO users (id, email, password_hash, \
    roles, created_at, email_verified_at, disabled_at) VALUES ($1, $2, $3, $4, $5, $6, $7) \
    ON CONFLICT DO NOTHING";

/// The embedded migrations of one dialect (`migrations/<dir>/`), applied in
/// order. Versions and file names are the same in both dialects.
macro_rules! migrations {
    ($dir:literal) => {
        &[
            (
                1,
                include_str!(concat!(
                    env!("CARGO_MANIFEST_DIR"),
                    "/migrations/",
                    $dir,
                    "/0001_init.sql"
                )),
            ),
            (
                2,
                include_str!(concat!(
                    env!("CARGO_MANIFEST_DIR"),
                    "/migrations/",
                    $dir,
                    "/0002_clients.sql"
                )),
            ),
            (
                3,
                include_str!(concat!(
                    env!("CARGO_MANIFEST_DIR"),
                    "/migrations/",
                    $dir,
                    "/0003_leases.sql"
                )),
            ),
            (
                4,
                include_str!(concat!(
                    env!("CARGO_MANIFEST_DIR"),
                    "/migrations/",
                    $dir,
                    "/0004_kv.sql"
                )),
            ),
            (
                5,
                include_str!(concat!(
                    env!("CARGO_MANIFEST_DIR"),
                    "/migrations/",
                    $dir,
                    "/0005_revocation_feed.sql"
                )),
            ),
            (
                6,
                include_str!(concat!(
                    env!("CARGO_MANIFEST_DIR"),
                    "/migrations/",
                    $dir,
                    "/0006_feed_keyset_audit_retention.sql"
                )),
            ),
            (
                7,
                include_str!(concat!(
                    env!("CARGO_MANIFEST_DIR"),
                    "/migrations/",
                    $dir,
                    "/0007_session_client.sql"
                )),
            ),
            (
                8,
                include_str!(concat!(
                    env!("CARGO_MANIFEST_DIR"),
                    "/migrations/",
                    $dir,
                    "/0008_revoked_keys.sql"
                )),
            ),
            (
                9,
                include_str!(concat!(
                    env!("CARGO_MANIFEST_DIR"),
                    "/migrations/",
                    $dir,
                    "/0009_account_lifecycle.sql"
                )),
            ),
            (
                10,
                include_str!(concat!(
                    env!("CARGO_MANIFEST_DIR"),
                    "/migrations/",
                    $dir,
                    "/0010_dpop.sql"
                )),
            ),
            (
                11,
                include_str!(concat!(
                    env!("CARGO_MANIFEST_DIR"),
                    "/migrations/",
                    $dir,
                    "/0011_oidc.sql"
                )),
            ),
            (
                12,
                include_str!(concat!(
                    env!("CARGO_MANIFEST_DIR"),
                    "/migrations/",
                    $dir,
                    "/0012_id_token_encryption.sql"
                )),
            ),
            (
                15,
                include_str!(concat!(
                    env!("CARGO_MANIFEST_DIR"),
                    "/migrations/",
                    $dir,
                    "/0015_admin_console.sql"
                )),
            ),
        ]
    };
}
pub(crate) use migrations;

/// Whether a migration version is recorded.
pub(crate) const MIGRATION_APPLIED: &str =
    "SELECT version FROM schema_migrations WHERE version = $1";
/// Records a migration version.
pub(crate) const MIGRATION_RECORD: &str = "INSERT INTO schema_migrations (version) VALUES ($1)";

/// One connection, inside the transaction (and lock) a backend's
/// `migrate` holds, as the migration loop needs it.
pub(crate) trait MigrationConn: Send {
    /// True if `version` is recorded.
    fn applied(&mut self, version: i64) -> impl Future<Output = Result<bool>> + Send;
    /// Runs one migration's SQL (several statements) and records `version`.
    fn apply(&mut self, version: i64, sql: &'static str)
        -> impl Future<Output = Result<()>> + Send;
}

/// Applies the migrations `conn` has not recorded yet, in order.
pub(crate) async fn apply_pending(
    conn: &mut impl MigrationConn,
    migrations: &[(i64, &'static str)],
) -> Result<()> {
    for &(version, sql) in migrations {
        if !conn.applied(version).await? {
            conn.apply(version, sql).await?;
            tracing::info!(version, "applied migration");
        }
    }
    Ok(())
}
