//! Sessions: password login under the backoff rules, refresh-token rotation
//! (see the crate docs), logout, the session list, and the Bearer check of
//! access tokens with its short-lived liveness cache.

mod bearer;
mod refresh;

pub use refresh::{RefreshPermit, DPOP_THEFT, REUSE_DETECTED};

use crate::claims::Principal;
use crate::config::secs;
use crate::ctx::{storable, truncate, Ctx};
use crate::error::{Error, Result};
use crate::events::{AuditEvent, ClientInfo};
use crate::live::Forget;
use crate::refresh::RefreshToken;
use crate::throttle::Limiter;
use crate::tokens::{issue_access, Grantee};
use std::sync::Arc;
use tessera_jose::crypto;
use tessera_store::{Session, User};
use zeroize::Zeroizing;

/// An issued token pair. `Debug` hides both tokens.
#[derive(Clone)]
pub struct TokenPair {
    /// The signed access token.
    pub access_token: String,
    /// Seconds until the access token expires.
    pub expires_in: i64,
    /// The refresh token.
    pub refresh_token: Zeroizing<String>,
    /// Seconds until the refresh token expires (absolute or idle, whichever is first).
    pub refresh_token_expires_in: i64,
    /// The session the pair belongs to.
    pub session_id: String,
    /// The user.
    pub user_id: String,
    /// The access token is bound to a DPoP key (`token_type` `DPoP`).
    pub dpop: bool,
}

impl std::fmt::Debug for TokenPair {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenPair")
            .field("session_id", &self.session_id)
            .field("expires_in", &self.expires_in)
            .finish_non_exhaustive()
    }
}

/// How and when a user authenticated: what the tokens of a session say
/// (`amr`, RFC 8176, and `auth_time`), kept by the session so refreshed
/// tokens say the same.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Authn {
    /// The methods: `pwd`, then any second factor (`otp`, `hwk`, …) and `mfa`.
    pub amr: Vec<String>,
    /// When (Unix seconds).
    pub auth_time: i64,
}

impl Authn {
    /// A password alone, at `now`.
    pub fn password(now: i64) -> Self {
        Authn {
            amr: vec!["pwd".into()],
            auth_time: now,
        }
    }

    /// A password and a second factor (`factor`, an RFC 8176 value), at `now`.
    pub fn with_factor(factor: &str, now: i64) -> Self {
        Authn {
            amr: vec!["pwd".into(), factor.into(), "mfa".into()],
            auth_time: now,
        }
    }

    /// What a stored session says (a session from before MFA: a password,
    /// at its start).
    pub(crate) fn of(session: &Session) -> Self {
        Authn {
            amr: if session.amr.is_empty() {
                vec!["pwd".into()]
            } else {
                session.amr.clone()
            },
            auth_time: session.auth_time.unwrap_or(session.created_at),
        }
    }

    /// True if a second factor was used.
    pub fn is_mfa(&self) -> bool {
        self.amr.iter().any(|a| a == "mfa")
    }
}

/// The granularity of the times the session list shows (one hour).
pub const COARSE_SECS: i64 = 3600;

/// What happened to a refresh, for metrics.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RefreshOutcome {
    /// The token was current and was rotated.
    Rotated,
    /// The parent was replayed inside the grace window; same successor.
    GraceReplay,
}

/// The throttling key of an account: its normalised email, whether or not
/// the account exists. A string that is not an email (never an account) is
/// kept short and free of NUL, so the shared throttle can always store it.
pub(crate) fn account_key(email: &str) -> String {
    crate::normalize_email(email).unwrap_or_else(|_| {
        email
            .trim()
            .to_lowercase()
            .replace('\0', "\u{fffd}")
            .chars()
            .take(254)
            .collect()
    })
}

/// Logins, refreshes, logouts and the Bearer check.
#[derive(Clone)]
pub struct Sessions {
    ctx: Arc<Ctx>,
    limiter: Arc<Limiter>,
}

impl std::fmt::Debug for Sessions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sessions").finish_non_exhaustive()
    }
}

