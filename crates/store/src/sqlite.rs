//! The embedded SQLite backend: one file, WAL journal, prepared statements
//! cached per connection.

use crate::{
    AuditEvent, AuditRecord, Client, KeyRecord, NewUser, Result, Rotation, Session, Store,
    StoreError, User,
};
use async_trait::async_trait;
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteRow, SqliteSynchronous,
};
use sqlx::{Connection, Executor, Row, SqlitePool};
use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

/// Embedded migrations, applied in order.
const MIGRATIONS: &[(i64, &str)] = &[
    (1, include_str!("../migrations/sqlite/0001_init.sql")),
    (2, include_str!("../migrations/sqlite/0002_clients.sql")),
    (3, include_str!("../migrations/sqlite/0003_leases.sql")),
    (4, include_str!("../migrations/sqlite/0004_kv.sql")),
    (
        5,
        include_str!("../migrations/sqlite/0005_revocation_feed.sql"),
    ),
];

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
    /// The background checkpointer stops when the last clone is dropped.
    _alive: std::sync::Arc<()>,
}

/// Copies committed WAL frames into the database file every 250 ms
/// (`PRAGMA wal_checkpoint(PASSIVE)`: never waits for readers or writers),
/// until the store is dropped. Writers keep appending meanwhile.
async fn checkpointer(pool: SqlitePool, alive: std::sync::Weak<()>) {
    let mut tick = tokio::time::interval(Duration::from_millis(250));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        if alive.strong_count() == 0 || pool.is_closed() {
            return;
        }
        if let Err(e) = sqlx::query("PRAGMA wal_checkpoint(PASSIVE)")
            .execute(&pool)
            .await
        {
            tracing::debug!(error = %e, "background WAL checkpoint");
        }
    }
}

pub(crate) fn map_err(e: sqlx::Error) -> StoreError {
    match e {
        sqlx::Error::Database(db) if db.is_unique_violation() => StoreError::Conflict,
        sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed | sqlx::Error::Io(_) => {
            StoreError::Unavailable(e.to_string())
        }
        sqlx::Error::Database(db) if matches!(db.code().as_deref(), Some("5") | Some("6")) => {
            // SQLITE_BUSY / SQLITE_LOCKED
            StoreError::Unavailable(db.message().to_owned())
        }
        other => StoreError::Backend(other.to_string()),
    }
}

fn roles_from(text: &str) -> Vec<String> {
    serde_json::from_str(text).unwrap_or_default()
}

fn roles_to(roles: &[String]) -> String {
    serde_json::to_string(roles).unwrap_or_else(|_| "[]".into())
}

fn user_from(row: &SqliteRow) -> std::result::Result<User, sqlx::Error> {
    Ok(User {
        id: row.try_get("id")?,
        email: row.try_get("email")?,
        password_hash: row.try_get("password_hash")?,
        roles: roles_from(row.try_get::<&str, _>("roles")?),
        created_at: row.try_get("created_at")?,
    })
}

fn session_from(row: &SqliteRow) -> std::result::Result<Session, sqlx::Error> {
    Ok(Session {
        id: row.try_get("id")?,
        user_id: row.try_get("user_id")?,
        created_at: row.try_get("created_at")?,
        last_used_at: row.try_get("last_used_at")?,
        expires_at: row.try_get("expires_at")?,
        idle_expires_at: row.try_get("idle_expires_at")?,
        revoked_at: row.try_get("revoked_at")?,
        revoked_reason: row.try_get("revoked_reason")?,
        user_agent: row.try_get("user_agent")?,
        ip: row.try_get("ip")?,
        generation: row.try_get("generation")?,
        token_hash: row.try_get("token_hash")?,
        rotated_at: row.try_get("rotated_at")?,
    })
}

