//! The embedded SQLite backend: one file, WAL journal, prepared statements
//! cached per connection.
//!
//! What is SQLite's own: opening (pragmas, the background WAL
//! checkpointer), its error codes, its write path (one writer at a time, so
//! this process's hot-path writers queue on an async lock), the audited
//! rotations, group-committed as one multi-statement command per batch
//! ([`crate::batch`]), and the migration lock. Every role is implemented in
//! `sql`.

use crate::batch::{ApplyRotations, GroupCommit, RotationJob};
use crate::sql::{self, MigrationConn, SqlBackend};
use crate::{AuditEvent, Result, Rotation, StoreError};
use sqlx::sqlite::{
    SqliteArguments, SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteRow,
    SqliteSynchronous,
};
use sqlx::{Connection, Executor, Row, Sqlite, SqliteConnection, SqlitePool};
use std::future::Future;
use std::path::Path;
use std::pin::Pin;
use std::str::FromStr;
use std::time::Duration;

/// Embedded migrations, applied in order.
pub(crate) const MIGRATIONS: &[(i64, &str)] = sql::migrations!("sqlite");

/// The SQLite store.
#[derive(Debug, Clone)]
pub struct SqliteStore {
    pool: SqlitePool,
    /// Serialises this process's hot-path writes (sessions, users, audit).
    /// SQLite admits one writer at a time; without this, concurrent writers
    /// collide on the WAL lock and SQLite's busy handler sleeps 1, 2, 5,
    /// 10, 15, 20 ms… between retries, which shows up as tens of
    /// milliseconds at p99. An async FIFO lock makes them queue instead.
    writes: std::sync::Arc<tokio::sync::Mutex<()>>,
    /// Audited refresh rotations, committed in shared transactions
    /// ([`crate::batch`]).
    rotations: GroupCommit,
    /// The background checkpointer stops when the last clone is dropped.
    _alive: std::sync::Arc<()>,
}

/// The group-commit writer's side of the store: its pool and write turn.
///
/// On a database file the writer has a connection of its own: its page
/// cache stays warm (no other connection's commit invalidates it), and its
/// prepared batches (one per batch size) stay out of the pool's caches.
struct Writer {
    pool: SqlitePool,
    writes: std::sync::Arc<tokio::sync::Mutex<()>>,
    /// The writer's own connection and how to open it again; `None` for an
    /// in-memory database (a second connection would be another database).
    own: Option<(tokio::sync::Mutex<SqliteConnection>, SqliteConnectOptions)>,
}

/// A WAL of more frames than this (4 KiB pages: 64 MiB) is started over
/// by the checkpointer.
const WAL_RESET_FRAMES: i64 = 16_384;

/// Copies committed WAL frames into the database file every 250 ms
/// (`PRAGMA wal_checkpoint(PASSIVE)`: never waits for readers or writers),
/// until the store is dropped. Writers keep appending meanwhile.
///
/// A passive checkpoint never rewinds the WAL: SQLite starts it over only
/// when a writer finds every frame copied back and no reader in it, which
/// under steady writes never happens. So past [`WAL_RESET_FRAMES`] it is
/// restarted with `wal_checkpoint(RESTART)`, holding this process's write
/// turn so that writers queue on it rather than in SQLite's busy handler:
/// the next commit writes from the start of the file again, which so stays
/// near that size. Without that the WAL grew by about 2 GiB a minute of
/// refreshes, and a restart spent over a second reading it back (issue 22).
/// `TRUNCATE` (which also shrinks the file) held the writers for as long
/// as the file system took to free it: p99 of refreshes at half of peak
/// went from 2.7 to 12.8 ms (BENCHMARKS.md).
async fn checkpointer(
    pool: SqlitePool,
    writes: std::sync::Arc<tokio::sync::Mutex<()>>,
    alive: std::sync::Weak<()>,
) {
    let mut tick = tokio::time::interval(Duration::from_millis(250));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        if alive.strong_count() == 0 || pool.is_closed() {
            return;
        }
        let passive = sqlx::query_as::<_, (i64, i64, i64)>("PRAGMA wal_checkpoint(PASSIVE)")
            .fetch_one(&pool)
            .await;
        match passive {
            Ok((_, frames, _)) if frames > WAL_RESET_FRAMES => {
                let _turn = writes.lock().await;
                // Waits for readers to leave the WAL for at most 100 ms (a
                // long reader, a backup: the next tick tries again), not
                // the 5 s that writers would otherwise queue behind it.
                let reset = async {
                    let mut conn = pool.acquire().await?;
                    sqlx::query("PRAGMA busy_timeout = 100")
                        .execute(&mut *conn)
                        .await?;
                    let done = sqlx::query("PRAGMA wal_checkpoint(RESTART)")
                        .execute(&mut *conn)
                        .await;
                    sqlx::query("PRAGMA busy_timeout = 5000")
                        .execute(&mut *conn)
                        .await?;
                    done.map(|_| ())
                };
                let reset: std::result::Result<(), sqlx::Error> = reset.await;
                if let Err(e) = reset {
                    tracing::debug!(error = %e, "WAL reset");
                }
            }
            Ok(_) => {}
            Err(e) => tracing::debug!(error = %e, "background WAL checkpoint"),
        }
    }
}