impl Sessions {
    pub(crate) fn new(ctx: Arc<Ctx>, limiter: Arc<Limiter>) -> Self {
        Sessions { ctx, limiter }
    }

    /// Password login under the backoff rules: a throttled account or IP is
    /// refused ([`Error::TooManyRequests`]) before any password work. The
    /// attempt is in flight on its keys while the password is checked, so
    /// parallel guesses meet the limit too; a success from a new address
    /// resets the account (see [`crate::throttle`]).
    ///
    /// With a second factor enrolled (or required, see [`crate::Mfa`]), a
    /// right password gives no tokens but [`Error::MfaRequired`].
    pub async fn login(&self, email: &str, password: &str, ctx: &ClientInfo) -> Result<TokenPair> {
        self.login_in_mode(email, password, ctx, false).await
    }

    /// [`Sessions::login`], saying whether the login is in cookie mode (an
    /// `mfa_token` it earns is bound to the mode).
    pub async fn login_in_mode(
        &self,
        email: &str,
        password: &str,
        ctx: &ClientInfo,
        cookie: bool,
    ) -> Result<TokenPair> {
        let user = self.authenticate_password(email, password, ctx).await?;
        crate::mfa::gate(&self.ctx, &user, ctx, cookie).await?;
        let pair = self.start_session(&user, ctx).await?;
        let sid = Some(pair.session_id.as_str());
        self.ctx
            .audit(AuditEvent::LoginSuccess, Some(&user.id), sid, ctx, None)
            .await;
        Ok(pair)
    }

    /// The password check of [`Sessions::login`] under the same backoff
    /// rules, without starting a session: the hosted login page's check
    /// (the caller starts its own session and audits the success). A wrong
    /// password and an unknown email are the same [`Error::InvalidCredentials`]
    /// after the same work; a disabled account or (with
    /// `require_verified_email`) an unverified email is refused only after
    /// the right password.
    pub async fn authenticate_password(
        &self,
        email: &str,
        password: &str,
        ctx: &ClientInfo,
    ) -> Result<User> {
        let key = account_key(email);
        let ip_key = ctx.throttle_key();
        let ip = ip_key.as_deref();
        let now = self.ctx.now_millis();
        let ticket = self
            .limiter
            .begin_login(&key, ip, now)
            .await
            .map_err(Error::TooManyRequests)?;
        let result = self.check_password(email, password, ctx).await;
        let now = self.ctx.now_millis();
        match &result {
            Ok(_) => self.limiter.login_succeeded(ticket, now).await,
            Err(Error::InvalidCredentials) => self.limiter.login_failed(ticket, now).await,
            Err(_) => self.limiter.login_abandoned(ticket, now).await,
        }
        result
    }

    /// How many passwords this process has verified (real or dummy hash),
    /// for tests and metrics: what the login throttle bounds.
    pub fn password_checks(&self) -> u64 {
        self.ctx.passwords.checks()
    }

    /// Password login without the backoff rules, for in-process callers
    /// that do not face the network (operators' tools, tests): a new session
    /// and token pair. A wrong password and an unknown email take the same
    /// path and the same time. Network-facing callers use [`Sessions::login`].
    /// No second factor is asked for.
    pub async fn login_unthrottled(
        &self,
        email: &str,
        password: &str,
        ctx: &ClientInfo,
    ) -> Result<TokenPair> {
        let user = self.check_password(email, password, ctx).await?;
        let pair = self.start_session(&user, ctx).await?;
        let sid = Some(pair.session_id.as_str());
        self.ctx
            .audit(AuditEvent::LoginSuccess, Some(&user.id), sid, ctx, None)
            .await;
        Ok(pair)
    }

    /// The password check, counted in the login metric.
    async fn check_password(&self, email: &str, password: &str, ctx: &ClientInfo) -> Result<User> {
        let result = self.login_inner(email, password, ctx).await;
        let outcome = match &result {
            Ok(_) => "success",
            Err(Error::InvalidCredentials) => "failure",
            Err(_) => "error",
        };
        metrics::counter!("tessera_logins_total", "outcome" => outcome).increment(1);
        result
    }