fn key_from(row: &SqliteRow) -> std::result::Result<KeyRecord, sqlx::Error> {
    Ok(KeyRecord {
        kid: row.try_get("kid")?,
        alg: row.try_get("alg")?,
        sealed_key: row.try_get("sealed_key")?,
        public_jwk: row.try_get("public_jwk")?,
        created_at: row.try_get("created_at")?,
        activates_at: row.try_get("activates_at")?,
        retired_at: row.try_get("retired_at")?,
    })
}

fn audit_from(row: &SqliteRow) -> std::result::Result<AuditRecord, sqlx::Error> {
    Ok(AuditRecord {
        id: row.try_get("id")?,
        event: AuditEvent {
            at: row.try_get("at")?,
            event: row.try_get("event")?,
            user_id: row.try_get("user_id")?,
            session_id: row.try_get("session_id")?,
            ip: row.try_get("ip")?,
            user_agent: row.try_get("user_agent")?,
            detail: row.try_get("detail")?,
        },
    })
}

fn client_from(row: &SqliteRow) -> std::result::Result<Client, sqlx::Error> {
    Ok(Client {
        id: row.try_get("id")?,
        secret_hash: row.try_get("secret_hash")?,
        scopes: roles_from(row.try_get::<&str, _>("scopes")?),
        grants: roles_from(row.try_get::<&str, _>("grants")?),
        created_at: row.try_get("created_at")?,
    })
}

/// A session and its user (left join: the user may be gone).
const SESSION_WITH_USER: &str = "SELECT s.id, s.user_id, s.created_at, s.last_used_at, \
    s.expires_at, s.idle_expires_at, s.revoked_at, s.revoked_reason, s.user_agent, s.ip, \
    s.generation, s.token_hash, s.rotated_at, u.email AS u_email, \
    u.password_hash AS u_password_hash, u.roles AS u_roles, u.created_at AS u_created_at \
    FROM sessions s LEFT JOIN users u ON u.id = s.user_id WHERE s.id = ?";

fn session_with_user_from(
    row: &SqliteRow,
) -> std::result::Result<(Session, Option<User>), sqlx::Error> {
    let session = session_from(row)?;
    let user = match row.try_get::<Option<String>, _>("u_email")? {
        None => None,
        Some(email) => Some(User {
            id: session.user_id.clone(),
            email,
            password_hash: row.try_get("u_password_hash")?,
            roles: roles_from(row.try_get::<&str, _>("u_roles")?),
            created_at: row.try_get("u_created_at")?,
        }),
    };
    Ok((session, user))
}

/// One refresh rotation and its audit row, sent to SQLite's connection
/// thread as one multi-statement command (one round trip, one commit). The
/// audit row is inserted only if the compare-and-swap changed a row.
const ROTATE_AUDITED: &str = "BEGIN IMMEDIATE; \
    UPDATE sessions SET token_hash = ?1, generation = generation + 1, rotated_at = ?2, \
    last_used_at = ?2, idle_expires_at = ?3 \
    WHERE id = ?4 AND generation = ?5 AND token_hash = ?6 AND revoked_at IS NULL \
    RETURNING generation; \
    INSERT INTO audit_log (at, event, user_id, session_id, ip, user_agent, detail) \
    SELECT ?7, ?8, ?9, ?10, ?11, ?12, ?13 WHERE changes() = 1; \
    COMMIT;";

const SESSION_COLS: &str = "id, user_id, created_at, last_used_at, expires_at, idle_expires_at, \
    revoked_at, revoked_reason, user_agent, ip, generation, token_hash, rotated_at";

