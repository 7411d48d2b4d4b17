//! The role traits, implemented once for every [`SqlBackend`].
//!
//! One cohesive thing (about 750 lines; the administration reads are in
//! `admin.rs`): one `impl` per role trait (users,
//! sessions, keys, clients, audit, leases, kv, health), each a list of
//! statements; splitting them would only scatter the shared imports.

use super::admin;
use super::exec::{args, Exec, RowExt};
use super::rows::{self, cols, list_to};
use super::{SqlBackend, ROTATE};
use crate::{
    AuditCount, AuditEvent, AuditFilter, AuditLog, AuditRecord, Client, ClientStore, Health,
    KeyRecord, KeyStore, Kv, Leases, NewUser, Result, RevokedKeyRecord, Rotation, Session,
    SessionStore, User, UserStore,
};
use async_trait::async_trait;

#[async_trait]
impl<B: SqlBackend> Health for B {
    async fn ping(&self) -> Result<()> {
        self.pool().ping().await.map_err(B::error)
    }
}

#[async_trait]
impl<B: SqlBackend> UserStore for B {
    async fn create_user(&self, u: &NewUser) -> Result<()> {
        let _turn = self.write_turn().await;
        let roles = list_to(&u.roles);
        self.pool()
            .execute(
                "INSERT INTO users (id, email, password_hash, roles, created_at, \
                 email_verified_at, disabled_at) VALUES ($1, $2, $3, $4, $5, $6, $7)",
                args![
                    &u.id,
                    &u.email,
                    &u.password_hash,
                    &roles,
                    u.created_at,
                    u.email_verified_at,
                    u.disabled_at,
                ],
            )
            .await
            .map(|_| ())
            .map_err(B::error)
    }

    async fn import_users(&self, users: &[NewUser]) -> Result<Vec<bool>> {
        self.insert_users(users).await
    }

    async fn user_by_email(&self, email: &str) -> Result<Option<User>> {
        let sql = concat!(
            "SELECT ",
            cols!(user),
            " FROM users WHERE email = $1 AND deleted_at IS NULL"
        );
        let row = self.pool().fetch_optional(sql, args![email]).await;
        row.and_then(|r| r.as_ref().map(rows::user).transpose())
            .map_err(B::error)
    }

    async fn user_by_id(&self, id: &str) -> Result<Option<User>> {
        let sql = concat!(
            "SELECT ",
            cols!(user),
            " FROM users WHERE id = $1 AND deleted_at IS NULL"
        );
        let row = self.pool().fetch_optional(sql, args![id]).await;
        row.and_then(|r| r.as_ref().map(rows::user).transpose())
            .map_err(B::error)
    }

    async fn list_users(&self, after: Option<&str>, limit: u32) -> Result<Vec<User>> {
        let sql = concat!(
            "SELECT ",
            cols!(user),
            " FROM users WHERE email > $1 AND deleted_at IS NULL ORDER BY email LIMIT $2"
        );
        let found = self
            .pool()
            .fetch_all(sql, args![after.unwrap_or(""), i64::from(limit)])
            .await;
        found
            .and_then(|r| rows::all(r, rows::user))
            .map_err(B::error)
    }

    async fn search_users(
        &self,
        prefix: &str,
        after: Option<&str>,
        limit: u32,
    ) -> Result<Vec<User>> {
        admin::search_users(self, prefix, after, limit).await
    }

    async fn count_users(&self) -> Result<i64> {
        admin::count_users(self).await
    }

    async fn count_admins_with_mfa(&self) -> Result<(i64, i64)> {
        admin::count_admins_with_mfa(self).await
    }

    async fn set_roles(&self, user_id: &str, roles: &[String]) -> Result<bool> {
        let roles = list_to(roles);
        self.pool()
            .execute(
                "UPDATE users SET roles = $1 WHERE id = $2 AND deleted_at IS NULL",
                args![&roles, user_id],
            )
            .await
            .map(|n| n == 1)
            .map_err(B::error)
    }

    async fn set_password_hash(&self, user_id: &str, hash: &str) -> Result<bool> {
        let _turn = self.write_turn().await;
        self.pool()
            .execute(
                "UPDATE users SET password_hash = $1 WHERE id = $2 AND deleted_at IS NULL",
                args![hash, user_id],
            )
            .await
            .map(|n| n == 1)
            .map_err(B::error)
    }
}

