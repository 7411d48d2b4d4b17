//! Single sign-on sessions: rows of the `sessions` table (no client, scope
//! `sso amr:<methods>`) whose bearer secret is the SSO cookie. The cookie is
//! `<session id>.<base64url of 32 random bytes>`; the store keeps only the
//! SHA-256 of the secret part, compared in constant time.

use super::Oidc;
use crate::config::secs;
use crate::ctx::truncate;
use crate::error::{Error, Result};
use crate::events::{AuditEvent, ClientInfo};
use crate::live::Forget;
use tessera_jose::{b64, crypto};
use tessera_store::Session;
use zeroize::Zeroizing;

/// The `scope` column's marker of an SSO session.
const MARK: &str = "sso";

/// A new SSO cookie's value. `Debug` hides it.
#[derive(Clone)]
pub struct SsoCookie {
    /// The cookie value (a bearer secret: `HttpOnly`, never logged).
    pub value: Zeroizing<String>,
    /// Seconds it lives (for `Max-Age`).
    pub max_age: i64,
    /// The SSO session's id (the ID token's `sid`).
    pub session_id: String,
}

impl std::fmt::Debug for SsoCookie {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SsoCookie")
            .field("session_id", &self.session_id)
            .field("max_age", &self.max_age)
            .finish_non_exhaustive()
    }
}

/// A live SSO session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SsoSession {
    /// Its id (the ID token's `sid`).
    pub id: String,
    /// The user.
    pub user_id: String,
    /// When the user authenticated (the ID token's `auth_time`).
    pub auth_time: i64,
    /// How (`pwd`, …: the ID token's `amr`).
    pub amr: Vec<String>,
}

fn split(cookie: &str) -> Option<(&str, Vec<u8>)> {
    let (sid, secret) = cookie.split_once('.')?;
    if sid.len() != 22 || secret.len() != 43 {
        return None;
    }
    let bytes = b64::decode(secret.as_bytes(), "sso").ok()?;
    (bytes.len() == 32).then_some((sid, bytes))
}

fn amr_of(s: &Session) -> Option<Vec<String>> {
    let scope = s.scope.as_deref()?;
    let mut parts = scope.split(' ');
    if parts.next()? != MARK || s.client_id.is_some() {
        return None;
    }
    Some(
        parts
            .filter_map(|p| p.strip_prefix("amr:"))
            .map(str::to_owned)
            .collect(),
    )
}

impl Oidc {
    /// Starts an SSO session for a user who just authenticated with `amr`
    /// (e.g. `["pwd"]`). Every login gets a new one (no fixation).
    pub async fn start_sso(
        &self,
        user_id: &str,
        amr: &[&str],
        ctx: &ClientInfo,
    ) -> Result<SsoCookie> {
        let c = &self.ctx;
        let now = c.now();
        let id = b64::encode(&crypto::random_bytes(16).map_err(Error::internal)?);
        let secret = crypto::random_bytes(32).map_err(Error::internal)?;
        let amr: Vec<String> = amr
            .iter()
            .filter(|a| !a.is_empty() && a.bytes().all(|b| b.is_ascii_alphanumeric()))
            .map(|a| format!("amr:{a}"))
            .collect();
        let scope = std::iter::once(MARK.to_owned())
            .chain(amr)
            .collect::<Vec<_>>();
        let expires_at = now.saturating_add(secs(c.cfg.refresh_token_ttl));
        let session = Session {
            id: id.clone(),
            user_id: user_id.to_owned(),
            created_at: now,
            last_used_at: now,
            expires_at,
            idle_expires_at: now.saturating_add(secs(c.cfg.refresh_idle_ttl)),
            revoked_at: None,
            revoked_reason: None,
            user_agent: ctx.user_agent.as_ref().map(|s| truncate(s, 512)),
            ip: ctx.ip.clone(),
            generation: 0,
            token_hash: crypto::sha256(&secret).to_vec(),
            rotated_at: None,
            client_id: None,
            rotated_by: None,
            // The SSO session is a browser cookie's, never a DPoP key's.
            dpop_jkt: None,
            scope: Some(scope.join(" ")),
            sso_id: None,
            amr: Vec::new(),
            auth_time: Some(now),
        };
        c.store.create_session(&session).await?;
        c.audit(
            AuditEvent::LoginSuccess,
            Some(user_id),
            Some(&id),
            ctx,
            None,
        )
        .await;
        let mut value = Zeroizing::new(String::with_capacity(66));
        value.push_str(&id);
        value.push('.');
        b64::encode_into(&secret, &mut value);
        Ok(SsoCookie {
            value,
            max_age: session
                .expires_at
                .min(session.idle_expires_at)
                .saturating_sub(now),
            session_id: id,
        })
    }

