//! The PostgreSQL backend (feature `postgres`), for several stateless
//! instances on one database. Every statement is a single, short transaction
//! under READ COMMITTED; the refresh rotation is a conditional `UPDATE`
//! (compare-and-swap on the row), so concurrent rotations of one session
//! serialise on its row lock and exactly one wins.
//!
//! What is PostgreSQL's own: connecting (pool, statement timeout, an
//! optional schema), its error codes, the audited rotations as one
//! data-modifying CTE per group-committed batch ([`crate::batch`]), and the
//! migration advisory lock. Every role is
//! implemented in `sql`.

use crate::batch::{ApplyRotations, GroupCommit, RotationJob};
use crate::sql::{self, MigrationConn, SqlBackend};
use crate::{AuditEvent, PgPoolSettings, Result, Rotation, StoreError};
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{Connection, PgConnection, PgPool, Row};
use std::future::Future;
use std::pin::Pin;
use std::str::FromStr;

/// Embedded migrations, applied in order.
const MIGRATIONS: &[(i64, &str)] = sql::migrations!("postgres");

/// The PostgreSQL store.
#[derive(Debug, Clone)]
pub struct PgStore {
    pool: PgPool,
    /// Audited refresh rotations, committed in shared transactions
    /// ([`crate::batch`]): one statement and one WAL flush per batch.
    rotations: GroupCommit,
}

/// The group-commit writer's side of the store.
struct Writer {
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

/// A batch of rotations as one statement (one transaction, one WAL flush):
/// the rotations come as parallel arrays (`$1`…`$16`, one element per
/// rotation, of distinct sessions), each compare-and-swap that wins adds
/// its audit row, and the answer lists the places (`job`) of the winners.
const ROTATE_BATCH: &str = "WITH b AS (SELECT * FROM unnest($1::int4[], $2::text[], \
    $3::int8[], $4::bytea[], $5::bytea[], $6::int8[], $7::int8[], $8::bytea[], $9::int8[], \
    $10::text[], $11::text[], $12::text[], $13::text[], $14::text[], $15::text[], $16::text[]) \
    AS b(job, id, generation, old_hash, new_hash, now, idle, rotated_by, at, event, user_id, \
    session_id, ip, user_agent, detail, client_id)), \
    r AS (UPDATE sessions s SET token_hash = b.new_hash, generation = s.generation + 1, \
    rotated_at = b.now, last_used_at = b.now, idle_expires_at = b.idle, \
    rotated_by = b.rotated_by FROM b \
    WHERE s.id = b.id AND s.generation = b.generation AND s.token_hash = b.old_hash \
    AND s.revoked_at IS NULL \
    RETURNING b.job, b.at, b.event, b.user_id, b.session_id, b.ip, b.user_agent, b.detail, \
    b.client_id), \
    a AS (INSERT INTO audit_log (at, event, user_id, session_id, ip, user_agent, detail, \
    client_id) SELECT at, event, user_id, session_id, ip, user_agent, detail, client_id \
    FROM r ORDER BY job) \
    SELECT job FROM r";

impl ApplyRotations for Writer {
    async fn apply_batch(&self, jobs: &[RotationJob]) -> Result<Vec<bool>> {
        let col = |f: fn(&RotationJob) -> Option<String>| jobs.iter().map(f).collect::<Vec<_>>();
        let places: Vec<i32> = (0..jobs.len())
            .map(|i| i32::try_from(i).unwrap_or(i32::MAX))
            .collect();
        let rows = sqlx::query(ROTATE_BATCH)
            .bind(places)
            .bind(
                jobs.iter()
                    .map(|j| j.session_id.clone())
                    .collect::<Vec<_>>(),
            )
            .bind(
                jobs.iter()
                    .map(|j| j.expected_generation)
                    .collect::<Vec<_>>(),
            )
            .bind(
                jobs.iter()
                    .map(|j| j.expected_hash.clone())
                    .collect::<Vec<_>>(),
            )
            .bind(jobs.iter().map(|j| j.new_hash.clone()).collect::<Vec<_>>())
            .bind(jobs.iter().map(|j| j.now).collect::<Vec<_>>())
            .bind(jobs.iter().map(|j| j.idle_expires_at).collect::<Vec<_>>())
            .bind(
                jobs.iter()
                    .map(|j| j.rotated_by.clone())
                    .collect::<Vec<_>>(),
            )
            .bind(jobs.iter().map(|j| j.audit.at).collect::<Vec<_>>())
            .bind(
                jobs.iter()
                    .map(|j| j.audit.event.clone())
                    .collect::<Vec<_>>(),
            )
            .bind(col(|j| j.audit.user_id.clone()))
            .bind(col(|j| j.audit.session_id.clone()))
            .bind(col(|j| j.audit.ip.clone()))
            .bind(col(|j| j.audit.user_agent.clone()))
            .bind(col(|j| j.audit.detail.clone()))
            .bind(col(|j| j.audit.client_id.clone()))
            .fetch_all(&self.pool)
            .await
            .map_err(map_err)?;
        let mut won = vec![false; jobs.len()];
        for row in rows {
            let job: i32 = row.try_get(0).map_err(map_err)?;
            if let Some(slot) = usize::try_from(job).ok().and_then(|i| won.get_mut(i)) {
                *slot = true;
            }
        }
        Ok(won)
    }

    async fn apply_one(&self, job: &RotationJob) -> Result<bool> {
        let (r, a) = (job.rotation(), &job.audit);
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
        let rotations = GroupCommit::start(Writer { pool: pool.clone() });
        let store = PgStore { pool, rotations };
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
        self.rotations.rotate(RotationJob::new(r, a)).await
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

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
    use super::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_writer_applies_a_batch_of_winners_and_losers() {
        let Ok(url) = std::env::var("TESSERA_TEST_POSTGRES_URL") else {
            eprintln!("skipped: the PostgreSQL rotation batch (TESSERA_TEST_POSTGRES_URL unset)");
            return;
        };
        let bytes = tessera_jose::crypto::random_bytes(6).unwrap();
        let schema = format!(
            "t_{}",
            bytes.iter().map(|b| format!("{b:02x}")).collect::<String>()
        );
        let store = PgStore::open_in_schema(&url, Some(&schema), PgPoolSettings::default())
            .await
            .unwrap();
        let writer = Writer {
            pool: store.pool.clone(),
        };
        crate::batch::contract::batch_applies_winners_only(&store, &writer).await;
    }
}
