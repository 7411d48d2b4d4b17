//! The token lifecycle: register, login, refresh (rotation, grace, reuse),
//! logout, sessions, and access-token checks.

use crate::config::{secs, AuthConfig};
use crate::error::{Error, Result};
use crate::keys::{KeyInfo, Keys};
use crate::password::Passwords;
use crate::refresh::RefreshToken;
use crate::secret::ServerSecret;
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use tessera_jose::{b64, crypto, Clock, UnverifiedToken, Validation};
use tessera_store::{AuditEvent, Rotation, Session, Store, User};
use zeroize::Zeroizing;

mod live;
mod verified;

pub use live::Account;

/// Longest chain walk when checking whether a spent token is genuine.
/// A token further behind than this is not recognised as genuine (it is then
/// refused without revoking anything); this bounds the work a forged token
/// can cause. 10 000 rotations is over three months of refreshes every 15 min.
const MAX_CHAIN_STEPS: i64 = 10_000;

/// The `InvalidGrant` reason when a spent token was replayed.
pub const REUSE_DETECTED: &str = "refresh token was already used; the session has been revoked";
/// Chain walks longer than this run on a blocking thread, not the executor.
const INLINE_CHAIN_STEPS: i64 = 256;

/// Where a request came from (for sessions and the audit log).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ClientInfo {
    /// Client IP address.
    pub ip: Option<String>,
    /// `User-Agent` header.
    pub user_agent: Option<String>,
}

/// The claims of a Tessera access token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccessClaims {
    /// Issuer.
    pub iss: String,
    /// Subject: the user id (or the client id for client credentials).
    pub sub: String,
    /// Audience.
    pub aud: String,
    /// Expiry.
    pub exp: i64,
    /// Issued at.
    pub iat: i64,
    /// Token id.
    pub jti: String,
    /// Session id (absent for client-credential tokens).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sid: Option<String>,
    /// Roles at issue time.
    #[serde(default)]
    pub roles: Vec<String>,
    /// OAuth scope, where one applies.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
    /// OAuth client, where one applies.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_id: Option<String>,
}

/// A verified caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    /// The access token's claims.
    pub claims: AccessClaims,
}

impl Principal {
    /// The user id.
    pub fn user_id(&self) -> &str {
        &self.claims.sub
    }
    /// The session id, if the token has one.
    pub fn session_id(&self) -> Option<&str> {
        self.claims.sid.as_deref()
    }
    /// True if the token carries this role.
    pub fn has_role(&self, role: &str) -> bool {
        self.claims.roles.iter().any(|r| r == role)
    }
}

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
}

impl std::fmt::Debug for TokenPair {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenPair")
            .field("session_id", &self.session_id)
            .field("expires_in", &self.expires_in)
            .finish_non_exhaustive()
    }
}

/// What happened to a refresh, for metrics.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RefreshOutcome {
    /// The token was current and was rotated.
    Rotated,
    /// The parent was replayed inside the grace window; same successor.
    GraceReplay,
}

/// Normalises an email: trimmed, lower-case, and plausibly shaped.
pub fn normalize_email(raw: &str) -> Result<String> {
    let email = raw.trim().to_lowercase();
    let bad = |m: &str| Error::InvalidInput {
        field: "email",
        message: m.into(),
    };
    if email.is_empty() || email.len() > 254 {
        return Err(bad("must be 1 to 254 characters"));
    }
    if email.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(bad("must not contain spaces or control characters"));
    }
    match email.rsplit_once('@') {
        Some((local, domain))
            if !local.is_empty()
                && !domain.is_empty()
                && !domain.starts_with('.')
                && !domain.ends_with('.') =>
        {
            Ok(email)
        }
        _ => Err(bad("is not an email address")),
    }
}

/// Checks a new password: 8 to 1024 characters, not on the list of common
/// breached passwords ([`crate::breached`]), no composition rules.
pub fn check_password(pw: &str) -> Result<()> {
    let n = pw.chars().count();
    if !(8..=1024).contains(&n) {
        return Err(Error::InvalidInput {
            field: "password",
            message: "must be 8 to 1024 characters".into(),
        });
    }
    if crate::breached::is_common(pw) {
        return Err(Error::InvalidInput {
            field: "password",
            message: "is too common (it appears in lists of breached passwords); choose another"
                .into(),
        });
    }
    Ok(())
}