    /// The live SSO session of a cookie value (`None`: malformed, unknown,
    /// ended, expired, or its user is gone or disabled).
    pub async fn sso(&self, cookie: &str) -> Result<Option<SsoSession>> {
        let Some((sid, secret)) = split(cookie) else {
            return Ok(None);
        };
        let now = self.ctx.now();
        let Some((s, user)) = self.ctx.store.session_with_user(sid).await? else {
            return Ok(None);
        };
        let Some(amr) = amr_of(&s) else {
            return Ok(None);
        };
        if !crypto::constant_time_eq(&crypto::sha256(&secret), &s.token_hash) || !s.is_live(now) {
            return Ok(None);
        }
        if user.is_none_or(|u| u.disabled()) {
            return Ok(None);
        }
        Ok(Some(SsoSession {
            id: s.id,
            user_id: s.user_id,
            auth_time: s.created_at,
            amr,
        }))
    }

    /// Ends the SSO session of a cookie value (logout) and the sessions of
    /// every client it signed in; returns it, if it was live. The ends are
    /// announced in the revocation feed.
    pub async fn end_sso(&self, cookie: &str, ctx: &ClientInfo) -> Result<Option<SsoSession>> {
        let Some(s) = self.sso(cookie).await? else {
            return Ok(None);
        };
        self.revoke_one(&s.id, &s.user_id, "logout", AuditEvent::Logout, ctx)
            .await?;
        let now = self.ctx.now();
        for child in self.ctx.store.live_sessions(&s.user_id, now).await? {
            if child.sso_id.as_deref() == Some(s.id.as_str()) {
                let why = AuditEvent::SessionRevoked;
                self.revoke_one(&child.id, &s.user_id, "logout", why, ctx)
                    .await?;
            }
        }
        Ok(Some(s))
    }

    /// Revokes one session: cache, feed, audit.
    pub(crate) async fn revoke_one(
        &self,
        sid: &str,
        user_id: &str,
        reason: &str,
        event: AuditEvent,
        ctx: &ClientInfo,
    ) -> Result<bool> {
        let c = &self.ctx;
        let forget = c.forget_on_drop(Forget::Session(sid.to_owned()));
        let changed = c.store.revoke_session(sid, c.now(), reason).await?;
        forget.committed(changed);
        if changed {
            c.signal_revoked();
            c.audit(event, Some(user_id), Some(sid), ctx, None).await;
        }
        Ok(changed)
    }

    /// Ends a user's live sessions issued to `client_id`; returns how many.
    pub(crate) async fn end_client_sessions(
        &self,
        user_id: &str,
        client_id: &str,
        reason: &str,
        ctx: &ClientInfo,
    ) -> Result<usize> {
        let now = self.ctx.now();
        let mut n = 0;
        for s in self.ctx.store.live_sessions(user_id, now).await? {
            if s.client_id.as_deref() == Some(client_id)
                && self
                    .revoke_one(&s.id, user_id, reason, AuditEvent::SessionRevoked, ctx)
                    .await?
            {
                n += 1;
            }
        }
        Ok(n)
    }
}