#[async_trait]
impl<B: SqlBackend> SessionStore for B {
    async fn create_session(&self, s: &Session) -> Result<()> {
        let _turn = self.write_turn().await;
        let sql = concat!(
            "INSERT INTO sessions (",
            cols!(session),
            ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20)"
        );
        let amr = (!s.amr.is_empty()).then(|| rows::list_to(&s.amr));
        let values = args![
            &s.id,
            &s.user_id,
            s.created_at,
            s.last_used_at,
            s.expires_at,
            s.idle_expires_at,
            s.revoked_at,
            &s.revoked_reason,
            &s.user_agent,
            &s.ip,
            s.generation,
            &s.token_hash,
            s.rotated_at,
            &s.client_id,
            &s.rotated_by,
            &s.dpop_jkt,
            &s.scope,
            &s.sso_id,
            &amr,
            s.auth_time,
        ];
        let done = self.pool().execute(sql, values).await;
        done.map(|_| ()).map_err(B::error)
    }

    async fn session(&self, id: &str) -> Result<Option<Session>> {
        let sql = concat!("SELECT ", cols!(session), " FROM sessions WHERE id = $1");
        let row = self.pool().fetch_optional(sql, args![id]).await;
        row.and_then(|r| r.as_ref().map(rows::session).transpose())
            .map_err(B::error)
    }

    async fn session_with_user(&self, id: &str) -> Result<Option<(Session, Option<User>)>> {
        let row = self
            .pool()
            .fetch_optional(rows::SESSION_WITH_USER, args![id])
            .await;
        row.and_then(|r| r.as_ref().map(rows::session_with_user).transpose())
            .map_err(B::error)
    }

    async fn rotate_session(&self, r: &Rotation<'_>) -> Result<bool> {
        if let Some(audit) = r.audit {
            return self.rotate_audited(r, audit).await;
        }
        let _turn = self.write_turn().await;
        let values = args![
            r.new_hash,
            r.now,
            r.idle_expires_at,
            r.session_id,
            r.expected_generation,
            r.expected_hash,
            r.rotated_by,
        ];
        let done = self.pool().execute(ROTATE, values).await;
        done.map(|n| n == 1).map_err(B::error)
    }

    async fn revoke_session(&self, id: &str, now: i64, reason: &str) -> Result<bool> {
        let _turn = self.write_turn().await;
        self.pool()
            .execute(
                "UPDATE sessions SET revoked_at = $1, revoked_reason = $2 \
                 WHERE id = $3 AND revoked_at IS NULL",
                args![now, reason, id],
            )
            .await
            .map(|n| n == 1)
            .map_err(B::error)
    }

    async fn revoke_user_sessions(
        &self,
        user_id: &str,
        now: i64,
        reason: &str,
    ) -> Result<Vec<String>> {
        let _turn = self.write_turn().await;
        let revoked = self
            .pool()
            .fetch_all(
                "UPDATE sessions SET revoked_at = $1, revoked_reason = $2 \
                 WHERE user_id = $3 AND revoked_at IS NULL RETURNING id",
                args![now, reason, user_id],
            )
            .await;
        revoked
            .and_then(|r| rows::all(r, |row| row.text("id")))
            .map_err(B::error)
    }

    async fn live_sessions(&self, user_id: &str, now: i64) -> Result<Vec<Session>> {
        let sql = concat!(
            "SELECT ",
            cols!(session),
            " FROM sessions WHERE user_id = $1 AND revoked_at IS NULL \
             AND expires_at > $2 AND idle_expires_at > $2 ORDER BY created_at DESC, id"
        );
        let found = self.pool().fetch_all(sql, args![user_id, now]).await;
        found
            .and_then(|r| rows::all(r, rows::session))
            .map_err(B::error)
    }

    async fn count_live_sessions(&self, now: i64) -> Result<i64> {
        // `+expires_at`: a scan, not the expiry index. Nearly every row is
        // live, and SQLite walking that index fetched each row at random:
        // 1.9 s of CPU at a million sessions, every maintenance tick, against
        // 0.13 s for the scan (PostgreSQL scans either way).
        let row = self
            .pool()
            .fetch_optional(
                "SELECT COUNT(*) AS n FROM sessions WHERE revoked_at IS NULL \
                 AND +expires_at > $1 AND idle_expires_at > $1",
                args![now],
            )
            .await;
        row.and_then(|r| r.map_or(Ok(0), |r| r.int("n")))
            .map_err(B::error)
    }

    async fn purge_sessions(&self, before: i64) -> Result<u64> {
        self.pool()
            .execute(
                "DELETE FROM sessions WHERE (expires_at < $1 OR idle_expires_at < $1) \
                 AND (revoked_at IS NULL OR revoked_at < $1)",
                args![before],
            )
            .await
            .map_err(B::error)
    }

    async fn revocations_since(&self, from: i64, limit: u32) -> Result<Vec<(String, i64)>> {
        let found = self
            .pool()
            .fetch_all(
                "SELECT id, revoked_at FROM sessions WHERE revoked_at >= $1 \
                 ORDER BY revoked_at, id LIMIT $2",
                args![from, i64::from(limit)],
            )
            .await;
        found
            .and_then(|r| rows::all(r, |row| Ok((row.text("id")?, row.int("revoked_at")?))))
            .map_err(B::error)
    }

    async fn revocations_after(
        &self,
        after: (i64, &str),
        limit: u32,
    ) -> Result<Vec<(String, i64)>> {
        let found = self
            .pool()
            .fetch_all(
                "SELECT id, revoked_at FROM sessions WHERE revoked_at >= $1 \
                 AND (revoked_at > $1 OR id > $2) ORDER BY revoked_at, id LIMIT $3",
                args![after.0, after.1, i64::from(limit)],
            )
            .await;
        found
            .and_then(|r| rows::all(r, |row| Ok((row.text("id")?, row.int("revoked_at")?))))
            .map_err(B::error)
    }

    async fn count_revocations_since(&self, from: i64) -> Result<u64> {
        let row = self
            .pool()
            .fetch_optional(
                "SELECT COUNT(*) AS n FROM sessions WHERE revoked_at >= $1",
                args![from],
            )
            .await;
        row.and_then(|r| r.map_or(Ok(0), |r| r.int("n")))
            .map(|n| u64::try_from(n).unwrap_or(0))
            .map_err(B::error)
    }
}