/// False for a string no stored id, email or key can equal: PostgreSQL text
/// cannot hold NUL, so a lookup by one is answered without asking the store
/// (where it would fail as a database error).
pub(crate) fn storable(s: &str) -> bool {
    !s.contains('\0')
}

fn random_id(len: usize) -> Result<String> {
    crypto::random_bytes(len)
        .map(|b| b64::encode(&b))
        .map_err(|e| Error::Internal(e.to_string()))
}

/// Valid role names: 1–64 of `[A-Za-z0-9_.:-]`.
pub fn check_roles(roles: &[String]) -> Result<()> {
    if roles.len() > 64 {
        return Err(Error::InvalidInput {
            field: "roles",
            message: "at most 64 roles".into(),
        });
    }
    for r in roles {
        let ok = !r.is_empty()
            && r.len() <= 64
            && r.chars()
                .all(|c| c.is_ascii_alphanumeric() || "_.:-".contains(c));
        if !ok {
            return Err(Error::InvalidInput {
                field: "roles",
                message: "each role is 1 to 64 characters of A-Z a-z 0-9 _ . : -".into(),
            });
        }
    }
    Ok(())
}

/// Refresh refused because the session's account no longer exists.
const ACCOUNT_GONE: &str = "the account no longer exists";

/// The auth service: every rule, behind thin HTTP handlers.
pub struct Auth {
    store: Arc<dyn Store>,
    keys: Keys,
    passwords: Passwords,
    /// Access tokens whose signature this process has verified.
    verified: verified::VerifiedTokens,
    /// Recent positive session-liveness answers (see `live`).
    live: live::LiveSessions,
    secret: ServerSecret,
    cfg: AuthConfig,
    clock: Arc<dyn Clock>,
    validation: Validation,
    /// Bumped after every revocation, to wake revocation-feed long polls.
    revoked: tokio::sync::watch::Sender<u64>,
}

impl std::fmt::Debug for Auth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Auth")
            .field("cfg", &self.cfg)
            .finish_non_exhaustive()
    }
}

impl Auth {
    /// Builds the service, loading (or creating) the signing keys.
    pub async fn new(
        store: Arc<dyn Store>,
        secret: ServerSecret,
        cfg: AuthConfig,
        clock: Arc<dyn Clock>,
    ) -> Result<Self> {
        let now = clock.now();
        let keys = Keys::init(store.clone(), secret.clone(), &cfg, now).await?;
        let passwords = Passwords::new(cfg.argon2, cfg.argon2_workers)?;
        let validation = Validation::new(cfg.issuer.clone(), cfg.audience.clone())
            .with_leeway(cfg.leeway.as_secs())
            .require("sub")
            .require("jti");
        Ok(Auth {
            store,
            keys,
            passwords,
            verified: Default::default(),
            live: live::LiveSessions::new(cfg.session_cache_ttl),
            secret,
            cfg,
            clock,
            validation,
            revoked: tokio::sync::watch::Sender::new(0),
        })
    }

    /// A receiver that changes after every session revocation made by this
    /// process (other instances are seen by polling the store).
    pub fn revocation_signal(&self) -> tokio::sync::watch::Receiver<u64> {
        self.revoked.subscribe()
    }

