//! What a long-running process does on a timer, and what its readiness
//! probe asks: key rotation and clean-up, purging expired rows, and whether
//! the database answers.

use crate::ctx::Ctx;
use crate::error::Result;
use crate::events::AuditEvent;
use crate::events::ClientInfo;
use std::sync::Arc;

/// Scheduled maintenance and readiness.
#[derive(Clone)]
pub struct Maintenance {
    ctx: Arc<Ctx>,
}

impl std::fmt::Debug for Maintenance {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Maintenance").finish_non_exhaustive()
    }
}

impl Maintenance {
    pub(crate) fn new(ctx: Arc<Ctx>) -> Self {
        Maintenance { ctx }
    }

    /// Scheduled maintenance: key rotation and clean-up, expired-session
    /// purge, audit entries past `audit_retention`.
    pub async fn run(&self) -> Result<()> {
        let c = &self.ctx;
        let now = c.now();
        if let Some(info) = c.keys.maintain(now).await? {
            let detail = Some(info.kid);
            c.audit(
                AuditEvent::KeyRotated,
                None,
                None,
                &ClientInfo::default(),
                detail,
            )
            .await;
        }
        if let Some(id) = &c.id_keys {
            if let Some(info) = id.maintain(now).await? {
                let detail = Some(info.kid);
                let who = ClientInfo::default();
                c.audit(AuditEvent::KeyRotated, None, None, &who, detail)
                    .await;
            }
        }
        // Keep expired sessions a day for the session list and audits.
        c.store.purge_sessions(now.saturating_sub(86_400)).await?;
        // A revoked token still verifies until `exp` plus the leeway: keep
        // its denylist entry that long, or it would look active again.
        let leeway = i64::try_from(c.cfg.leeway.as_secs()).unwrap_or(i64::MAX);
        c.store
            .purge_revoked_tokens(now.saturating_sub(leeway))
            .await?;
        let retention = crate::config::secs(c.cfg.audit_retention);
        if retention > 0 {
            c.store.purge_audit(now.saturating_sub(retention)).await?;
        }
        c.store.purge_one_time_tokens(now).await?;
        // Authorization codes live 60 s; a used one is kept a day so that a
        // late replay is still recognised (and revokes what it issued).
        c.store.purge_codes(now.saturating_sub(86_400)).await?;
        // Pending MFA login steps: a spent or expired one is kept a day, so
        // a late replay is answered "already used" rather than "unknown".
        c.store
            .purge_mfa_challenges(now.saturating_sub(86_400))
            .await?;
        // Throttle state is keyed in milliseconds.
        c.store.kv_purge(c.now_millis()).await?;
        Ok(())
    }

    /// The frequent, cheap check: a signing key revoked by another
    /// instance or the CLI stops being trusted here. Returns whether this
    /// instance dropped a key.
    pub async fn watch_keys(&self) -> Result<bool> {
        let now = self.ctx.now();
        let id = match &self.ctx.id_keys {
            Some(id) => id.drop_revoked(now).await?,
            None => false,
        };
        Ok(self.ctx.keys.drop_revoked(now).await? || id)
    }

    /// Answers when the database answers.
    pub async fn ready(&self) -> Result<()> {
        Ok(self.ctx.store.ping().await?)
    }

    /// How many sessions are live now (for metrics).
    pub async fn live_sessions(&self) -> Result<i64> {
        Ok(self.ctx.store.count_live_sessions(self.ctx.now()).await?)
    }
}