    async fn login_inner(&self, email: &str, password: &str, ctx: &ClientInfo) -> Result<User> {
        let c = &self.ctx;
        let user = match crate::normalize_email(email) {
            Ok(e) => c.store.user_by_email(&e).await?,
            Err(_) => None,
        };
        let ok = c
            .passwords
            .verify(user.as_ref().map(|u| u.password_hash.as_str()), password)
            .await?;
        let user = match (ok, user) {
            (true, Some(u)) => u,
            (_, u) => {
                let id = u.as_ref().map(|u| u.id.as_str());
                c.audit_repeated(AuditEvent::LoginFailure, id, ctx).await;
                return Err(Error::InvalidCredentials);
            }
        };
        // Only after the right password: these say nothing about anyone else.
        if user.disabled() {
            return Err(Error::AccountDisabled);
        }
        if c.cfg.require_verified_email && !user.email_verified() {
            return Err(Error::EmailNotVerified);
        }
        if c.passwords.needs_rehash(&user.password_hash) {
            match c.passwords.hash(password).await {
                Ok(h) => {
                    if c.store.set_password_hash(&user.id, &h).await.is_ok() {
                        c.audit(
                            AuditEvent::PasswordRehashed,
                            Some(&user.id),
                            None,
                            ctx,
                            None,
                        )
                        .await;
                    }
                }
                Err(e) => tracing::warn!(error = %e, "password re-hash failed"),
            }
        }
        Ok(user)
    }

    /// A new session for a user who authenticated as `authn` says.
    pub(crate) async fn start_authenticated(
        &self,
        user: &User,
        authn: &Authn,
        ctx: &ClientInfo,
    ) -> Result<TokenPair> {
        self.start_scoped_session(user, None, None, authn, ctx)
            .await
    }

    async fn start_session(&self, user: &User, ctx: &ClientInfo) -> Result<TokenPair> {
        let authn = Authn::password(self.ctx.now());
        self.start_scoped_session(user, None, None, &authn, ctx)
            .await
    }

    /// A new session (refresh-token family) for `user`, bound to
    /// `ctx.oauth_client`, whose access tokens carry `scope`, issued from
    /// the SSO session `sso_id`.
    pub(crate) async fn start_scoped_session(
        &self,
        user: &User,
        scope: Option<&str>,
        sso_id: Option<&str>,
        authn: &Authn,
        ctx: &ClientInfo,
    ) -> Result<TokenPair> {
        let sid = new_session_id()?;
        self.start_session_as(&sid, user, scope, sso_id, authn, ctx)
            .await
    }

    /// [`Sessions::start_scoped_session`] with a session id chosen before
    /// ([`new_session_id`]; the code exchange records it on the code first).
    pub(crate) async fn start_session_as(
        &self,
        sid: &[u8; 16],
        user: &User,
        scope: Option<&str>,
        sso_id: Option<&str>,
        authn: &Authn,
        ctx: &ClientInfo,
    ) -> Result<TokenPair> {
        let cfg = &self.ctx.cfg;
        let now = self.ctx.now();
        let token = RefreshToken::first(sid)?;
        let session = Session {
            id: token.session_id(),
            user_id: user.id.clone(),
            created_at: now,
            last_used_at: now,
            expires_at: now.saturating_add(secs(cfg.refresh_token_ttl)),
            idle_expires_at: now.saturating_add(secs(cfg.refresh_idle_ttl)),
            revoked_at: None,
            revoked_reason: None,
            user_agent: ctx.user_agent.as_ref().map(|s| truncate(s, 512)),
            ip: ctx.ip.clone(),
            generation: 0,
            token_hash: token.hash().to_vec(),
            rotated_at: None,
            client_id: ctx.oauth_client.clone(),
            rotated_by: None,
            // RFC 9449 §5: a public client's refresh token is bound to the
            // DPoP key (a confidential client's is bound by its credentials).
            dpop_jkt: ctx.dpop_jkt.clone().filter(|_| ctx.oauth_client.is_none()),
            scope: scope.map(str::to_owned),
            sso_id: sso_id.map(str::to_owned),
            amr: authn.amr.clone(),
            auth_time: Some(authn.auth_time),
        };
        self.ctx.store.create_session(&session).await?;
        self.pair(user, &session, &token, now, ctx)
    }