impl SqliteStore {
    /// Opens (creating if needed) the database file and applies migrations.
    pub async fn open_file(path: &Path) -> Result<Self> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(|e| {
                StoreError::Unavailable(format!("cannot create {}: {e}", dir.display()))
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
            .pragma("cache_size", "-8000")
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
        if !in_memory {
            tokio::spawn(checkpointer(
                pool.clone(),
                std::sync::Arc::downgrade(&alive),
            ));
        }
        let store = SqliteStore {
            pool,
            writes: Default::default(),
            _alive: alive,
        };
        store.migrate().await?;
        Ok(store)
    }

    /// The rotation and its audit row in one transaction. It runs on its own
    /// task, so a caller that goes away (a client disconnecting) cannot stop
    /// it between `BEGIN` and `COMMIT`; a failed statement is rolled back
    /// before the connection goes back to the pool.
    async fn rotate_audited(&self, r: &Rotation<'_>, a: &AuditEvent) -> Result<bool> {
        let query = sqlx::query(ROTATE_AUDITED)
            .bind(r.new_hash.to_vec())
            .bind(r.now)
            .bind(r.idle_expires_at)
            .bind(r.session_id.to_owned())
            .bind(r.expected_generation)
            .bind(r.expected_hash.to_vec())
            .bind(a.at)
            .bind(a.event.clone())
            .bind(a.user_id.clone())
            .bind(a.session_id.clone())
            .bind(a.ip.clone())
            .bind(a.user_agent.clone())
            .bind(a.detail.clone());
        let (pool, writes) = (self.pool.clone(), self.writes.clone());
        tokio::spawn(async move {
            let _write = writes.lock_owned().await;
            let mut conn = pool.acquire().await.map_err(map_err)?;
            match query.fetch_all(&mut *conn).await {
                Ok(rows) => Ok(rows.len() == 1),
                Err(e) => {
                    // Ends the transaction if BEGIN got through; an error
                    // here only means there was none.
                    if let Err(rollback) = sqlx::query("ROLLBACK").execute(&mut *conn).await {
                        // Most likely no transaction was open (BEGIN failed,
                        // or SQLite rolled back itself); if one still is, the
                        // connection must not go back to the pool holding it.
                        let open = !rollback.to_string().contains("no transaction is active");
                        if open {
                            conn.close_on_drop();
                        }
                    }
                    Err(map_err(e))
                }
            }
        })
        .await
        .map_err(|e| StoreError::Backend(format!("rotation task: {e}")))?
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
        let result: std::result::Result<(), sqlx::Error> = async {
            for (version, sql) in MIGRATIONS {
                let done: Option<i64> =
                    sqlx::query_scalar("SELECT version FROM schema_migrations WHERE version = ?")
                        .bind(version)
                        .fetch_optional(&mut *conn)
                        .await?;
                if done.is_none() {
                    sqlx::raw_sql(sql).execute(&mut *conn).await?;
                    sqlx::query("INSERT INTO schema_migrations (version) VALUES (?)")
                        .bind(version)
                        .execute(&mut *conn)
                        .await?;
                    tracing::info!(version, "applied migration");
                }
            }
            Ok(())
        }
        .await;
        match result {
            Ok(()) => conn.execute("COMMIT").await.map(|_| ()).map_err(map_err),
            Err(e) => {
                let _ = conn.execute("ROLLBACK").await;
                Err(map_err(e))
            }
        }
    }

    /// Closes the pool (used on shutdown and in restart tests).
    pub async fn close(&self) {
        self.pool.close().await;
    }
}

#[async_trait]
impl Store for SqliteStore {
    async fn ping(&self) -> Result<()> {
        let mut conn = self.pool.acquire().await.map_err(map_err)?;
        conn.ping().await.map_err(map_err)
    }

    async fn create_user(&self, u: &NewUser) -> Result<()> {
        let _write = self.writes.lock().await;
        sqlx::query(
            "INSERT INTO users (id, email, password_hash, roles, created_at) VALUES (?, ?, ?, ?, ?)",
        )
        .bind(&u.id)
        .bind(&u.email)
        .bind(&u.password_hash)
        .bind(roles_to(&u.roles))
        .bind(u.created_at)
        .execute(&self.pool)
        .await
        .map(|_| ())
        .map_err(map_err)
    }

    async fn user_by_email(&self, email: &str) -> Result<Option<User>> {
        sqlx::query("SELECT id, email, password_hash, roles, created_at FROM users WHERE email = ?")
            .bind(email)
            .try_map(|r: SqliteRow| user_from(&r))
            .fetch_optional(&self.pool)
            .await
            .map_err(map_err)
    }

