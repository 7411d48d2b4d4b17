//! What every service shares, private to the crate: the store, the clock,
//! the server secret, the policy, the signing keys, the password hasher, the
//! session-liveness cache and the revocation signal. No service hands any of
//! it out.

use crate::config::AuthConfig;
use crate::error::{Error, Result};
use crate::events::AuditEvent;
use crate::events::ClientInfo;
use crate::keys::Keys;
use crate::password::Passwords;
use crate::secret::ServerSecret;
use crate::{live, verified};
use std::sync::Arc;
use tessera_jose::{b64, crypto, Clock, Validation};
use tessera_store::Store;

pub(crate) struct Ctx {
    pub(crate) store: Arc<dyn Store>,
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) secret: ServerSecret,
    pub(crate) cfg: AuthConfig,
    pub(crate) keys: Keys,
    /// The RS256 ring of ID tokens beside a main key of another algorithm.
    pub(crate) id_keys: Option<Keys>,
    pub(crate) passwords: Passwords,
    pub(crate) validation: Validation,
    /// Access tokens whose signature this process has verified.
    pub(crate) verified: verified::VerifiedTokens,
    /// Recent positive session-liveness answers (see `live`).
    pub(crate) live: live::LiveSessions,
    /// Bumped after every revocation, to wake revocation-feed long polls.
    revoked: tokio::sync::watch::Sender<u64>,
}

impl Ctx {
    /// Loads (or creates) the signing keys and builds the context.
    pub(crate) async fn new(
        store: Arc<dyn Store>,
        secret: ServerSecret,
        cfg: AuthConfig,
        clock: Arc<dyn Clock>,
    ) -> Result<Self> {
        let now = clock.now();
        let keys = Keys::init(store.clone(), secret.clone(), &cfg, now).await?;
        let id_keys = Keys::init_id_tokens(store.clone(), secret.clone(), &cfg, now).await?;
        let passwords = Passwords::new(cfg.argon2, cfg.argon2_workers)?;
        let validation = Validation::new(cfg.issuer.clone(), cfg.audience.clone())
            .with_leeway(cfg.leeway.as_secs())
            .require("sub")
            .require("jti")
            // Tessera always names the key: a kid-less token would verify
            // against a lone key and outlive that key's revocation.
            .require_kid(true);
        Ok(Ctx {
            store,
            keys,
            id_keys,
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

    pub(crate) fn now(&self) -> i64 {
        self.clock.now()
    }

    pub(crate) fn now_millis(&self) -> i64 {
        self.clock.now_millis()
    }

    /// A receiver that changes after every session revocation made by this
    /// process (other instances are seen by polling the store).
    pub(crate) fn revocation_signal(&self) -> tokio::sync::watch::Receiver<u64> {
        self.revoked.subscribe()
    }

    /// Forgets `scope` in the liveness cache when dropped (unless the
    /// change turns out to have changed nothing), so a revocation that
    /// commits but whose call then fails or is cancelled still applies at
    /// once. See [`live::LiveSessions::forget_on_drop`].
    pub(crate) fn forget_on_drop(&self, scope: live::Forget) -> live::ForgetOnDrop<'_> {
        self.live.forget_on_drop(scope)
    }

    /// After a revocation: wakes feed waiters.
    pub(crate) fn signal_revoked(&self) {
        self.revoked.send_modify(|n| *n = n.wrapping_add(1));
    }

    /// An audit row (to write now, or with a rotation).
    pub(crate) fn audit_event(
        &self,
        event: AuditEvent,
        user: Option<&str>,
        session: Option<&str>,
        ctx: &ClientInfo,
        detail: Option<String>,
    ) -> tessera_store::AuditEvent {
        tessera_store::AuditEvent {
            at: self.now(),
            event: event.as_str().into(),
            user_id: user.map(str::to_owned),
            session_id: session.map(str::to_owned),
            ip: ctx.ip.clone(),
            user_agent: ctx.user_agent.clone(),
            detail,
            actor: ctx.actor.as_ref().map(crate::Actor::as_audit),
            client_id: ctx.oauth_client.clone(),
        }
    }

    /// Writes the audit row of an action on an OAuth client (its target,
    /// in the `client_id` column); a failed write is logged, never fatal.
    pub(crate) async fn audit_client(
        &self,
        event: AuditEvent,
        client_id: &str,
        ctx: &ClientInfo,
        detail: Option<String>,
    ) {
        let mut e = self.audit_event(event, None, None, ctx, detail);
        e.client_id = Some(client_id.to_owned());
        if let Err(err) = self.store.audit(&e).await {
            tracing::error!(event = event.as_str(), error = %err, "audit write failed");
        }
    }

    /// Writes an audit row; a failed write is logged, never fatal.
    pub(crate) async fn audit(
        &self,
        event: AuditEvent,
        user: Option<&str>,
        session: Option<&str>,
        ctx: &ClientInfo,
        detail: Option<String>,
    ) {
        let e = self.audit_event(event, user, session, ctx, detail);
        if let Err(err) = self.store.audit(&e).await {
            tracing::error!(event = event.as_str(), error = %err, "audit write failed");
        }
    }

    /// Writes an audit row that repeats fold into: the same event for the
    /// same user from the same IP within [`AUDIT_REPEAT_WINDOW`] counts on
    /// the earlier row, so a flood of failures cannot grow the log without
    /// bound. Without an IP it is an ordinary row.
    pub(crate) async fn audit_repeated(
        &self,
        event: AuditEvent,
        user: Option<&str>,
        ctx: &ClientInfo,
    ) {
        if ctx.ip.is_none() {
            return self.audit(event, user, None, ctx, None).await;
        }
        let e = self.audit_event(event, user, None, ctx, None);
        let since = e.at.saturating_sub(AUDIT_REPEAT_WINDOW);
        if let Err(err) = self.store.audit_repeated(&e, since).await {
            tracing::error!(event = event.as_str(), error = %err, "audit write failed");
        }
    }
}

/// Repeated failed logins from one address at one account within this
/// many seconds are one audit entry with a count.
pub const AUDIT_REPEAT_WINDOW: i64 = 3600;

/// False for a string no stored id, email or key can equal: PostgreSQL text
/// cannot hold NUL, so a lookup by one is answered without asking the store
/// (where it would fail as a database error).
pub(crate) fn storable(s: &str) -> bool {
    !s.contains('\0')
}

pub(crate) fn random_id(len: usize) -> Result<String> {
    crypto::random_bytes(len)
        .map(|b| b64::encode(&b))
        .map_err(Error::internal)
}

pub(crate) fn truncate(s: &str, max: usize) -> String {
    s.chars().take(max).collect()
}