    fn pair(
        &self,
        user: &User,
        session: &Session,
        token: &RefreshToken,
        now: i64,
        ctx: &ClientInfo,
    ) -> Result<TokenPair> {
        let authn = Authn::of(session);
        let to = Grantee {
            sub: &user.id,
            sid: Some(&session.id),
            roles: &user.roles,
            scope: session.scope.as_deref(),
            client_id: session.client_id.as_deref(),
            email_verified: Some(user.email_verified()),
            not_after: Some(session.expires_at),
            jkt: ctx.dpop_jkt.as_deref(),
            authn: Some(&authn),
        };
        let expires_in = to.lifetime(secs(self.ctx.cfg.access_token_ttl), now);
        Ok(TokenPair {
            access_token: issue_access(&self.ctx, to, now)?,
            expires_in,
            refresh_token: token.encode(),
            refresh_token_expires_in: session
                .expires_at
                .min(session.idle_expires_at)
                .saturating_sub(now)
                .max(0),
            session_id: session.id.clone(),
            user_id: user.id.clone(),
            dpop: ctx.dpop_jkt.is_some(),
        })
    }

    /// Ends the session of a refresh token. Idempotent: an unknown, spent or
    /// already-revoked token is not an error.
    pub async fn logout(&self, text: &str, ctx: &ClientInfo) -> Result<()> {
        let token = RefreshToken::parse(text).map_err(|_| Error::InvalidInput {
            field: "refresh_token",
            message: "is not a Tessera refresh token".into(),
        })?;
        self.end_family(&token, None, ctx).await
    }

    /// Ends the session of a genuine refresh token; with `owner`, only if
    /// the session was issued to that OAuth client (RFC 7009 §2.1: anything
    /// else is left alone, and the caller answers as if it were done).
    pub(crate) async fn end_family(
        &self,
        token: &RefreshToken,
        owner: Option<&str>,
        ctx: &ClientInfo,
    ) -> Result<()> {
        let sid = token.session_id();
        let Some(session) = self.ctx.store.session(&sid).await? else {
            return Ok(());
        };
        if owner.is_some() && session.client_id.as_deref() != owner {
            return Ok(());
        }
        if !self.genuine(token, &session).await? {
            return Ok(());
        }
        // A forged token must not be able to empty the cache; a genuine one
        // clears it however the store call ends (see `live`).
        let forget = self.ctx.forget_on_drop(Forget::Session(sid.clone()));
        let changed = self
            .ctx
            .store
            .revoke_session(&sid, self.ctx.now(), "logout")
            .await?;
        forget.committed(changed);
        if changed {
            self.ctx.signal_revoked();
            self.ctx
                .audit(
                    AuditEvent::Logout,
                    Some(&session.user_id),
                    Some(&sid),
                    ctx,
                    None,
                )
                .await;
        }
        Ok(())
    }

    /// Ends every session of the caller.
    pub async fn logout_all(&self, who: &Principal, ctx: &ClientInfo) -> Result<usize> {
        let n = self
            .revoke_all(who.user_id(), "logout_all", AuditEvent::LogoutAll, ctx)
            .await?;
        Ok(n)
    }

    /// Admin: ends every session of a user.
    pub async fn revoke_user_sessions(&self, user_id: &str, ctx: &ClientInfo) -> Result<usize> {
        if !storable(user_id) || self.ctx.store.user_by_id(user_id).await?.is_none() {
            return Err(Error::NotFound("user"));
        }
        self.revoke_all(user_id, "admin_revoked", AuditEvent::SessionsRevoked, ctx)
            .await
    }

    async fn revoke_all(
        &self,
        user_id: &str,
        reason: &str,
        event: AuditEvent,
        ctx: &ClientInfo,
    ) -> Result<usize> {
        let forget = self.ctx.forget_on_drop(Forget::User(user_id.to_owned()));
        let ids = self
            .ctx
            .store
            .revoke_user_sessions(user_id, self.ctx.now(), reason)
            .await?;
        forget.committed(!ids.is_empty());
        if !ids.is_empty() {
            self.ctx.signal_revoked();
        }
        let detail = Some(format!("{} sessions", ids.len()));
        self.ctx
            .audit(event, Some(user_id), None, ctx, detail)
            .await;
        Ok(ids.len())
    }