#[async_trait]
impl<B: SqlBackend> KeyStore for B {
    async fn insert_key(&self, k: &KeyRecord) -> Result<()> {
        let sql = concat!(
            "INSERT INTO signing_keys (",
            cols!(key),
            ") VALUES ($1, $2, $3, $4, $5, $6, $7)"
        );
        let values = args![
            &k.kid,
            &k.alg,
            &k.sealed_key,
            &k.public_jwk,
            k.created_at,
            k.activates_at,
            k.retired_at,
        ];
        let done = self.pool().execute(sql, values).await;
        done.map(|_| ()).map_err(B::error)
    }

    async fn keys(&self) -> Result<Vec<KeyRecord>> {
        // A revoked kid is never loaded, even if its row survived.
        let sql = concat!(
            "SELECT ",
            cols!(key),
            " FROM signing_keys WHERE kid NOT IN (SELECT kid FROM revoked_keys) \
             ORDER BY created_at, kid"
        );
        let found = self.pool().fetch_all(sql, args![]).await;
        found
            .and_then(|r| rows::all(r, rows::key))
            .map_err(B::error)
    }

    async fn retire_key(&self, kid: &str, at: i64) -> Result<()> {
        self.pool()
            .execute(
                "UPDATE signing_keys SET retired_at = $1 WHERE kid = $2 AND retired_at IS NULL",
                args![at, kid],
            )
            .await
            .map(|_| ())
            .map_err(B::error)
    }

    async fn delete_key(&self, kid: &str) -> Result<()> {
        self.pool()
            .execute("DELETE FROM signing_keys WHERE kid = $1", args![kid])
            .await
            .map(|_| ())
            .map_err(B::error)
    }