/// Lost connections, and SQLITE_BUSY (5) / SQLITE_LOCKED (6).
fn transient(e: &sqlx::Error) -> bool {
    match e {
        sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed | sqlx::Error::Io(_) => true,
        sqlx::Error::Database(db) => matches!(db.code().as_deref(), Some("5") | Some("6")),
        _ => false,
    }
}

pub(crate) fn map_err(e: sqlx::Error) -> StoreError {
    StoreError::from_sqlx(e, transient)
}

/// One refresh rotation and its audit row. The audit row is inserted only
/// if the compare-and-swap changed a row; the `RETURNING` row names the
/// rotation that won (`{job}`: its place in the batch). Parameters are
/// anonymous (`?`), bound in order ([`bind_rotation`]): sqlx numbers them
/// across the statements of a command, which `?NNN` would not survive
/// (SQLite gives a statement one slot per number up to its largest, and
/// sqlx fills the unnamed slots in front from the same sequence).
const ROTATE_ONE: &str = "UPDATE sessions SET token_hash = ?, generation = generation + 1, \
    rotated_at = ?, last_used_at = ?, idle_expires_at = ?, rotated_by = ? \
    WHERE id = ? AND generation = ? AND token_hash = ? AND revoked_at IS NULL \
    RETURNING {job}; \
    INSERT INTO audit_log (at, event, user_id, session_id, ip, user_agent, detail, \
    client_id) SELECT ?, ?, ?, ?, ?, ?, ?, ? WHERE changes() = 1; ";

/// `n` rotations in one transaction, sent to SQLite's connection thread as
/// one multi-statement command (one round trip, one commit).
fn rotate_batch_sql(n: usize) -> String {
    let mut sql = String::with_capacity(32 + n * (ROTATE_ONE.len() + 4));
    sql.push_str("BEGIN IMMEDIATE; ");
    for job in 0..n {
        sql.push_str(&ROTATE_ONE.replace("{job}", &job.to_string()));
    }
    sql.push_str("COMMIT;");
    sql
}

/// Binds one rotation's values in the order of [`ROTATE_ONE`]'s `?`s.
fn bind_rotation<'q>(
    q: sqlx::query::Query<'q, Sqlite, SqliteArguments<'q>>,
    job: &RotationJob,
) -> sqlx::query::Query<'q, Sqlite, SqliteArguments<'q>> {
    let a = &job.audit;
    q.bind(job.new_hash.clone())
        .bind(job.now)
        .bind(job.now)
        .bind(job.idle_expires_at)
        .bind(job.rotated_by.clone())
        .bind(job.session_id.clone())
        .bind(job.expected_generation)
        .bind(job.expected_hash.clone())
        .bind(a.at)
        .bind(a.event.clone())
        .bind(a.user_id.clone())
        .bind(a.session_id.clone())
        .bind(a.ip.clone())
        .bind(a.user_agent.clone())
        .bind(a.detail.clone())
        .bind(a.client_id.clone())
}