    /// Clears the liveness cache when dropped, so a revocation that commits
    /// but whose call then fails or is cancelled still applies at once.
    pub(crate) fn forget_on_drop(&self) -> live::ForgetOnDrop<'_> {
        self.live.forget_on_drop()
    }

    /// Wakes revocation-feed waiters.
    pub(crate) fn signal_revoked(&self) {
        self.live.forget_all();
        self.revoked.send_modify(|n| *n = n.wrapping_add(1));
    }

    /// The configuration.
    pub fn config(&self) -> &AuthConfig {
        &self.cfg
    }
    /// The clock.
    pub fn clock(&self) -> &Arc<dyn Clock> {
        &self.clock
    }
    /// The store.
    pub fn store(&self) -> &Arc<dyn Store> {
        &self.store
    }
    /// The signing keys.
    pub fn keys(&self) -> &Keys {
        &self.keys
    }
    /// The password hasher.
    pub fn passwords(&self) -> &Passwords {
        &self.passwords
    }
    /// The validation access tokens must pass.
    pub fn validation(&self) -> &Validation {
        &self.validation
    }

    fn audit_event(
        &self,
        event: &str,
        user: Option<&str>,
        session: Option<&str>,
        ctx: &ClientInfo,
        detail: Option<String>,
    ) -> AuditEvent {
        AuditEvent {
            at: self.clock.now(),
            event: event.into(),
            user_id: user.map(str::to_owned),
            session_id: session.map(str::to_owned),
            ip: ctx.ip.clone(),
            user_agent: ctx.user_agent.clone(),
            detail,
        }
    }

    async fn audit(
        &self,
        event: &str,
        user: Option<&str>,
        session: Option<&str>,
        ctx: &ClientInfo,
        detail: Option<String>,
    ) {
        let e = self.audit_event(event, user, session, ctx, detail);
        if let Err(err) = self.store.audit(&e).await {
            tracing::error!(event, error = %err, "audit write failed");
        }
    }

    /// Self-registration (refused when registration is closed).
    pub async fn register(&self, email: &str, password: &str, ctx: &ClientInfo) -> Result<User> {
        if !self.cfg.registration_open {
            return Err(Error::RegistrationClosed);
        }
        let user = self.create_user(email, password, &[]).await?;
        self.audit("user.registered", Some(&user.id), None, ctx, None)
            .await;
        Ok(user)
    }

    /// Creates a user with roles (operators and admins; ignores `registration`).
    pub async fn create_user(&self, email: &str, password: &str, roles: &[String]) -> Result<User> {
        let email = normalize_email(email)?;
        check_password(password)?;
        check_roles(roles)?;
        let hash = self.passwords.hash(password).await?;
        let user = User {
            id: random_id(16)?,
            email,
            password_hash: hash,
            roles: roles.to_vec(),
            created_at: self.clock.now(),
        };
        match self.store.create_user(&user).await {
            Ok(()) => Ok(user),
            Err(tessera_store::StoreError::Conflict) => Err(Error::EmailTaken),
            Err(e) => Err(e.into()),
        }
    }

    /// Password login: a new session and token pair. A wrong password and an
    /// unknown email take the same path and the same time.
    pub async fn login(&self, email: &str, password: &str, ctx: &ClientInfo) -> Result<TokenPair> {
        let result = self.login_inner(email, password, ctx).await;
        let outcome = match &result {
            Ok(_) => "success",
            Err(Error::InvalidCredentials) => "failure",
            Err(_) => "error",
        };
        metrics::counter!("tessera_logins_total", "outcome" => outcome).increment(1);
        result
    }

    async fn login_inner(
        &self,
        email: &str,
        password: &str,
        ctx: &ClientInfo,
    ) -> Result<TokenPair> {
        let user = match normalize_email(email) {
            Ok(e) => self.store.user_by_email(&e).await?,
            Err(_) => None,
        };
        let ok = self
            .passwords
            .verify(user.as_ref().map(|u| u.password_hash.as_str()), password)
            .await?;
        let user = match (ok, user) {
            (true, Some(u)) => u,
            (_, u) => {
                self.audit(
                    "login.failure",
                    u.as_ref().map(|u| u.id.as_str()),
                    None,
                    ctx,
                    None,
                )
                .await;
                return Err(Error::InvalidCredentials);
            }
        };
        if self.passwords.needs_rehash(&user.password_hash) {
            match self.passwords.hash(password).await {
                Ok(h) => {
                    if self.store.set_password_hash(&user.id, &h).await.is_ok() {
                        self.audit("password.rehashed", Some(&user.id), None, ctx, None)
                            .await;
                    }
                }
                Err(e) => tracing::warn!(error = %e, "password re-hash failed"),
            }
        }
        let pair = self.start_session(&user, ctx).await?;
        self.audit(
            "login.success",
            Some(&user.id),
            Some(&pair.session_id),
            ctx,
            None,
        )
        .await;
        Ok(pair)
    }

    async fn start_session(&self, user: &User, ctx: &ClientInfo) -> Result<TokenPair> {
        let now = self.clock.now();
        let mut sid = [0u8; 16];
        sid.copy_from_slice(&crypto::random_bytes(16).map_err(|e| Error::Internal(e.to_string()))?);
        let token = RefreshToken::first(&sid)?;
        let session = Session {
            id: token.session_id(),
            user_id: user.id.clone(),
            created_at: now,
            last_used_at: now,
            expires_at: now.saturating_add(secs(self.cfg.refresh_token_ttl)),
            idle_expires_at: now.saturating_add(secs(self.cfg.refresh_idle_ttl)),
            revoked_at: None,
            revoked_reason: None,
            user_agent: ctx.user_agent.as_ref().map(|s| truncate(s, 512)),
            ip: ctx.ip.clone(),
            generation: 0,
            token_hash: token.hash().to_vec(),
            rotated_at: None,
        };
        self.store.create_session(&session).await?;
        self.pair(user, &session, &token, now)
    }

    fn pair(
        &self,
        user: &User,
        session: &Session,
        token: &RefreshToken,
        now: i64,
    ) -> Result<TokenPair> {
        let access =
            self.issue_access(&user.id, Some(&session.id), &user.roles, None, None, now)?;
        Ok(TokenPair {
            access_token: access,
            expires_in: secs(self.cfg.access_token_ttl),
            refresh_token: token.encode(),
            refresh_token_expires_in: session
                .expires_at
                .min(session.idle_expires_at)
                .saturating_sub(now)
                .max(0),
            session_id: session.id.clone(),
            user_id: user.id.clone(),
        })
    }

    /// Signs an access token.
    pub fn issue_access(
        &self,
        sub: &str,
        sid: Option<&str>,
        roles: &[String],
        scope: Option<&str>,
        client_id: Option<&str>,
        now: i64,
    ) -> Result<String> {
        let claims = AccessClaims {
            iss: self.cfg.issuer.clone(),
            sub: sub.to_owned(),
            aud: self.cfg.audience.clone(),
            exp: now.saturating_add(secs(self.cfg.access_token_ttl)),
            iat: now,
            jti: random_id(12)?,
            sid: sid.map(str::to_owned),
            roles: roles.to_vec(),
            scope: scope.map(str::to_owned),
            client_id: client_id.map(str::to_owned),
        };
        let keys = self.keys.current(now);
        tessera_jose::encode(keys.signer(), Some(tessera_jose::ACCESS_TOKEN_TYP), &claims)
            .map_err(|e| Error::Internal(format!("signing: {e}")))
    }

    /// Trades a refresh token for a new pair. See the crate docs for the rules.
    pub async fn refresh(
        &self,
        text: &str,
        ctx: &ClientInfo,
    ) -> Result<(TokenPair, RefreshOutcome)> {
        let result = self.refresh_inner(text, ctx).await;
        let outcome = match &result {
            Ok((_, RefreshOutcome::Rotated)) => "rotated",
            Ok((_, RefreshOutcome::GraceReplay)) => "grace_replay",
            Err(Error::InvalidGrant(REUSE_DETECTED)) => "reuse_detected",
            Err(Error::InvalidGrant(_)) => "invalid",
            Err(_) => "error",
        };
        metrics::counter!("tessera_refreshes_total", "outcome" => outcome).increment(1);
        result
    }

    async fn refresh_inner(
        &self,
        text: &str,
        ctx: &ClientInfo,
    ) -> Result<(TokenPair, RefreshOutcome)> {
        let token = RefreshToken::parse(text)?;
        let sid = token.session_id();
        let presented = token.generation();
        let hash = token.hash();
        // A lost compare-and-swap means another request rotated first; look again.
        for _ in 0..4 {
            let now = self.clock.now();
            let (session, user) = self
                .store
                .session_with_user(&sid)
                .await?
                .ok_or(Error::InvalidGrant("unknown refresh token"))?;
            if session.revoked_at.is_some() {
                return Err(Error::InvalidGrant("session has ended"));
            }
            if now >= session.expires_at || now >= session.idle_expires_at {
                return Err(Error::InvalidGrant("refresh token has expired"));
            }
            if presented == session.generation {
                if !crypto::constant_time_eq(&hash, &session.token_hash) {
                    return Err(Error::InvalidGrant("unknown refresh token"));
                }
                let next = token.successor(&self.secret);
                let idle = now
                    .saturating_add(secs(self.cfg.refresh_idle_ttl))
                    .min(session.expires_at);
                let user = user.ok_or(Error::InvalidGrant(ACCOUNT_GONE))?;
                // The audit row commits with the rotation (one transaction).
                let audit =
                    self.audit_event("refresh.rotated", Some(&user.id), Some(&sid), ctx, None);
                let won = self
                    .store
                    .rotate_session(&Rotation {
                        session_id: &sid,
                        expected_generation: presented,
                        expected_hash: &hash,
                        new_hash: &next.hash(),
                        now,
                        idle_expires_at: idle,
                        audit: Some(&audit),
                    })
                    .await?;
                if !won {
                    continue;
                }
                let rotated = Session {
                    generation: presented.saturating_add(1),
                    idle_expires_at: idle,
                    last_used_at: now,
                    rotated_at: Some(now),
                    ..session
                };
                let pair = self.pair(&user, &rotated, &next, now)?;
                return Ok((pair, RefreshOutcome::Rotated));
            }
            if !self.genuine(&token, &session).await? {
                return Err(Error::InvalidGrant("unknown refresh token"));
            }
            // A genuine, spent token of this family.
            let grace = secs(self.cfg.refresh_reuse_grace);
            // |now - rotated_at| <= grace: a clock behind the rotating
            // instance's must not stretch the window.
            let in_grace = presented.saturating_add(1) == session.generation
                && grace > 0
                && session.rotated_at.is_some_and(|t| {
                    now.saturating_sub(t) <= grace && t.saturating_sub(now) <= grace
                });
            if in_grace {
                let next = token.successor(&self.secret);
                let user = user.ok_or(Error::InvalidGrant(ACCOUNT_GONE))?;
                let pair = self.pair(&user, &session, &next, now)?;
                self.audit(
                    "refresh.grace_replay",
                    Some(&user.id),
                    Some(&sid),
                    ctx,
                    None,
                )
                .await;
                return Ok((pair, RefreshOutcome::GraceReplay));
            }
            // Clears the liveness cache however this call ends (see `live`).
            let _forget = self.live.forget_on_drop();
            self.store
                .revoke_session(&sid, now, "refresh_token_reuse")
                .await?;
            self.signal_revoked();
            self.audit(
                "refresh.reuse_detected",
                Some(&session.user_id),
                Some(&sid),
                ctx,
                Some(format!(
                    "presented generation {presented}, current {}",
                    session.generation
                )),
            )
            .await;
            tracing::warn!(session = %sid, "refresh token reuse detected; session revoked");
            return Err(Error::InvalidGrant(REUSE_DETECTED));
        }
        Err(Error::Unavailable(
            "too much contention on this session; retry".into(),
        ))
    }

    /// True if `token` is a genuine member of `session`'s family: stepping
    /// its chain forward lands on the current hash. Long walks (a forged token
    /// with a low generation against a long-lived session) run on a blocking
    /// thread so they cannot stall the executor.
    async fn genuine(&self, token: &RefreshToken, session: &Session) -> Result<bool> {
        let steps = session.generation.saturating_sub(token.generation());
        if steps <= INLINE_CHAIN_STEPS {
            return Ok(token.leads_to(
                &self.secret,
                session.generation,
                &session.token_hash,
                MAX_CHAIN_STEPS,
            ));
        }
        let (token, secret) = (token.clone(), self.secret.clone());
        let (generation, hash) = (session.generation, session.token_hash.clone());
        tokio::task::spawn_blocking(move || {
            token.leads_to(&secret, generation, &hash, MAX_CHAIN_STEPS)
        })
        .await
        .map_err(|e| Error::Internal(format!("refresh chain check: {e}")))
    }

    /// Ends the session of a refresh token. Idempotent: an unknown, spent or
    /// already-revoked token is not an error.
    pub async fn logout(&self, text: &str, ctx: &ClientInfo) -> Result<()> {
        let token = RefreshToken::parse(text).map_err(|_| Error::InvalidInput {
            field: "refresh_token",
            message: "is not a Tessera refresh token".into(),
        })?;
        let sid = token.session_id();
        let Some(session) = self.store.session(&sid).await? else {
            return Ok(());
        };
        if !self.genuine(&token, &session).await? {
            return Ok(());
        }
        // A forged token must not be able to empty the cache; a genuine one
        // clears it however the store call ends (see `live`).
        let _forget = self.live.forget_on_drop();
        if self
            .store
            .revoke_session(&sid, self.clock.now(), "logout")
            .await?
        {
            self.signal_revoked();
            self.audit("logout", Some(&session.user_id), Some(&sid), ctx, None)
                .await;
        }
        Ok(())
    }

    /// Verifies an access token (signature, claims, `typ`) and that its
    /// session is still alive.
    pub async fn authenticate(&self, token: &str) -> Result<Principal> {
        let now = self.clock.now();
        // The same token bytes verified before (by a key still published):
        // skip the signature, validate the claims again (see `verified`).
        let digest = crypto::sha256(token.as_bytes());
        let cached = self.verified.get(
            &digest,
            self.keys.current(now).keyset(),
            &self.validation,
            now,
        );
        let claims = match cached {
            Some(claims) => claims,
            None => {
                let verify = |keys: &crate::keys::KeyState| {
                    UnverifiedToken::parse(token, &self.validation.limits)
                        .and_then(|t| t.verify_with(keys.keyset()))
                        .and_then(|t| t.validate::<AccessClaims>(&self.validation, now))
                };
                let mut result = verify(&self.keys.current(now));
                // A kid from another instance's fresh rotation: look once more (rate limited).
                if result.as_ref().err() == Some(&tessera_jose::Error::UnknownKey)
                    && self.keys.reload_for_unknown_kid(now, 5).await?
                {
                    result = verify(&self.keys.current(now));
                }
                let data = result.map_err(|e| Error::InvalidToken(e.to_string()))?;
                let claims = data.claims.clone();
                self.verified.insert(digest, data, &self.validation, now);
                claims
            }
        };
        if let Some(sid) = claims.sid.as_deref() {
            self.check_live(sid, &claims.sub, now).await?;
        }
        Ok(Principal { claims })
    }

    /// The session-liveness check of a Bearer request: the session exists,
    /// is unrevoked and unexpired, and belongs to `sub`. Answered from the
    /// short-lived cache in `live` when it can be, else from the store.
    async fn check_live(&self, sid: &str, sub: &str, now: i64) -> Result<()> {
        let now_ms = self.clock.now_millis();
        let ticket = match self.live.get(sid, sub, now, now_ms) {
            Ok(_) => return Ok(()),
            Err(ticket) => ticket,
        };
        let found = if self.live.enabled() {
            self.store.session_with_user(sid).await?
        } else {
            self.store.session(sid).await?.map(|s| (s, None))
        };
        let ended = || Error::InvalidToken("the session has ended".into());
        let (session, user) = found.ok_or_else(ended)?;
        if session.user_id != sub || !session.is_live(now) {
            return Err(ended());
        }
        if let Some(user) = user {
            let account = Arc::new(Account {
                id: user.id,
                email: user.email,
                roles: user.roles,
            });
            self.live.insert(
                ticket,
                sid,
                account,
                session.expires_at,
                session.idle_expires_at,
                now_ms,
            );
        }
        Ok(())
    }

    /// The caller's account.
    pub async fn me(&self, who: &Principal) -> Result<Account> {
        if let Some(sid) = who.session_id() {
            let now = self.clock.now();
            if let Some(a) = self
                .live
                .account(sid, who.user_id(), now, self.clock.now_millis())
            {
                return Ok((*a).clone());
            }
        }
        self.store
            .user_by_id(who.user_id())
            .await?
            .map(|u| Account {
                id: u.id,
                email: u.email,
                roles: u.roles,
            })
            .ok_or_else(|| Error::InvalidToken("the account no longer exists".into()))
    }

    /// Ends every session of the caller.
    pub async fn logout_all(&self, who: &Principal, ctx: &ClientInfo) -> Result<usize> {
        let _forget = self.live.forget_on_drop();
        let ids = self
            .store
            .revoke_user_sessions(who.user_id(), self.clock.now(), "logout_all")
            .await?;
        self.signal_revoked();
        self.audit(
            "logout.all",
            Some(who.user_id()),
            None,
            ctx,
            Some(format!("{} sessions", ids.len())),
        )
        .await;
        Ok(ids.len())
    }

    /// The caller's live sessions.
    pub async fn sessions(&self, who: &Principal) -> Result<Vec<Session>> {
        Ok(self
            .store
            .live_sessions(who.user_id(), self.clock.now())
            .await?)
    }

    /// Ends one of the caller's sessions (404 for anyone else's).
    pub async fn end_session(&self, who: &Principal, sid: &str, ctx: &ClientInfo) -> Result<()> {
        if !storable(sid) {
            return Err(Error::NotFound("session"));
        }
        match self.store.session(sid).await? {
            Some(s) if s.user_id == who.user_id() => {
                let _forget = self.live.forget_on_drop();
                if self
                    .store
                    .revoke_session(sid, self.clock.now(), "user_revoked")
                    .await?
                {
                    self.signal_revoked();
                    self.audit("session.revoked", Some(who.user_id()), Some(sid), ctx, None)
                        .await;
                }
                Ok(())
            }
            _ => Err(Error::NotFound("session")),
        }
    }

    /// Admin: users, paged by email.
    pub async fn list_users(&self, after: Option<&str>, limit: u32) -> Result<Vec<User>> {
        if after.is_some_and(|a| !storable(a)) {
            return Err(Error::InvalidInput {
                field: "after",
                message: "must not contain NUL".into(),
            });
        }
        Ok(self.store.list_users(after, limit.clamp(1, 500)).await?)
    }

    /// Admin: finds a user by email.
    pub async fn user_by_email(&self, email: &str) -> Result<Option<User>> {
        Ok(self.store.user_by_email(&normalize_email(email)?).await?)
    }

    /// Admin: replaces a user's roles.
    pub async fn set_roles(
        &self,
        user_id: &str,
        roles: &[String],
        ctx: &ClientInfo,
    ) -> Result<User> {
        check_roles(roles)?;
        let _forget = self.live.forget_on_drop();
        if !storable(user_id) || !self.store.set_roles(user_id, roles).await? {
            return Err(Error::NotFound("user"));
        }
        self.live.forget_all();
        self.audit(
            "roles.changed",
            Some(user_id),
            None,
            ctx,
            Some(roles.join(",")),
        )
        .await;
        self.store
            .user_by_id(user_id)
            .await?
            .ok_or(Error::NotFound("user"))
    }

    /// Admin: ends every session of a user.
    pub async fn revoke_user_sessions(&self, user_id: &str, ctx: &ClientInfo) -> Result<usize> {
        if !storable(user_id) || self.store.user_by_id(user_id).await?.is_none() {
            return Err(Error::NotFound("user"));
        }
        let _forget = self.live.forget_on_drop();
        let ids = self
            .store
            .revoke_user_sessions(user_id, self.clock.now(), "admin_revoked")
            .await?;
        self.signal_revoked();
        self.audit(
            "sessions.revoked",
            Some(user_id),
            None,
            ctx,
            Some(format!("{} sessions", ids.len())),
        )
        .await;
        Ok(ids.len())
    }

    /// Admin: rotates the signing key.
    pub async fn rotate_keys(&self, immediate: bool, ctx: &ClientInfo) -> Result<KeyInfo> {
        let info = self.keys.rotate(self.clock.now(), immediate).await?;
        self.audit("key.rotated", None, None, ctx, Some(info.kid.clone()))
            .await;
        Ok(info)
    }

    /// Scheduled maintenance: key rotation and clean-up, expired-session purge.
    pub async fn maintain(&self) -> Result<()> {
        let now = self.clock.now();
        if let Some(info) = self.keys.maintain(now).await? {
            self.audit(
                "key.rotated",
                None,
                None,
                &ClientInfo::default(),
                Some(info.kid),
            )
            .await;
        }
        // Keep expired sessions a day for the session list and audits.
        self.store
            .purge_sessions(now.saturating_sub(86_400))
            .await?;
        self.store.purge_revoked_tokens(now).await?;
        // Throttle state is keyed in milliseconds.
        self.store.kv_purge(self.clock.now_millis()).await?;
        Ok(())
    }
}

fn truncate(s: &str, max: usize) -> String {
    s.chars().take(max).collect()
}
