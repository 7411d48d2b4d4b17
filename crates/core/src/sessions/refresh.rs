//! Refresh-token rotation with a grace window and reuse detection (the
//! rules are in the crate docs), behind the per-IP refresh rate limit.

use super::{RefreshOutcome, Sessions, TokenPair};
use crate::config::secs;
use crate::error::{Error, Result};
use crate::events::AuditEvent;
use crate::events::ClientInfo;
use crate::live::Forget;
use crate::refresh::RefreshToken;
use crate::throttle::Action;
use tessera_jose::crypto;
use tessera_store::{Rotation, Session, User};

/// Longest chain walk when checking whether a spent token is genuine.
/// A token further behind than this is not recognised as genuine (it is then
/// refused without revoking anything); this bounds the work a forged token
/// can cause. 10 000 rotations is over three months of refreshes every 15 min.
const MAX_CHAIN_STEPS: i64 = 10_000;

/// Chain walks longer than this run on a blocking thread, not the executor.
const INLINE_CHAIN_STEPS: i64 = 256;

/// The `InvalidGrant` reason when a spent token was replayed.
pub const REUSE_DETECTED: &str = "refresh token was already used; the session has been revoked";

/// The `InvalidGrant` reason when a DPoP-bound refresh token came without a
/// proof from its key.
pub const DPOP_THEFT: &str =
    "the refresh token is bound to a DPoP key and came without a proof from it; \
     the session has been revoked";

/// Refresh refused because the token belongs to another client.
const OTHER_CLIENT: &str = "the refresh token was not issued to this client";

/// Refresh refused because the session's account no longer exists.
const ACCOUNT_GONE: &str = "the account no longer exists";

/// Proof that a request passed the refresh rate limit
/// ([`Sessions::admit_refresh`]); spent by [`Sessions::refresh_admitted`].
#[derive(Debug)]
#[must_use]
pub struct RefreshPermit(());

impl Sessions {
    /// Takes one token from the client IP's refresh bucket: for callers that
    /// must refuse an over-limit request before they read its token.
    pub async fn admit_refresh(&self, ctx: &ClientInfo) -> Result<RefreshPermit> {
        let now = self.ctx.now_millis();
        self.limiter
            .rate(Action::Refresh, ctx.throttle_key().as_deref(), now)
            .await
            .map_err(Error::TooManyRequests)?;
        Ok(RefreshPermit(()))
    }

    /// Trades a refresh token for a new pair, under the per-IP rate limit.
    /// See the crate docs for the rules.
    pub async fn refresh(
        &self,
        text: &str,
        ctx: &ClientInfo,
    ) -> Result<(TokenPair, RefreshOutcome)> {
        let permit = self.admit_refresh(ctx).await?;
        self.refresh_admitted(permit, text, ctx).await
    }