    async fn revoke_key(&self, kid: &str, at: i64) -> Result<bool> {
        // Recorded first: should the delete not happen, the kid still
        // never loads again (see `keys`).
        let recorded = self
            .pool()
            .execute(
                "INSERT INTO revoked_keys (kid, revoked_at, alg, created_at, activates_at) \
                 VALUES ($1, $2, (SELECT alg FROM signing_keys WHERE kid = $1), \
                 (SELECT created_at FROM signing_keys WHERE kid = $1), \
                 (SELECT activates_at FROM signing_keys WHERE kid = $1)) \
                 ON CONFLICT (kid) DO NOTHING",
                args![kid, at],
            )
            .await
            .map_err(B::error)?;
        self.delete_key(kid).await?;
        Ok(recorded == 1)
    }

    async fn revoked_key_records(&self) -> Result<Vec<RevokedKeyRecord>> {
        admin::revoked_key_records(self).await
    }

    async fn revoked_keys(&self) -> Result<Vec<(String, i64)>> {
        let found = self
            .pool()
            .fetch_all(
                "SELECT kid, revoked_at FROM revoked_keys ORDER BY revoked_at, kid",
                args![],
            )
            .await;
        found
            .and_then(|rows| {
                rows.iter()
                    .map(|r| Ok((r.text("kid")?, r.int("revoked_at")?)))
                    .collect()
            })
            .map_err(B::error)
    }
}

#[async_trait]
impl<B: SqlBackend> AuditLog for B {
    async fn audit(&self, e: &AuditEvent) -> Result<()> {
        let _turn = self.write_turn().await;
        let values = args![
            e.at,
            &e.event,
            &e.user_id,
            &e.session_id,
            &e.ip,
            &e.user_agent,
            &e.detail,
            &e.actor,
            &e.client_id,
        ];
        let done = self.pool().execute(AUDIT_INSERT, values).await;
        done.map(|_| ()).map_err(B::error)
    }

    async fn audit_repeated(&self, e: &AuditEvent, since: i64) -> Result<()> {
        let _turn = self.write_turn().await;
        let bumped = self
            .pool()
            .execute(
                // Only failed logins fold (the literal lets the partial
                // index `audit_failures_by_ip` serve the lookup); any other
                // event finds no row and is inserted as it is.
                "UPDATE audit_log SET count = count + 1, last_at = $1 WHERE id = \
                 (SELECT id FROM audit_log WHERE event = 'login.failure' AND event = $2 \
                  AND ip = $3 AND COALESCE(user_id, '') = $4 AND at >= $5 \
                  ORDER BY id DESC LIMIT 1)",
                args![
                    e.at,
                    &e.event,
                    e.ip.as_deref().unwrap_or(""),
                    e.user_id.as_deref().unwrap_or(""),
                    since
                ],
            )
            .await
            .map_err(B::error)?;
        if bumped > 0 {
            return Ok(());
        }
        let values = args![
            e.at,
            &e.event,
            &e.user_id,
            &e.session_id,
            &e.ip,
            &e.user_agent,
            &e.detail,
            &e.actor,
            &e.client_id,
        ];
        let done = self.pool().execute(AUDIT_INSERT, values).await;
        done.map(|_| ()).map_err(B::error)
    }

    async fn purge_audit(&self, before: i64) -> Result<u64> {
        let _turn = self.write_turn().await;
        self.pool()
            .execute(
                // Rows are appended in time order: everything before the
                // first row that is new enough is old (found by walking ids
                // from the oldest, so no index on `at` is written on every
                // insert). A folded row whose last failure is recent stays.
                "DELETE FROM audit_log WHERE id < COALESCE(\
                 (SELECT id FROM audit_log WHERE at >= $1 ORDER BY id LIMIT 1), \
                 (SELECT COALESCE(MAX(id), 0) + 1 FROM audit_log)) \
                 AND (last_at IS NULL OR last_at < $1)",
                args![before],
            )
            .await
            .map_err(B::error)
    }

    async fn audit_after(&self, after: i64, limit: u32) -> Result<Vec<AuditRecord>> {
        let sql = concat!(
            "SELECT ",
            cols!(audit),
            " FROM audit_log WHERE id > $1 ORDER BY id LIMIT $2"
        );
        let found = self
            .pool()
            .fetch_all(sql, args![after, i64::from(limit)])
            .await;
        found
            .and_then(|r| rows::all(r, rows::audit))
            .map_err(B::error)
    }

