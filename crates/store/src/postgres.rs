//! The PostgreSQL backend, for several stateless instances on one database.
//! Every statement is a single, short transaction under READ COMMITTED; the
//! refresh rotation is a conditional `UPDATE` (compare-and-swap on the row), so
//! concurrent rotations of one session serialise on its row lock and exactly
//! one wins.

use crate::{
    AuditEvent, AuditRecord, Client, KeyRecord, NewUser, Result, Rotation, Session, Store,
    StoreError, User,
};
use async_trait::async_trait;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions, PgRow};
use sqlx::{Connection, PgPool, Row};
use std::future::Future;
use std::pin::Pin;
use std::str::FromStr;
use std::time::Duration;

/// Embedded migrations, applied in order.
const MIGRATIONS: &[(i64, &str)] = &[
    (1, include_str!("../migrations/postgres/0001_init.sql")),
    (2, include_str!("../migrations/postgres/0002_clients.sql")),
    (3, include_str!("../migrations/postgres/0003_leases.sql")),
    (4, include_str!("../migrations/postgres/0004_kv.sql")),
    (
        5,
        include_str!("../migrations/postgres/0005_revocation_feed.sql"),
    ),
];

/// Connection-pool settings.
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

/// The PostgreSQL store.
#[derive(Debug, Clone)]
pub struct PgStore {
    pool: PgPool,
}

pub(crate) fn map_err(e: sqlx::Error) -> StoreError {
    match e {
        sqlx::Error::Database(db) if db.is_unique_violation() => StoreError::Conflict,
        sqlx::Error::Database(db)
            if matches!(
                db.code().as_deref(),
                Some("40001") | Some("40P01") | Some("57014") | Some("57P01") | Some("53300")
            ) =>
        {
            // serialization failure, deadlock, statement timeout, admin shutdown, too many connections
            StoreError::Unavailable(db.message().to_owned())
        }
        sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::Io(_)
        | sqlx::Error::Tls(_)
        | sqlx::Error::Protocol(_) => StoreError::Unavailable(e.to_string()),
        other => StoreError::Backend(other.to_string()),
    }
}

fn roles_from(text: &str) -> Vec<String> {
    serde_json::from_str(text).unwrap_or_default()
}

fn roles_to(roles: &[String]) -> String {
    serde_json::to_string(roles).unwrap_or_else(|_| "[]".into())
}

fn user_from(row: &PgRow) -> std::result::Result<User, sqlx::Error> {
    Ok(User {
        id: row.try_get("id")?,
        email: row.try_get("email")?,
        password_hash: row.try_get("password_hash")?,
        roles: roles_from(row.try_get::<&str, _>("roles")?),
        created_at: row.try_get("created_at")?,
    })
}

