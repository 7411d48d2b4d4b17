//! The PostgreSQL backend (feature `postgres`), for several stateless
//! instances on one database. Every statement is a single, short transaction
//! under READ COMMITTED; the refresh rotation is a conditional `UPDATE`
//! (compare-and-swap on the row), so concurrent rotations of one session
//! serialise on its row lock and exactly one wins.
//!
//! What is PostgreSQL's own: connecting (pool, statement timeout, an
//! optional schema), its error codes, the audited rotation as one
//! data-modifying CTE, and the migration advisory lock. Every role is
//! implemented in `sql`.

use crate::sql::{self, MigrationConn, SqlBackend};
use crate::{AuditEvent, PgPoolSettings, Result, Rotation, StoreError};
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{Connection, PgConnection, PgPool};
use std::future::Future;
use std::pin::Pin;
use std::str::FromStr;

/// Embedded migrations, applied in order.
const MIGRATIONS: &[(i64, &str)] = sql::migrations!("postgres");

/// The PostgreSQL store.
#[derive(Debug, Clone)]
pub struct PgStore {
    pool: PgPool,
}

/// Lost connections, and serialization failure (40001), deadlock (40P01),
/// statement timeout (57014), admin shutdown (57P01), too many connections
/// (53300).
fn transient(e: &sqlx::Error) -> bool {
    match e {
        sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::Io(_)
        | sqlx::Error::Tls(_)
        | sqlx::Error::Protocol(_) => true,
        sqlx::Error::Database(db) => matches!(
            db.code().as_deref(),
            Some("40001") | Some("40P01") | Some("57014") | Some("57P01") | Some("53300")
        ),
        _ => false,
    }
}

fn map_err(e: sqlx::Error) -> StoreError {
    StoreError::from_sqlx(e, transient)
}

/// One refresh rotation and its audit row: one statement, one round trip,
/// one commit. The audit row is inserted only for the row the
/// compare-and-swap changed.
const ROTATE_AUDITED: &str = "WITH r AS (UPDATE sessions SET token_hash = $1, \
    generation = generation + 1, rotated_at = $2, last_used_at = $2, idle_expires_at = $3, \
    rotated_by = $14 \
    WHERE id = $4 AND generation = $5 AND token_hash = $6 AND revoked_at IS NULL \
    RETURNING id) \
    INSERT INTO audit_log (at, event, user_id, session_id, ip, user_agent, detail, \
    client_id) SELECT $7, $8, $9, $10, $11, $12, $13, $15 FROM r RETURNING id";

type BoxFut<'a, T> = Pin<Box<dyn Future<Output = Result<T>> + Send + 'a>>;

// Statements on a borrowed connection go through these boxed helpers: rustc
// cannot otherwise prove the callers' futures `Send` (higher-ranked lifetime
// inference on sqlx executors), and the server spawns them.
fn exec<'a>(conn: &'a mut sqlx::PgConnection, sql: &'a str) -> BoxFut<'a, ()> {
    Box::pin(async move {
        sqlx::Executor::execute(conn, sql)
            .await
            .map(|_| ())
            .map_err(map_err)
    })
}

impl PgStore {
    /// Connects, and applies pending migrations under an advisory lock so
    /// that instances starting together do not race.
    pub async fn open(url: &str, settings: PgPoolSettings) -> Result<Self> {
        Self::open_in_schema(url, None, settings).await
    }

    /// Like [`PgStore::open`], inside `schema` (created if missing). Lets
    /// tests share one database without sharing tables.
    pub async fn open_in_schema(
        url: &str,
        schema: Option<&str>,
        settings: PgPoolSettings,
    ) -> Result<Self> {
        let mut opts = PgConnectOptions::from_str(url).map_err(map_err)?;
        let timeout_ms = settings.statement_timeout.as_millis().to_string();
        let mut params: Vec<(&str, String)> = vec![("statement_timeout", timeout_ms)];
        if let Some(schema) = schema {
            if !schema
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_')
            {
                return Err(StoreError::Config("schema names are [A-Za-z0-9_]"));
            }
            let mut conn = sqlx::PgConnection::connect_with(&opts)
                .await
                .map_err(map_err)?;
            // IF NOT EXISTS is not race-free in PostgreSQL: a concurrent
            // creator's unique violation means the schema now exists.
            let stmt = format!("CREATE SCHEMA IF NOT EXISTS {schema}");
            match exec(&mut conn, &stmt).await {
                Ok(()) | Err(StoreError::Conflict) => {}
                Err(e) => return Err(e),
            }
            let _ = conn.close().await;
            params.push(("search_path", schema.to_owned()));
        }
        opts = opts.options(params.iter().map(|(k, v)| (*k, v.as_str())));
        let pool = PgPoolOptions::new()
            .max_connections(settings.max_connections.max(1))
            .min_connections(0)
            .acquire_timeout(settings.acquire_timeout)
            .test_before_acquire(true)
            .connect_with(opts)
            .await
            .map_err(map_err)?;
        let store = PgStore { pool };
        store.migrate().await?;
        Ok(store)
    }