    /// How many sessions the liveness cache holds now (for health pages
    /// and tests: a revocation that changed nothing must not empty it).
    pub fn cached_sessions(&self) -> usize {
        self.ctx.live.len()
    }

    /// The caller's live sessions, with coarse times: `last_used_at`,
    /// `expires_at` and `idle_expires_at` are rounded down to the hour
    /// ([`COARSE_SECS`]), so the list does not reveal when a refresh token
    /// was last rotated (a thief holding one could otherwise time a
    /// grace-window replay).
    pub async fn list(&self, who: &Principal) -> Result<Vec<Session>> {
        let coarse = |t: i64| t - t.rem_euclid(COARSE_SECS);
        let mut list = self
            .ctx
            .store
            .live_sessions(who.user_id(), self.ctx.now())
            .await?;
        for s in &mut list {
            s.last_used_at = coarse(s.last_used_at);
            s.expires_at = coarse(s.expires_at);
            s.idle_expires_at = coarse(s.idle_expires_at);
            s.rotated_at = s.rotated_at.map(coarse);
            s.rotated_by = None;
        }
        Ok(list)
    }

    /// Admin: a user's live sessions, newest first.
    pub async fn live_sessions_of(&self, user_id: &str) -> Result<Vec<Session>> {
        if !storable(user_id) {
            return Err(Error::NotFound("user"));
        }
        Ok(self
            .ctx
            .store
            .live_sessions(user_id, self.ctx.now())
            .await?)
    }

    /// Admin: ends one session of a user (`NotFound` unless it is theirs
    /// and live). Audited as `session.revoked` with the actor of `ctx`.
    pub async fn end_user_session(&self, user_id: &str, sid: &str, ctx: &ClientInfo) -> Result<()> {
        if !storable(sid) || !storable(user_id) {
            return Err(Error::NotFound("session"));
        }
        let now = self.ctx.now();
        match self.ctx.store.session(sid).await? {
            Some(s) if s.user_id == user_id && s.is_live(now) => {
                let forget = self.ctx.forget_on_drop(Forget::Session(sid.to_owned()));
                let changed = self
                    .ctx
                    .store
                    .revoke_session(sid, now, "admin_revoked")
                    .await?;
                forget.committed(changed);
                if !changed {
                    return Err(Error::NotFound("session"));
                }
                self.ctx.signal_revoked();
                self.ctx
                    .audit(
                        AuditEvent::SessionRevoked,
                        Some(user_id),
                        Some(sid),
                        ctx,
                        None,
                    )
                    .await;
                Ok(())
            }
            _ => Err(Error::NotFound("session")),
        }
    }

    /// Ends one of the caller's sessions (404 for anyone else's).
    pub async fn end(&self, who: &Principal, sid: &str, ctx: &ClientInfo) -> Result<()> {
        if !storable(sid) {
            return Err(Error::NotFound("session"));
        }
        match self.ctx.store.session(sid).await? {
            Some(s) if s.user_id == who.user_id() => {
                let forget = self.ctx.forget_on_drop(Forget::Session(sid.to_owned()));
                let changed = self
                    .ctx
                    .store
                    .revoke_session(sid, self.ctx.now(), "user_revoked")
                    .await?;
                forget.committed(changed);
                if changed {
                    self.ctx.signal_revoked();
                    let user = Some(who.user_id());
                    self.ctx
                        .audit(AuditEvent::SessionRevoked, user, Some(sid), ctx, None)
                        .await;
                }
                Ok(())
            }
            _ => Err(Error::NotFound("session")),
        }
    }
}

/// A new random session id (16 bytes; the refresh token carries it).
pub(crate) fn new_session_id() -> Result<[u8; 16]> {
    let mut sid = [0u8; 16];
    sid.copy_from_slice(&crypto::random_bytes(16).map_err(Error::internal)?);
    Ok(sid)
}