impl Writer {
    /// Runs `jobs` as one transaction: the places of the rotations that won.
    async fn run(&self, jobs: &[&RotationJob]) -> Result<Vec<usize>> {
        let sql = rotate_batch_sql(jobs.len());
        let query = jobs
            .iter()
            .fold(sqlx::query(&sql), |q, job| bind_rotation(q, job));
        let _write = self.writes.lock().await;
        let outcome = match &self.own {
            Some((own, opts)) => {
                let mut conn = own.lock().await;
                let outcome = run_rotations(&mut conn, query).await;
                if let Err(Broken) = outcome.1 {
                    // Still inside a transaction that would not roll back:
                    // start over on a new connection.
                    *conn = SqliteConnection::connect_with(opts)
                        .await
                        .map_err(map_err)?;
                }
                outcome.0
            }
            None => {
                let mut conn = self.pool.acquire().await.map_err(map_err)?;
                let outcome = run_rotations(&mut conn, query).await;
                if let Err(Broken) = outcome.1 {
                    conn.close_on_drop();
                }
                outcome.0
            }
        };
        outcome?
            .iter()
            .map(|row: &SqliteRow| {
                let job: i64 = row.try_get(0).map_err(map_err)?;
                usize::try_from(job).map_err(|_| StoreError::Config("bad batch row"))
            })
            .collect()
    }
}

/// A connection left inside a transaction it could not roll back.
struct Broken;

/// Runs a batch on `conn`, rolling back on error; says whether the
/// connection is still fit for use.
async fn run_rotations<'q>(
    conn: &mut SqliteConnection,
    query: sqlx::query::Query<'q, Sqlite, SqliteArguments<'q>>,
) -> (Result<Vec<SqliteRow>>, std::result::Result<(), Broken>) {
    match query.fetch_all(&mut *conn).await {
        Ok(rows) => (Ok(rows), Ok(())),
        Err(e) => {
            // Ends the transaction if BEGIN got through; an error here only
            // means there was none.
            let fit = match sqlx::query("ROLLBACK").execute(&mut *conn).await {
                Ok(_) => Ok(()),
                // Most likely no transaction was open (BEGIN failed, or
                // SQLite rolled back itself); if one still is, the
                // connection must not be used again.
                Err(r) if r.to_string().contains("no transaction is active") => Ok(()),
                Err(_) => Err(Broken),
            };
            (Err(map_err(e)), fit)
        }
    }
}

/// A rotation that matches no session (ids are never empty): batches are
/// padded with it to a power of two, so that at most six batch statements
/// (1, 2, 4 … 32 rotations) are ever prepared.
fn padding() -> RotationJob {
    RotationJob {
        session_id: String::new(),
        expected_generation: -1,
        expected_hash: Vec::new(),
        new_hash: Vec::new(),
        now: 0,
        idle_expires_at: 0,
        rotated_by: None,
        audit: AuditEvent::default(),
    }
}

impl ApplyRotations for Writer {
    async fn apply_batch(&self, jobs: &[RotationJob]) -> Result<Vec<bool>> {
        let pad = padding();
        let padded: Vec<&RotationJob> = jobs
            .iter()
            .chain(std::iter::repeat(&pad))
            .take(jobs.len().next_power_of_two())
            .collect();
        let won = self.run(&padded).await?;
        let mut out = vec![false; jobs.len()];
        for job in won {
            if let Some(slot) = out.get_mut(job) {
                *slot = true;
            }
        }
        Ok(out)
    }

    async fn apply_one(&self, job: &RotationJob) -> Result<bool> {
        Ok(!self.run(&[job]).await?.is_empty())
    }
}