    /// Applies pending migrations inside one transaction holding an advisory lock.
    pub async fn migrate(&self) -> Result<()> {
        let mut tx = self.pool.begin().await.map_err(map_err)?;
        let conn: &mut sqlx::PgConnection = &mut tx;
        exec(conn, "SELECT pg_advisory_xact_lock(7353451243)").await?;
        exec(
            conn,
            "CREATE TABLE IF NOT EXISTS schema_migrations \
             (version BIGINT PRIMARY KEY, applied_at TIMESTAMPTZ NOT NULL DEFAULT now())",
        )
        .await?;
        sql::apply_pending(conn, MIGRATIONS).await?;
        tx.commit().await.map_err(map_err)
    }

    /// Closes the pool.
    pub async fn close(&self) {
        self.pool.close().await;
    }
}

impl SqlBackend for PgStore {
    type Pool = PgPool;

    fn pool(&self) -> &PgPool {
        &self.pool
    }

    fn transient(e: &sqlx::Error) -> bool {
        transient(e)
    }

    async fn write_turn(&self) -> Option<tokio::sync::MutexGuard<'_, ()>> {
        None
    }

    async fn insert_users(&self, users: &[crate::NewUser]) -> Result<Vec<bool>> {
        // Dropped without `commit`, the transaction rolls back.
        let mut tx = self.pool.begin().await.map_err(map_err)?;
        let mut inserted = Vec::with_capacity(users.len());
        for u in users {
            let r = sqlx::query(sql::INSERT_USER_IF_NEW)
                .bind(&u.id)
                .bind(&u.email)
                .bind(&u.password_hash)
                .bind(sql::rows::list_to(&u.roles))
                .bind(u.created_at)
                .bind(u.email_verified_at)
                .bind(u.disabled_at)
                .execute(&mut *tx)
                .await
                .map_err(map_err)?;
            inserted.push(r.rows_affected() == 1);
        }
        tx.commit().await.map_err(map_err)?;
        Ok(inserted)
    }

    async fn rotate_audited(&self, r: &Rotation<'_>, a: &AuditEvent) -> Result<bool> {
        sqlx::query(ROTATE_AUDITED)
            .bind(r.new_hash)
            .bind(r.now)
            .bind(r.idle_expires_at)
            .bind(r.session_id)
            .bind(r.expected_generation)
            .bind(r.expected_hash)
            .bind(a.at)
            .bind(&a.event)
            .bind(&a.user_id)
            .bind(&a.session_id)
            .bind(&a.ip)
            .bind(&a.user_agent)
            .bind(&a.detail)
            .bind(r.rotated_by)
            .bind(&a.client_id)
            .fetch_all(&self.pool)
            .await
            .map(|rows| rows.len() == 1)
            .map_err(map_err)
    }
}

impl MigrationConn for PgConnection {
    fn applied(&mut self, version: i64) -> impl Future<Output = Result<bool>> + Send {
        let done: BoxFut<'_, bool> = Box::pin(async move {
            sqlx::query(sql::MIGRATION_APPLIED)
                .bind(version)
                .fetch_optional(self)
                .await
                .map(|row| row.is_some())
                .map_err(map_err)
        });
        done
    }

    fn apply(
        &mut self,
        version: i64,
        migration: &'static str,
    ) -> impl Future<Output = Result<()>> + Send {
        let done: BoxFut<'_, ()> = Box::pin(async move {
            exec(&mut *self, migration).await?;
            sqlx::query(sql::MIGRATION_RECORD)
                .bind(version)
                .execute(self)
                .await
                .map(|_| ())
                .map_err(map_err)
        });
        done
    }
}