    /// [`Sessions::refresh`] for a request already admitted.
    pub async fn refresh_admitted(
        &self,
        permit: RefreshPermit,
        text: &str,
        ctx: &ClientInfo,
    ) -> Result<(TokenPair, RefreshOutcome)> {
        let RefreshPermit(()) = permit;
        let result = self.refresh_inner(text, ctx).await;
        let outcome = match &result {
            Ok((_, RefreshOutcome::Rotated)) => "rotated",
            Ok((_, RefreshOutcome::GraceReplay)) => "grace_replay",
            Err(Error::InvalidGrant(REUSE_DETECTED)) => "reuse_detected",
            Err(Error::InvalidGrant(DPOP_THEFT)) => "dpop_theft",
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
        // A lost compare-and-swap means another request rotated first; look again.
        for _ in 0..4 {
            let now = self.ctx.now();
            let (session, user) = self
                .ctx
                .store
                .session_with_user(&sid)
                .await?
                .ok_or(Error::InvalidGrant("unknown refresh token"))?;
            if user.as_ref().is_some_and(User::disabled) {
                return Err(Error::InvalidGrant("the account is disabled"));
            }
            if session.revoked_at.is_some() {
                return Err(Error::InvalidGrant("session has ended"));
            }
            if now >= session.expires_at || now >= session.idle_expires_at {
                return Err(Error::InvalidGrant("refresh token has expired"));
            }
            // RFC 6749 §6: a token issued to an OAuth client is refreshed
            // by that client only (and a first-party one by no client).
            if session.client_id != ctx.oauth_client {
                return Err(Error::InvalidGrant(OTHER_CLIENT));
            }
            // RFC 9449 §5: a bound refresh token needs a proof from its
            // key. Without one it is taken for stolen (see `dpop_theft`).
            if let Some(bound) = session.dpop_jkt.as_deref() {
                if ctx.dpop_jkt.as_deref() != Some(bound) {
                    return Err(self.dpop_theft(&token, &session, now, ctx).await);
                }
            }
            if token.generation() == session.generation {
                match self.rotate(&token, session, user, now, ctx).await? {
                    Some(done) => return Ok(done),
                    None => continue,
                }
            }
            return self.spent(&token, session, user, now, ctx).await;
        }
        Err(Error::unavailable_msg(
            "too much contention on this session; retry",
        ))
    }

    /// The current token: rotate it. `None` when another request won the
    /// compare-and-swap.
    async fn rotate(
        &self,
        token: &RefreshToken,
        session: Session,
        user: Option<User>,
        now: i64,
        ctx: &ClientInfo,
    ) -> Result<Option<(TokenPair, RefreshOutcome)>> {
        let hash = token.hash();
        let presented = token.generation();
        if !crypto::constant_time_eq(&hash, &session.token_hash) {
            return Err(Error::InvalidGrant("unknown refresh token"));
        }
        let next = token.successor(&self.ctx.secret);
        let idle = now
            .saturating_add(secs(self.ctx.cfg.refresh_idle_ttl))
            .min(session.expires_at);
        let user = user.ok_or(Error::InvalidGrant(ACCOUNT_GONE))?;
        // The audit row commits with the rotation (one transaction).
        let sid = Some(session.id.as_str());
        let audit =
            self.ctx
                .audit_event(AuditEvent::RefreshRotated, Some(&user.id), sid, ctx, None);
        let fingerprint = ctx.fingerprint();
        let won = self
            .ctx
            .store
            .rotate_session(&Rotation {
                session_id: &session.id,
                expected_generation: presented,
                expected_hash: &hash,
                new_hash: &next.hash(),
                now,
                idle_expires_at: idle,
                rotated_by: Some(&fingerprint),
                audit: Some(&audit),
            })
            .await?;
        if !won {
            return Ok(None);
        }
        let rotated = Session {
            generation: presented.saturating_add(1),
            idle_expires_at: idle,
            last_used_at: now,
            rotated_at: Some(now),
            rotated_by: Some(fingerprint.to_vec()),
            ..session
        };
        let pair = self.pair(&user, &rotated, &next, now, ctx)?;
        Ok(Some((pair, RefreshOutcome::Rotated)))
    }

    /// A token that is not the current one: a forgery (refused), the parent
    /// inside the grace window (same successor), or reuse (the session dies).
    async fn spent(
        &self,
        token: &RefreshToken,
        session: Session,
        user: Option<User>,
        now: i64,
        ctx: &ClientInfo,
    ) -> Result<(TokenPair, RefreshOutcome)> {
        if !self.genuine(token, &session).await? {
            return Err(Error::InvalidGrant("unknown refresh token"));
        }
        let presented = token.generation();
        let sid = session.id.as_str();
        // A genuine, spent token of this family.
        let grace = secs(self.ctx.cfg.refresh_reuse_grace);
        // |now - rotated_at| <= grace: a clock behind the rotating
        // instance's must not stretch the window. And only for the client
        // that rotated (same OAuth client, or same network and user agent):
        // a thief replaying the parent from elsewhere trips reuse detection.
        let same_client = session
            .rotated_by
            .as_deref()
            .is_some_and(|fp| fp == ctx.fingerprint().as_slice());
        let in_grace = presented.saturating_add(1) == session.generation
            && grace > 0
            && same_client
            && session
                .rotated_at
                .is_some_and(|t| now.saturating_sub(t) <= grace && t.saturating_sub(now) <= grace);
        if in_grace {
            let next = token.successor(&self.ctx.secret);
            let user = user.ok_or(Error::InvalidGrant(ACCOUNT_GONE))?;
            let pair = self.pair(&user, &session, &next, now, ctx)?;
            self.ctx
                .audit(
                    AuditEvent::RefreshGraceReplay,
                    Some(&user.id),
                    Some(sid),
                    ctx,
                    None,
                )
                .await;
            return Ok((pair, RefreshOutcome::GraceReplay));
        }
        // Clears the liveness cache however this call ends (see `live`).
        let forget = self.ctx.forget_on_drop(Forget::Session(sid.to_owned()));
        let changed = self
            .ctx
            .store
            .revoke_session(sid, now, "refresh_token_reuse")
            .await?;
        forget.committed(changed);
        self.ctx.signal_revoked();
        let detail = format!(
            "presented generation {presented}, current {}",
            session.generation
        );
        self.ctx
            .audit(
                AuditEvent::RefreshReuseDetected,
                Some(&session.user_id),
                Some(sid),
                ctx,
                Some(detail),
            )
            .await;
        tracing::warn!(session = %sid, "refresh token reuse detected; session revoked");
        Err(Error::InvalidGrant(REUSE_DETECTED))
    }

    /// A genuine refresh token of a DPoP-bound session presented without a
    /// proof from its key: whoever holds it is not the client it was issued
    /// to, so the session ends (and shows in the revocation feed), as on
    /// reuse. A token that is not genuine changes nothing.
    async fn dpop_theft(
        &self,
        token: &RefreshToken,
        session: &Session,
        now: i64,
        ctx: &ClientInfo,
    ) -> Error {
        match self.genuine(token, session).await {
            Ok(true) => {}
            Ok(false) => return Error::InvalidGrant("unknown refresh token"),
            Err(e) => return e,
        }
        let sid = session.id.as_str();
        let forget = self.ctx.forget_on_drop(Forget::Session(sid.to_owned()));
        let changed = match self
            .ctx
            .store
            .revoke_session(sid, now, "dpop_proof_missing")
            .await
        {
            Ok(changed) => changed,
            Err(e) => return e.into(),
        };
        forget.committed(changed);
        self.ctx.signal_revoked();
        let detail = match ctx.dpop_jkt {
            Some(_) => "DPoP proof from another key than the bound one",
            None => "no DPoP proof for a DPoP-bound refresh token",
        };
        self.ctx
            .audit(
                AuditEvent::RefreshReuseDetected,
                Some(&session.user_id),
                Some(sid),
                ctx,
                Some(detail.into()),
            )
            .await;
        tracing::warn!(session = %sid, "DPoP-bound refresh token without its key; session revoked");
        Error::InvalidGrant(DPOP_THEFT)
    }

    /// True if `token` is a genuine member of `session`'s family: stepping
    /// its chain forward lands on the current hash. Long walks (a forged token
    /// with a low generation against a long-lived session) run on a blocking
    /// thread so they cannot stall the executor.
    pub(crate) async fn genuine(&self, token: &RefreshToken, session: &Session) -> Result<bool> {
        let secret = &self.ctx.secret;
        let steps = session.generation.saturating_sub(token.generation());
        if steps <= INLINE_CHAIN_STEPS {
            return Ok(token.leads_to(
                secret,
                session.generation,
                &session.token_hash,
                MAX_CHAIN_STEPS,
            ));
        }
        let (token, secret) = (token.clone(), secret.clone());
        let (generation, hash) = (session.generation, session.token_hash.clone());
        tokio::task::spawn_blocking(move || {
            token.leads_to(&secret, generation, &hash, MAX_CHAIN_STEPS)
        })
        .await
        .map_err(|e| Error::internal_in("refresh chain check", e))
    }
}