    async fn audit_search(&self, filter: &AuditFilter, limit: u32) -> Result<Vec<AuditRecord>> {
        admin::audit_search(self, filter, limit).await
    }

    async fn audit_counts(&self, from: i64, to: i64) -> Result<Vec<AuditCount>> {
        admin::audit_counts(self, from, to).await
    }

    async fn audit_before(&self, before: Option<i64>, limit: u32) -> Result<Vec<AuditRecord>> {
        let sql = concat!(
            "SELECT ",
            cols!(audit),
            " FROM audit_log WHERE id < $1 ORDER BY id DESC LIMIT $2"
        );
        let before = before.unwrap_or(i64::MAX);
        let found = self
            .pool()
            .fetch_all(sql, args![before, i64::from(limit)])
            .await;
        found
            .and_then(|r| rows::all(r, rows::audit))
            .map_err(B::error)
    }
}

/// Appends one audit event.
const AUDIT_INSERT: &str = "INSERT INTO audit_log \
    (at, event, user_id, session_id, ip, user_agent, detail, actor, client_id) \
    VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)";

#[async_trait]
impl<B: SqlBackend> ClientStore for B {
    async fn create_client(&self, c: &Client) -> Result<()> {
        let (scopes, grants) = (list_to(&c.scopes), list_to(&c.grants));
        let (uris, logout) = (
            list_to(&c.redirect_uris),
            list_to(&c.post_logout_redirect_uris),
        );
        let sql = concat!(
            "INSERT INTO clients (",
            cols!(client),
            ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)"
        );
        let values = args![
            &c.id,
            &c.secret_hash,
            &scopes,
            &grants,
            c.created_at,
            &uris,
            &logout,
            i64::from(c.public),
            i64::from(c.first_party),
            &c.id_token_alg,
            i64::from(c.require_dpop),
            &c.id_token_enc_alg,
            &c.id_token_enc_enc,
            &c.jwks,
        ];
        let done = self.pool().execute(sql, values).await;
        done.map(|_| ()).map_err(B::error)
    }

    async fn client(&self, id: &str) -> Result<Option<Client>> {
        let sql = concat!("SELECT ", cols!(client), " FROM clients WHERE id = $1");
        let row = self.pool().fetch_optional(sql, args![id]).await;
        row.and_then(|r| r.as_ref().map(rows::client).transpose())
            .map_err(B::error)
    }

    async fn clients(&self) -> Result<Vec<Client>> {
        let sql = concat!("SELECT ", cols!(client), " FROM clients ORDER BY id");
        let found = self.pool().fetch_all(sql, args![]).await;
        found
            .and_then(|r| rows::all(r, rows::client))
            .map_err(B::error)
    }

    async fn update_client(&self, c: &Client) -> Result<bool> {
        let (scopes, grants) = (list_to(&c.scopes), list_to(&c.grants));
        let (uris, logout) = (
            list_to(&c.redirect_uris),
            list_to(&c.post_logout_redirect_uris),
        );
        let sql = "UPDATE clients SET secret_hash = $2, scopes = $3, grants = $4, \
             redirect_uris = $5, post_logout_redirect_uris = $6, public_client = $7, \
             first_party = $8, id_token_alg = $9, require_dpop = $10, \
             id_token_encrypted_response_alg = $11, id_token_encrypted_response_enc = $12, \
             jwks = $13 WHERE id = $1";
        let values = args![
            &c.id,
            &c.secret_hash,
            &scopes,
            &grants,
            &uris,
            &logout,
            i64::from(c.public),
            i64::from(c.first_party),
            &c.id_token_alg,
            i64::from(c.require_dpop),
            &c.id_token_enc_alg,
            &c.id_token_enc_enc,
            &c.jwks,
        ];
        let done = self.pool().execute(sql, values).await;
        done.map(|n| n == 1).map_err(B::error)
    }

    async fn delete_client(&self, id: &str) -> Result<bool> {
        self.pool()
            .execute("DELETE FROM clients WHERE id = $1", args![id])
            .await
            .map(|n| n == 1)
            .map_err(B::error)
    }

    async fn revoke_token(&self, jti: &str, expires_at: i64) -> Result<()> {
        self.pool()
            .execute(
                "INSERT INTO revoked_tokens (jti, expires_at) VALUES ($1, $2) \
                 ON CONFLICT (jti) DO NOTHING",
                args![jti, expires_at],
            )
            .await
            .map(|_| ())
            .map_err(B::error)
    }

    async fn is_token_revoked(&self, jti: &str) -> Result<bool> {
        self.pool()
            .fetch_optional("SELECT 1 FROM revoked_tokens WHERE jti = $1", args![jti])
            .await
            .map(|r| r.is_some())
            .map_err(B::error)
    }

    async fn revoked_tokens(&self, from: i64) -> Result<Vec<(String, i64)>> {
        let found = self
            .pool()
            .fetch_all(
                "SELECT jti, expires_at FROM revoked_tokens WHERE expires_at >= $1 \
                 ORDER BY expires_at, jti",
                args![from],
            )
            .await;
        found
            .and_then(|rows| {
                rows.iter()
                    .map(|r| Ok((r.text("jti")?, r.int("expires_at")?)))
                    .collect()
            })
            .map_err(B::error)
    }

    async fn purge_revoked_tokens(&self, before: i64) -> Result<u64> {
        self.pool()
            .execute(
                "DELETE FROM revoked_tokens WHERE expires_at < $1",
                args![before],
            )
            .await
            .map_err(B::error)
    }
}