impl SqliteStore {
    /// Opens (creating if needed) the database file and applies migrations.
    pub async fn open_file(path: &Path) -> Result<Self> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(|source| StoreError::Io {
                path: dir.to_owned(),
                source,
            })?;
        }
        Self::open_with(SqliteConnectOptions::new().filename(path)).await
    }

    /// Opens a `sqlite:` URL (`sqlite::memory:` gives a private in-memory database).
    pub async fn open_url(url: &str) -> Result<Self> {
        let opts = SqliteConnectOptions::from_str(url).map_err(map_err)?;
        Self::open_with(opts).await
    }

    async fn open_with(opts: SqliteConnectOptions) -> Result<Self> {
        let in_memory = opts.get_filename().as_os_str().is_empty()
            || opts.get_filename().to_string_lossy().contains(":memory:");
        let opts = opts
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            // WAL + NORMAL: a commit survives a process crash; an OS crash may
            // lose the last transactions (documented trade-off).
            .synchronous(SqliteSynchronous::Normal)
            .busy_timeout(Duration::from_secs(5))
            .foreign_keys(true)
            .pragma("temp_store", "memory")
            // The page cache is per connection, and the pool holds up to 8:
            // 2 MiB each (SQLite's default) bounds them at 16 MiB together.
            // At 8 MiB each a server with a million sessions grew to 117 MiB
            // as its connections' caches filled (issue 22).
            .pragma("cache_size", "-2000")
            .statement_cache_capacity(64);
        // Checkpoints (which fsync the database file) run on a background
        // task, not inside whichever request's commit crosses SQLite's
        // 1000-page threshold while every other writer queues behind it.
        let opts = if in_memory {
            opts
        } else {
            opts.pragma("wal_autocheckpoint", "0")
        };
        // An in-memory database exists per connection: use exactly one.
        let max = if in_memory { 1 } else { 8 };
        let own_opts = (!in_memory).then(|| opts.clone());
        let pool = SqlitePoolOptions::new()
            .max_connections(max)
            .min_connections(1)
            .acquire_timeout(Duration::from_secs(5))
            // An embedded connection cannot go stale, and sqlx's default
            // ping before every acquire is a round trip to the connection's
            // worker thread: as many thread wake-ups as the query itself.
            .test_before_acquire(false)
            .connect_with(opts)
            .await
            .map_err(map_err)?;
        let alive = std::sync::Arc::new(());
        let writes = std::sync::Arc::new(tokio::sync::Mutex::new(()));
        if !in_memory {
            tokio::spawn(checkpointer(
                pool.clone(),
                writes.clone(),
                std::sync::Arc::downgrade(&alive),
            ));
        }
        let own = match own_opts {
            Some(opts) => {
                let conn = SqliteConnection::connect_with(&opts)
                    .await
                    .map_err(map_err)?;
                Some((tokio::sync::Mutex::new(conn), opts))
            }
            None => None,
        };
        let rotations = GroupCommit::start(Writer {
            pool: pool.clone(),
            writes: writes.clone(),
            own,
        });
        let store = SqliteStore {
            pool,
            writes,
            rotations,
            _alive: alive,
        };
        store.migrate().await?;
        Ok(store)
    }

    /// The rotation and its audit row in one transaction, shared with the
    /// rotations queued beside it ([`crate::batch`]). The writer task
    /// commits it even if the caller goes away.
    async fn rotate_with_audit(&self, r: &Rotation<'_>, a: &AuditEvent) -> Result<bool> {
        self.rotations.rotate(RotationJob::new(r, a)).await
    }

    /// Imported users in one `BEGIN IMMEDIATE` transaction, rolled back on
    /// any error.
    async fn insert_users_tx(&self, users: &[crate::NewUser]) -> Result<Vec<bool>> {
        let _write = self.writes.lock().await;
        let mut conn = self.pool.acquire().await.map_err(map_err)?;
        conn.execute("BEGIN IMMEDIATE").await.map_err(map_err)?;
        let mut inserted = Vec::with_capacity(users.len());
        for u in users {
            let done = sqlx::query(sql::INSERT_USER_IF_NEW)
                .bind(&u.id)
                .bind(&u.email)
                .bind(&u.password_hash)
                .bind(sql::rows::list_to(&u.roles))
                .bind(u.created_at)
                .bind(u.email_verified_at)
                .bind(u.disabled_at)
                .execute(&mut *conn)
                .await;
            match done {
                Ok(r) => inserted.push(r.rows_affected() == 1),
                Err(e) => {
                    if conn.execute("ROLLBACK").await.is_err() {
                        conn.close_on_drop();
                    }
                    return Err(map_err(e));
                }
            }
        }
        if let Err(e) = conn.execute("COMMIT").await {
            if conn.execute("ROLLBACK").await.is_err() {
                conn.close_on_drop();
            }
            return Err(map_err(e));
        }
        Ok(inserted)
    }

    /// Applies pending migrations under SQLite's write lock, so two processes
    /// starting together do not race.
    pub async fn migrate(&self) -> Result<()> {
        let mut conn = self.pool.acquire().await.map_err(map_err)?;
        conn.execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations \
             (version INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL DEFAULT (unixepoch()))",
        )
        .await
        .map_err(map_err)?;
        conn.execute("BEGIN IMMEDIATE").await.map_err(map_err)?;
        let result = sql::apply_pending(&mut *conn, MIGRATIONS).await;
        match result {
            Ok(()) => conn.execute("COMMIT").await.map(|_| ()).map_err(map_err),
            Err(e) => {
                let _ = conn.execute("ROLLBACK").await;
                Err(e)
            }
        }
    }

    /// Closes the pool (used on shutdown and in restart tests).
    pub async fn close(&self) {
        self.pool.close().await;
    }
}