fn session_from(row: &PgRow) -> std::result::Result<Session, sqlx::Error> {
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

fn key_from(row: &PgRow) -> std::result::Result<KeyRecord, sqlx::Error> {
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

fn audit_from(row: &PgRow) -> std::result::Result<AuditRecord, sqlx::Error> {
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

fn client_from(row: &PgRow) -> std::result::Result<Client, sqlx::Error> {
    Ok(Client {
        id: row.try_get("id")?,
        secret_hash: row.try_get("secret_hash")?,
        scopes: roles_from(row.try_get::<&str, _>("scopes")?),
        grants: roles_from(row.try_get::<&str, _>("grants")?),
        created_at: row.try_get("created_at")?,
    })
}

const SESSION_COLS: &str = "id, user_id, created_at, last_used_at, expires_at, idle_expires_at, \
    revoked_at, revoked_reason, user_agent, ip, generation, token_hash, rotated_at";

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

fn applied(conn: &mut sqlx::PgConnection, version: i64) -> BoxFut<'_, bool> {
    Box::pin(async move {
        sqlx::query_scalar::<_, i64>("SELECT version FROM schema_migrations WHERE version = $1")
            .bind(version)
            .fetch_optional(conn)
            .await
            .map(|v| v.is_some())
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
                return Err(StoreError::Backend("schema names are [A-Za-z0-9_]".into()));
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
        for &(version, sql) in MIGRATIONS {
            if !applied(conn, version).await? {
                exec(conn, sql).await?;
                exec(
                    conn,
                    &format!("INSERT INTO schema_migrations (version) VALUES ({version})"),
                )
                .await?;
                tracing::info!(version, "applied migration");
            }
        }
        tx.commit().await.map_err(map_err)
    }

    /// Closes the pool.
    pub async fn close(&self) {
        self.pool.close().await;
    }
}

#[async_trait]
impl Store for PgStore {
    async fn ping(&self) -> Result<()> {
        let mut conn = self.pool.acquire().await.map_err(map_err)?;
        conn.ping().await.map_err(map_err)
    }

    async fn create_user(&self, u: &NewUser) -> Result<()> {
        sqlx::query(
            "INSERT INTO users (id, email, password_hash, roles, created_at) VALUES ($1, $2, $3, $4, $5)",
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
        sqlx::query(
            "SELECT id, email, password_hash, roles, created_at FROM users WHERE email = $1",
        )
        .bind(email)
        .try_map(|r: PgRow| user_from(&r))
        .fetch_optional(&self.pool)
        .await
        .map_err(map_err)
    }

    async fn user_by_id(&self, id: &str) -> Result<Option<User>> {
        sqlx::query("SELECT id, email, password_hash, roles, created_at FROM users WHERE id = $1")
            .bind(id)
            .try_map(|r: PgRow| user_from(&r))
            .fetch_optional(&self.pool)
            .await
            .map_err(map_err)
    }

    async fn list_users(&self, after: Option<&str>, limit: u32) -> Result<Vec<User>> {
        sqlx::query(
            "SELECT id, email, password_hash, roles, created_at FROM users \
             WHERE email > $1 ORDER BY email LIMIT $2",
        )
        .bind(after.unwrap_or(""))
        .bind(i64::from(limit))
        .try_map(|r: PgRow| user_from(&r))
        .fetch_all(&self.pool)
        .await
        .map_err(map_err)
    }

    async fn set_roles(&self, user_id: &str, roles: &[String]) -> Result<bool> {
        sqlx::query("UPDATE users SET roles = $1 WHERE id = $2")
            .bind(roles_to(roles))
            .bind(user_id)
            .execute(&self.pool)
            .await
            .map(|r| r.rows_affected() == 1)
            .map_err(map_err)
    }

    async fn set_password_hash(&self, user_id: &str, hash: &str) -> Result<bool> {
        sqlx::query("UPDATE users SET password_hash = $1 WHERE id = $2")
            .bind(hash)
            .bind(user_id)
            .execute(&self.pool)
            .await
            .map(|r| r.rows_affected() == 1)
            .map_err(map_err)
    }

    async fn create_session(&self, s: &Session) -> Result<()> {
        sqlx::query(
            "INSERT INTO sessions (id, user_id, created_at, last_used_at, expires_at, \
             idle_expires_at, revoked_at, revoked_reason, user_agent, ip, generation, token_hash, \
             rotated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)",
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
        sqlx::query(&format!(
            "SELECT {SESSION_COLS} FROM sessions WHERE id = $1"
        ))
        .bind(id)
        .try_map(|r: PgRow| session_from(&r))
        .fetch_optional(&self.pool)
        .await
        .map_err(map_err)
    }

    async fn session_with_user(&self, id: &str) -> Result<Option<(Session, Option<User>)>> {
        sqlx::query(
            "SELECT s.id, s.user_id, s.created_at, s.last_used_at, s.expires_at, \
             s.idle_expires_at, s.revoked_at, s.revoked_reason, s.user_agent, s.ip, s.generation, \
             s.token_hash, s.rotated_at, u.email AS u_email, u.password_hash AS u_password_hash, \
             u.roles AS u_roles, u.created_at AS u_created_at \
             FROM sessions s LEFT JOIN users u ON u.id = s.user_id WHERE s.id = $1",
        )
        .bind(id)
        .try_map(|row: PgRow| {
            let session = session_from(&row)?;
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
        })
        .fetch_optional(&self.pool)
        .await
        .map_err(map_err)
    }

    async fn rotate_session(&self, r: &Rotation<'_>) -> Result<bool> {
        if let Some(a) = r.audit {
            // One statement, one round trip, one commit: the audit row is
            // inserted only for the row the compare-and-swap changed.
            return sqlx::query(
                "WITH r AS (UPDATE sessions SET token_hash = $1, generation = generation + 1, \
                 rotated_at = $2, last_used_at = $2, idle_expires_at = $3 \
                 WHERE id = $4 AND generation = $5 AND token_hash = $6 AND revoked_at IS NULL \
                 RETURNING id) \
                 INSERT INTO audit_log (at, event, user_id, session_id, ip, user_agent, detail) \
                 SELECT $7, $8, $9, $10, $11, $12, $13 FROM r RETURNING id",
            )
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
            .fetch_all(&self.pool)
            .await
            .map(|rows| rows.len() == 1)
            .map_err(map_err);
        }
        sqlx::query(
            "UPDATE sessions SET token_hash = $1, generation = generation + 1, rotated_at = $2, \
             last_used_at = $3, idle_expires_at = $4 \
             WHERE id = $5 AND generation = $6 AND token_hash = $7 AND revoked_at IS NULL",
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
        sqlx::query(
            "UPDATE sessions SET revoked_at = $1, revoked_reason = $2 \
             WHERE id = $3 AND revoked_at IS NULL",
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
        sqlx::query(
            "UPDATE sessions SET revoked_at = $1, revoked_reason = $2 \
             WHERE user_id = $3 AND revoked_at IS NULL RETURNING id",
        )
        .bind(now)
        .bind(reason)
        .bind(user_id)
        .try_map(|r: PgRow| r.try_get::<String, _>("id"))
        .fetch_all(&self.pool)
        .await
        .map_err(map_err)
    }

    async fn live_sessions(&self, user_id: &str, now: i64) -> Result<Vec<Session>> {
        sqlx::query(&format!(
            "SELECT {SESSION_COLS} FROM sessions WHERE user_id = $1 AND revoked_at IS NULL \
             AND expires_at > $2 AND idle_expires_at > $3 ORDER BY created_at DESC, id"
        ))
        .bind(user_id)
        .bind(now)
        .bind(now)
        .try_map(|r: PgRow| session_from(&r))
        .fetch_all(&self.pool)
        .await
        .map_err(map_err)
    }

    async fn count_live_sessions(&self, now: i64) -> Result<i64> {
        sqlx::query_scalar(
            "SELECT COUNT(*) FROM sessions WHERE revoked_at IS NULL AND expires_at > $1 \
             AND idle_expires_at > $2",
        )
        .bind(now)
        .bind(now)
        .fetch_one(&self.pool)
        .await
        .map_err(map_err)
    }

    async fn purge_sessions(&self, before: i64) -> Result<u64> {
        sqlx::query(
            "DELETE FROM sessions WHERE (expires_at < $1 OR idle_expires_at < $1) \
             AND (revoked_at IS NULL OR revoked_at < $1)",
        )
        .bind(before)
        .execute(&self.pool)
        .await
        .map(|r| r.rows_affected())
        .map_err(map_err)
    }

    async fn revocations_since(&self, from: i64, limit: u32) -> Result<Vec<(String, i64)>> {
        sqlx::query(
            "SELECT id, revoked_at FROM sessions WHERE revoked_at >= $1 \
             ORDER BY revoked_at, id LIMIT $2",
        )
        .bind(from)
        .bind(i64::from(limit))
        .try_map(|r: PgRow| Ok((r.try_get("id")?, r.try_get("revoked_at")?)))
        .fetch_all(&self.pool)
        .await
        .map_err(map_err)
    }

    async fn count_revocations_since(&self, from: i64) -> Result<u64> {
        sqlx::query_scalar::<_, i64>("SELECT COUNT(*) FROM sessions WHERE revoked_at >= $1")
            .bind(from)
            .fetch_one(&self.pool)
            .await
            .map(|n| u64::try_from(n).unwrap_or(0))
            .map_err(map_err)
    }

    async fn insert_key(&self, k: &KeyRecord) -> Result<()> {
        sqlx::query(
            "INSERT INTO signing_keys (kid, alg, sealed_key, public_jwk, created_at, activates_at, \
             retired_at) VALUES ($1, $2, $3, $4, $5, $6, $7)",
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
        .try_map(|r: PgRow| key_from(&r))
        .fetch_all(&self.pool)
        .await
        .map_err(map_err)
    }

    async fn retire_key(&self, kid: &str, at: i64) -> Result<()> {
        sqlx::query("UPDATE signing_keys SET retired_at = $1 WHERE kid = $2 AND retired_at IS NULL")
            .bind(at)
            .bind(kid)
            .execute(&self.pool)
            .await
            .map(|_| ())
            .map_err(map_err)
    }

    async fn delete_key(&self, kid: &str) -> Result<()> {
        sqlx::query("DELETE FROM signing_keys WHERE kid = $1")
            .bind(kid)
            .execute(&self.pool)
            .await
            .map(|_| ())
            .map_err(map_err)
    }

    async fn audit(&self, e: &AuditEvent) -> Result<()> {
        sqlx::query(
            "INSERT INTO audit_log (at, event, user_id, session_id, ip, user_agent, detail) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
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
             WHERE id > $1 ORDER BY id LIMIT $2",
        )
        .bind(after)
        .bind(i64::from(limit))
        .try_map(|r: PgRow| audit_from(&r))
        .fetch_all(&self.pool)
        .await
        .map_err(map_err)
    }

    async fn audit_before(&self, before: Option<i64>, limit: u32) -> Result<Vec<AuditRecord>> {
        sqlx::query(
            "SELECT id, at, event, user_id, session_id, ip, user_agent, detail FROM audit_log \
             WHERE id < $1 ORDER BY id DESC LIMIT $2",
        )
        .bind(before.unwrap_or(i64::MAX))
        .bind(i64::from(limit))
        .try_map(|r: PgRow| audit_from(&r))
        .fetch_all(&self.pool)
        .await
        .map_err(map_err)
    }

    async fn create_client(&self, c: &Client) -> Result<()> {
        sqlx::query(
            "INSERT INTO clients (id, secret_hash, scopes, grants, created_at) VALUES ($1, $2, $3, $4, $5)",
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
        sqlx::query("SELECT id, secret_hash, scopes, grants, created_at FROM clients WHERE id = $1")
            .bind(id)
            .try_map(|r: PgRow| client_from(&r))
            .fetch_optional(&self.pool)
            .await
            .map_err(map_err)
    }

    async fn clients(&self) -> Result<Vec<Client>> {
        sqlx::query("SELECT id, secret_hash, scopes, grants, created_at FROM clients ORDER BY id")
            .try_map(|r: PgRow| client_from(&r))
            .fetch_all(&self.pool)
            .await
            .map_err(map_err)
    }

    async fn delete_client(&self, id: &str) -> Result<bool> {
        sqlx::query("DELETE FROM clients WHERE id = $1")
            .bind(id)
            .execute(&self.pool)
            .await
            .map(|r| r.rows_affected() == 1)
            .map_err(map_err)
    }

    async fn revoke_token(&self, jti: &str, expires_at: i64) -> Result<()> {
        sqlx::query("INSERT INTO revoked_tokens (jti, expires_at) VALUES ($1, $2) ON CONFLICT (jti) DO NOTHING")
            .bind(jti)
            .bind(expires_at)
            .execute(&self.pool)
            .await
            .map(|_| ())
            .map_err(map_err)
    }

    async fn is_token_revoked(&self, jti: &str) -> Result<bool> {
        sqlx::query_scalar::<_, i64>("SELECT 1::BIGINT FROM revoked_tokens WHERE jti = $1")
            .bind(jti)
            .fetch_optional(&self.pool)
            .await
            .map(|r| r.is_some())
            .map_err(map_err)
    }

    async fn purge_revoked_tokens(&self, before: i64) -> Result<u64> {
        sqlx::query("DELETE FROM revoked_tokens WHERE expires_at < $1")
            .bind(before)
            .execute(&self.pool)
            .await
            .map(|r| r.rows_affected())
            .map_err(map_err)
    }

    async fn try_lease(&self, name: &str, holder: &str, now: i64, ttl: i64) -> Result<bool> {
        sqlx::query(
            "INSERT INTO leases (name, holder, expires_at) VALUES ($1, $2, $3) \
             ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, expires_at = excluded.expires_at \
             WHERE leases.expires_at <= $4 OR leases.holder = excluded.holder",
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
        sqlx::query("SELECT value, version FROM kv WHERE key = $1 AND expires_at > $2")
            .bind(key)
            .bind(now)
            .try_map(|r: PgRow| Ok((r.try_get("value")?, r.try_get("version")?)))
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
                "INSERT INTO kv (key, value, version, expires_at) VALUES ($1, $2, 1, $3) \
                 ON CONFLICT (key) DO UPDATE SET value = excluded.value, version = kv.version + 1, \
                 expires_at = excluded.expires_at WHERE kv.expires_at <= $4",
            )
            .bind(key)
            .bind(value)
            .bind(expires_at)
            .bind(now),
            Some(v) => sqlx::query(
                "UPDATE kv SET value = $1, version = version + 1, expires_at = $2 \
                 WHERE key = $3 AND version = $4 AND expires_at > $5",
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
        sqlx::query("DELETE FROM kv WHERE key = $1")
            .bind(key)
            .execute(&self.pool)
            .await
            .map(|_| ())
            .map_err(map_err)
    }

    async fn kv_purge(&self, now: i64) -> Result<u64> {
        sqlx::query("DELETE FROM kv WHERE expires_at <= $1")
            .bind(now)
            .execute(&self.pool)
            .await
            .map(|r| r.rows_affected())
            .map_err(map_err)
    }
}