    async fn user_by_id(&self, id: &str) -> Result<Option<User>> {
        sqlx::query("SELECT id, email, password_hash, roles, created_at FROM users WHERE id = ?")
            .bind(id)
            .try_map(|r: SqliteRow| user_from(&r))
            .fetch_optional(&self.pool)
            .await
            .map_err(map_err)
    }

    async fn list_users(&self, after: Option<&str>, limit: u32) -> Result<Vec<User>> {
        sqlx::query(
            "SELECT id, email, password_hash, roles, created_at FROM users \
             WHERE email > ? ORDER BY email LIMIT ?",
        )
        .bind(after.unwrap_or(""))
        .bind(i64::from(limit))
        .try_map(|r: SqliteRow| user_from(&r))
        .fetch_all(&self.pool)
        .await
        .map_err(map_err)
    }

    async fn set_roles(&self, user_id: &str, roles: &[String]) -> Result<bool> {
        sqlx::query("UPDATE users SET roles = ? WHERE id = ?")
            .bind(roles_to(roles))
            .bind(user_id)
            .execute(&self.pool)
            .await
            .map(|r| r.rows_affected() == 1)
            .map_err(map_err)
    }

    async fn set_password_hash(&self, user_id: &str, hash: &str) -> Result<bool> {
        let _write = self.writes.lock().await;
        sqlx::query("UPDATE users SET password_hash = ? WHERE id = ?")
            .bind(hash)
            .bind(user_id)
            .execute(&self.pool)
            .await
            .map(|r| r.rows_affected() == 1)
            .map_err(map_err)
    }