#[async_trait]
impl<B: SqlBackend> Leases for B {
    async fn try_lease(&self, name: &str, holder: &str, now: i64, ttl: i64) -> Result<bool> {
        self.pool()
            .execute(
                "INSERT INTO leases (name, holder, expires_at) VALUES ($1, $2, $3) \
                 ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, \
                 expires_at = excluded.expires_at \
                 WHERE leases.expires_at <= $4 OR leases.holder = excluded.holder",
                args![name, holder, now.saturating_add(ttl), now],
            )
            .await
            .map(|n| n == 1)
            .map_err(B::error)
    }
}

#[async_trait]
impl<B: SqlBackend> Kv for B {
    async fn kv_get(&self, key: &str, now: i64) -> Result<Option<(Vec<u8>, i64)>> {
        let row = self
            .pool()
            .fetch_optional(
                "SELECT value, version FROM kv WHERE key = $1 AND expires_at > $2",
                args![key, now],
            )
            .await;
        row.and_then(|r| {
            r.map(|r| Ok((r.bytes("value")?, r.int("version")?)))
                .transpose()
        })
        .map_err(B::error)
    }

    async fn kv_put(
        &self,
        key: &str,
        expected: Option<i64>,
        value: &[u8],
        expires_at: i64,
        now: i64,
    ) -> Result<bool> {
        let done = match expected {
            // Absent (or expired) rows count as absent.
            None => {
                self.pool()
                    .execute(
                        "INSERT INTO kv (key, value, version, expires_at) VALUES ($1, $2, 1, $3) \
                         ON CONFLICT (key) DO UPDATE SET value = excluded.value, \
                         version = kv.version + 1, expires_at = excluded.expires_at \
                         WHERE kv.expires_at <= $4",
                        args![key, value, expires_at, now],
                    )
                    .await
            }
            Some(v) => {
                self.pool()
                    .execute(
                        "UPDATE kv SET value = $1, version = version + 1, expires_at = $2 \
                         WHERE key = $3 AND version = $4 AND expires_at > $5",
                        args![value, expires_at, key, v, now],
                    )
                    .await
            }
        };
        done.map(|n| n == 1).map_err(B::error)
    }

    async fn kv_delete(&self, key: &str) -> Result<()> {
        self.pool()
            .execute("DELETE FROM kv WHERE key = $1", args![key])
            .await
            .map(|_| ())
            .map_err(B::error)
    }

    async fn kv_purge(&self, now: i64) -> Result<u64> {
        self.pool()
            .execute("DELETE FROM kv WHERE expires_at <= $1", args![now])
            .await
            .map_err(B::error)
    }
}