impl SqlBackend for SqliteStore {
    type Pool = SqlitePool;

    fn pool(&self) -> &SqlitePool {
        &self.pool
    }

    fn transient(e: &sqlx::Error) -> bool {
        transient(e)
    }

    async fn write_turn(&self) -> Option<tokio::sync::MutexGuard<'_, ()>> {
        Some(self.writes.lock().await)
    }

    fn rotate_audited(
        &self,
        r: &Rotation<'_>,
        a: &AuditEvent,
    ) -> impl std::future::Future<Output = Result<bool>> + Send {
        self.rotate_with_audit(r, a)
    }

    fn insert_users(
        &self,
        users: &[crate::NewUser],
    ) -> impl std::future::Future<Output = Result<Vec<bool>>> + Send {
        self.insert_users_tx(users)
    }
}

/// Runs a script of several statements.
fn run_script<'a>(
    conn: &'a mut SqliteConnection,
    script: &'a str,
) -> Pin<Box<dyn Future<Output = Result<()>> + Send + 'a>> {
    Box::pin(async move {
        sqlx::Executor::execute(conn, script)
            .await
            .map(|_| ())
            .map_err(map_err)
    })
}

// Boxed: rustc cannot otherwise prove these futures `Send` (higher-ranked
// lifetime inference on sqlx executors over a borrowed connection).
impl MigrationConn for SqliteConnection {
    fn applied(&mut self, version: i64) -> impl Future<Output = Result<bool>> + Send {
        let done: Pin<Box<dyn Future<Output = Result<bool>> + Send + '_>> = Box::pin(async move {
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
        let done: Pin<Box<dyn Future<Output = Result<()>> + Send + '_>> = Box::pin(async move {
            run_script(&mut *self, migration).await?;
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

    #[test]
    fn a_batch_is_one_transaction_of_anonymous_parameters() {
        let sql = rotate_batch_sql(3);
        assert!(sql.starts_with("BEGIN IMMEDIATE; UPDATE sessions"));
        assert!(sql.ends_with("COMMIT;"));
        assert_eq!(sql.matches("UPDATE sessions").count(), 3);
        assert_eq!(sql.matches("INSERT INTO audit_log").count(), 3);
        // 16 values per rotation, in bind_rotation's order, none numbered.
        assert_eq!(sql.matches('?').count(), 3 * 16);
        assert!(!sql.contains("?1"));
        for job in 0..3 {
            assert!(sql.contains(&format!("RETURNING {job};")));
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_writer_applies_a_batch_of_winners_and_losers() {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open_file(&dir.path().join("t.db"))
            .await
            .unwrap();
        let writer = Writer {
            pool: store.pool.clone(),
            writes: store.writes.clone(),
            own: None,
        };
        crate::batch::contract::batch_applies_winners_only(&store, &writer).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_writer_on_its_own_connection_applies_a_padded_batch() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.db");
        let store = SqliteStore::open_file(&path).await.unwrap();
        let opts = SqliteConnectOptions::new().filename(&path);
        let conn = SqliteConnection::connect_with(&opts).await.unwrap();
        let writer = Writer {
            pool: store.pool.clone(),
            writes: store.writes.clone(),
            own: Some((tokio::sync::Mutex::new(conn), opts)),
        };
        crate::batch::contract::batch_applies_winners_only(&store, &writer).await;
    }
}