    async fn create_session(&self, s: &Session) -> Result<()> {
        let _write = self.writes.lock().await;
        sqlx::query(
            "INSERT INTO sessions (id, user_id, created_at, last_used_at, expires_at, \
             idle_expires_at, revoked_at, revoked_reason, user_agent, ip, generation, token_hash, \
             rotated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(&s.id)
        .bind(&s.user_id)
        .bind(s.created_at)
        .bind(s.last_used_at)
        .bind(s.expires_at)
        .bind(s.idle_expires_at)
        .bind(s.revoked_at)
        .bind(&s.revoked_reason)
        .bind(&s.user_agent)
        .bind(&s.ip)
        .bind(s.generation)
        .bind(&s.token_hash)
        .bind(s.rotated_at)
        .execute(&self.pool)
        .await
        .map(|_| ())
        .map_err(map_err)
    }

    async fn session(&self, id: &str) -> Result<Option<Session>> {
        sqlx::query(&format!("SELECT {SESSION_COLS} FROM sessions WHERE id = ?"))
            .bind(id)
            .try_map(|r: SqliteRow| session_from(&r))
            .fetch_optional(&self.pool)
            .await
            .map_err(map_err)
    }

    async fn session_with_user(&self, id: &str) -> Result<Option<(Session, Option<User>)>> {
        sqlx::query(SESSION_WITH_USER)
            .bind(id)
            .try_map(|r: SqliteRow| session_with_user_from(&r))
            .fetch_optional(&self.pool)
            .await
            .map_err(map_err)
    }

    async fn rotate_session(&self, r: &Rotation<'_>) -> Result<bool> {
        if let Some(audit) = r.audit {
            return self.rotate_audited(r, audit).await;
        }
        let _write = self.writes.lock().await;
        sqlx::query(
            "UPDATE sessions SET token_hash = ?, generation = generation + 1, rotated_at = ?, \
             last_used_at = ?, idle_expires_at = ? \
             WHERE id = ? AND generation = ? AND token_hash = ? AND revoked_at IS NULL",
        )
        .bind(r.new_hash)
        .bind(r.now)
        .bind(r.now)
        .bind(r.idle_expires_at)
        .bind(r.session_id)
        .bind(r.expected_generation)
        .bind(r.expected_hash)
        .execute(&self.pool)
        .await
        .map(|res| res.rows_affected() == 1)
        .map_err(map_err)
    }

    async fn revoke_session(&self, id: &str, now: i64, reason: &str) -> Result<bool> {
        let _write = self.writes.lock().await;
        sqlx::query(
            "UPDATE sessions SET revoked_at = ?, revoked_reason = ? \
             WHERE id = ? AND revoked_at IS NULL",
        )
        .bind(now)
        .bind(reason)
        .bind(id)
        .execute(&self.pool)
        .await
        .map(|r| r.rows_affected() == 1)
        .map_err(map_err)
    }

    async fn revoke_user_sessions(
        &self,
        user_id: &str,
        now: i64,
        reason: &str,
    ) -> Result<Vec<String>> {
        let _write = self.writes.lock().await;
        sqlx::query(
            "UPDATE sessions SET revoked_at = ?, revoked_reason = ? \
             WHERE user_id = ? AND revoked_at IS NULL RETURNING id",
        )
        .bind(now)
        .bind(reason)
        .bind(user_id)
        .try_map(|r: SqliteRow| r.try_get::<String, _>("id"))
        .fetch_all(&self.pool)
        .await
        .map_err(map_err)
    }

    async fn live_sessions(&self, user_id: &str, now: i64) -> Result<Vec<Session>> {
        sqlx::query(&format!(
            "SELECT {SESSION_COLS} FROM sessions WHERE user_id = ? AND revoked_at IS NULL \
             AND expires_at > ? AND idle_expires_at > ? ORDER BY created_at DESC, id"
        ))
        .bind(user_id)
        .bind(now)
        .bind(now)
        .try_map(|r: SqliteRow| session_from(&r))
        .fetch_all(&self.pool)
        .await
        .map_err(map_err)
    }

    async fn count_live_sessions(&self, now: i64) -> Result<i64> {
        sqlx::query_scalar(
            "SELECT COUNT(*) FROM sessions WHERE revoked_at IS NULL AND expires_at > ? \
             AND idle_expires_at > ?",
        )
        .bind(now)
        .bind(now)
        .fetch_one(&self.pool)
        .await
        .map_err(map_err)
    }

    async fn purge_sessions(&self, before: i64) -> Result<u64> {
        sqlx::query(
            "DELETE FROM sessions WHERE (expires_at < ? OR idle_expires_at < ?) \
             AND (revoked_at IS NULL OR revoked_at < ?)",
        )
        .bind(before)
        .bind(before)
        .bind(before)
        .execute(&self.pool)
        .await
        .map(|r| r.rows_affected())
        .map_err(map_err)
    }

    async fn revocations_since(&self, from: i64, limit: u32) -> Result<Vec<(String, i64)>> {
        sqlx::query(
            "SELECT id, revoked_at FROM sessions WHERE revoked_at >= ? \
             ORDER BY revoked_at, id LIMIT ?",
        )
        .bind(from)
        .bind(i64::from(limit))
        .try_map(|r: SqliteRow| Ok((r.try_get("id")?, r.try_get("revoked_at")?)))
        .fetch_all(&self.pool)
        .await
        .map_err(map_err)
    }

    async fn count_revocations_since(&self, from: i64) -> Result<u64> {
        sqlx::query_scalar::<_, i64>("SELECT COUNT(*) FROM sessions WHERE revoked_at >= ?")
            .bind(from)
            .fetch_one(&self.pool)
            .await
            .map(|n| u64::try_from(n).unwrap_or(0))
            .map_err(map_err)
    }

    async fn insert_key(&self, k: &KeyRecord) -> Result<()> {
        sqlx::query(
            "INSERT INTO signing_keys (kid, alg, sealed_key, public_jwk, created_at, activates_at, \
             retired_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(&k.kid)
        .bind(&k.alg)
        .bind(&k.sealed_key)
        .bind(&k.public_jwk)
        .bind(k.created_at)
        .bind(k.activates_at)
        .bind(k.retired_at)
        .execute(&self.pool)
        .await
        .map(|_| ())
        .map_err(map_err)
    }

    async fn keys(&self) -> Result<Vec<KeyRecord>> {
        sqlx::query(
            "SELECT kid, alg, sealed_key, public_jwk, created_at, activates_at, retired_at \
             FROM signing_keys ORDER BY created_at, kid",
        )
        .try_map(|r: SqliteRow| key_from(&r))
        .fetch_all(&self.pool)
        .await
        .map_err(map_err)
    }

    async fn retire_key(&self, kid: &str, at: i64) -> Result<()> {
        sqlx::query("UPDATE signing_keys SET retired_at = ? WHERE kid = ? AND retired_at IS NULL")
            .bind(at)
            .bind(kid)
            .execute(&self.pool)
            .await
            .map(|_| ())
            .map_err(map_err)
    }

    async fn delete_key(&self, kid: &str) -> Result<()> {
        sqlx::query("DELETE FROM signing_keys WHERE kid = ?")
            .bind(kid)
            .execute(&self.pool)
            .await
            .map(|_| ())
            .map_err(map_err)
    }

    async fn audit(&self, e: &AuditEvent) -> Result<()> {
        let _write = self.writes.lock().await;
        sqlx::query(
            "INSERT INTO audit_log (at, event, user_id, session_id, ip, user_agent, detail) \
             VALUES (?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(e.at)
        .bind(&e.event)
        .bind(&e.user_id)
        .bind(&e.session_id)
        .bind(&e.ip)
        .bind(&e.user_agent)
        .bind(&e.detail)
        .execute(&self.pool)
        .await
        .map(|_| ())
        .map_err(map_err)
    }

    async fn audit_after(&self, after: i64, limit: u32) -> Result<Vec<AuditRecord>> {
        sqlx::query(
            "SELECT id, at, event, user_id, session_id, ip, user_agent, detail FROM audit_log \
             WHERE id > ? ORDER BY id LIMIT ?",
        )
        .bind(after)
        .bind(i64::from(limit))
        .try_map(|r: SqliteRow| audit_from(&r))
        .fetch_all(&self.pool)
        .await
        .map_err(map_err)
    }

    async fn audit_before(&self, before: Option<i64>, limit: u32) -> Result<Vec<AuditRecord>> {
        sqlx::query(
            "SELECT id, at, event, user_id, session_id, ip, user_agent, detail FROM audit_log \
             WHERE id < ? ORDER BY id DESC LIMIT ?",
        )
        .bind(before.unwrap_or(i64::MAX))
        .bind(i64::from(limit))
        .try_map(|r: SqliteRow| audit_from(&r))
        .fetch_all(&self.pool)
        .await
        .map_err(map_err)
    }

    async fn create_client(&self, c: &Client) -> Result<()> {
        sqlx::query(
            "INSERT INTO clients (id, secret_hash, scopes, grants, created_at) VALUES (?, ?, ?, ?, ?)",
        )
        .bind(&c.id)
        .bind(&c.secret_hash)
        .bind(roles_to(&c.scopes))
        .bind(roles_to(&c.grants))
        .bind(c.created_at)
        .execute(&self.pool)
        .await
        .map(|_| ())
        .map_err(map_err)
    }

    async fn client(&self, id: &str) -> Result<Option<Client>> {
        sqlx::query("SELECT id, secret_hash, scopes, grants, created_at FROM clients WHERE id = ?")
            .bind(id)
            .try_map(|r: SqliteRow| client_from(&r))
            .fetch_optional(&self.pool)
            .await
            .map_err(map_err)
    }

    async fn clients(&self) -> Result<Vec<Client>> {
        sqlx::query("SELECT id, secret_hash, scopes, grants, created_at FROM clients ORDER BY id")
            .try_map(|r: SqliteRow| client_from(&r))
            .fetch_all(&self.pool)
            .await
            .map_err(map_err)
    }

    async fn delete_client(&self, id: &str) -> Result<bool> {
        sqlx::query("DELETE FROM clients WHERE id = ?")
            .bind(id)
            .execute(&self.pool)
            .await
            .map(|r| r.rows_affected() == 1)
            .map_err(map_err)
    }

    async fn revoke_token(&self, jti: &str, expires_at: i64) -> Result<()> {
        sqlx::query("INSERT INTO revoked_tokens (jti, expires_at) VALUES (?, ?) ON CONFLICT (jti) DO NOTHING")
            .bind(jti)
            .bind(expires_at)
            .execute(&self.pool)
            .await
            .map(|_| ())
            .map_err(map_err)
    }

    async fn is_token_revoked(&self, jti: &str) -> Result<bool> {
        sqlx::query_scalar::<_, i64>("SELECT 1 FROM revoked_tokens WHERE jti = ?")
            .bind(jti)
            .fetch_optional(&self.pool)
            .await
            .map(|r| r.is_some())
            .map_err(map_err)
    }

    async fn purge_revoked_tokens(&self, before: i64) -> Result<u64> {
        sqlx::query("DELETE FROM revoked_tokens WHERE expires_at < ?")
            .bind(before)
            .execute(&self.pool)
            .await
            .map(|r| r.rows_affected())
            .map_err(map_err)
    }

    async fn try_lease(&self, name: &str, holder: &str, now: i64, ttl: i64) -> Result<bool> {
        sqlx::query(
            "INSERT INTO leases (name, holder, expires_at) VALUES (?, ?, ?) \
             ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, expires_at = excluded.expires_at \
             WHERE leases.expires_at <= ? OR leases.holder = excluded.holder",
        )
        .bind(name)
        .bind(holder)
        .bind(now.saturating_add(ttl))
        .bind(now)
        .execute(&self.pool)
        .await
        .map(|r| r.rows_affected() == 1)
        .map_err(map_err)
    }

    async fn kv_get(&self, key: &str, now: i64) -> Result<Option<(Vec<u8>, i64)>> {
        sqlx::query("SELECT value, version FROM kv WHERE key = ? AND expires_at > ?")
            .bind(key)
            .bind(now)
            .try_map(|r: SqliteRow| Ok((r.try_get("value")?, r.try_get("version")?)))
            .fetch_optional(&self.pool)
            .await
            .map_err(map_err)
    }

    async fn kv_put(
        &self,
        key: &str,
        expected: Option<i64>,
        value: &[u8],
        expires_at: i64,
        now: i64,
    ) -> Result<bool> {
        let res = match expected {
            // Absent (or expired) rows count as absent.
            None => sqlx::query(
                "INSERT INTO kv (key, value, version, expires_at) VALUES (?, ?, 1, ?) \
                 ON CONFLICT (key) DO UPDATE SET value = excluded.value, version = kv.version + 1, \
                 expires_at = excluded.expires_at WHERE kv.expires_at <= ?",
            )
            .bind(key)
            .bind(value)
            .bind(expires_at)
            .bind(now),
            Some(v) => sqlx::query(
                "UPDATE kv SET value = ?, version = version + 1, expires_at = ? \
                 WHERE key = ? AND version = ? AND expires_at > ?",
            )
            .bind(value)
            .bind(expires_at)
            .bind(key)
            .bind(v)
            .bind(now),
        };
        res.execute(&self.pool)
            .await
            .map(|r| r.rows_affected() == 1)
            .map_err(map_err)
    }

    async fn kv_delete(&self, key: &str) -> Result<()> {
        sqlx::query("DELETE FROM kv WHERE key = ?")
            .bind(key)
            .execute(&self.pool)
            .await
            .map(|_| ())
            .map_err(map_err)
    }

    async fn kv_purge(&self, now: i64) -> Result<u64> {
        sqlx::query("DELETE FROM kv WHERE expires_at <= ?")
            .bind(now)
            .execute(&self.pool)
            .await
            .map(|r| r.rows_affected())
            .map_err(map_err)
    }
}
