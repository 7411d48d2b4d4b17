//! The Bearer check: an access token's signature, claims and `typ`, and that
//! its session is still alive.

use super::Sessions;
use crate::claims::{AccessClaims, Principal};
use crate::error::{Error, Result, TokenRefused};
use crate::keys::KeyState;
use crate::live::Account;
use std::sync::Arc;
use tessera_jose::{crypto, UnverifiedToken};

impl Sessions {
    /// Verifies an access token (signature, claims, `typ`) and that its
    /// session is still alive.
    pub async fn authenticate(&self, token: &str) -> Result<Principal> {
        let c = &self.ctx;
        let now = c.now();
        // The same token bytes verified before (by a key still published):
        // skip the signature, validate the claims again (see `verified`).
        let digest = crypto::sha256(token.as_bytes());
        let cached = c
            .verified
            .get(&digest, c.keys.current(now).keyset(), &c.validation, now);
        let claims = match cached {
            Some(claims) => claims,
            None => {
                let refused = |e| Error::InvalidToken(TokenRefused::Jose(e));
                let token = crate::tokens::open_access(c, token).map_err(refused)?;
                let verify = |keys: &KeyState| {
                    UnverifiedToken::parse(&token, &c.validation.limits)
                        .and_then(|t| t.verify_with(keys.keyset()))
                        .and_then(|t| t.validate::<AccessClaims>(&c.validation, now))
                };
                let mut result = verify(&c.keys.current(now));
                // A kid from another instance's fresh rotation: look once more (rate limited).
                if result.as_ref().err() == Some(&tessera_jose::Error::UnknownKey)
                    && c.keys.reload_for_unknown_kid(now, 5).await?
                {
                    result = verify(&c.keys.current(now));
                }
                let data = result.map_err(refused)?;
                let claims = data.claims.clone();
                c.verified.insert(digest, data, &c.validation, now);
                claims
            }
        };
        let roles = match claims.sid.as_deref() {
            Some(sid) => self.check_live(sid, &claims.sub, now).await?.roles.clone(),
            // A client-credentials token: refused once revoked (RFC 7009).
            None => {
                if c.store.is_token_revoked(&claims.jti).await? {
                    return Err(Error::InvalidToken(TokenRefused::Revoked));
                }
                Vec::new()
            }
        };
        Ok(Principal { claims, roles })
    }

    /// The session-liveness check of a Bearer request: the session exists,
    /// is unrevoked and unexpired, and belongs to `sub`. Answered from the
    /// short-lived cache in `live` when it can be, else from the store.
    /// The account it answers with carries the current roles.
    async fn check_live(&self, sid: &str, sub: &str, now: i64) -> Result<Arc<Account>> {
        let c = &self.ctx;
        let now_ms = c.now_millis();
        let ticket = match c.live.get(sid, sub, now, now_ms) {
            Ok(account) => return Ok(account),
            Err(ticket) => ticket,
        };
        let ended = || Error::InvalidToken(TokenRefused::SessionEnded);
        let (session, user) = c.store.session_with_user(sid).await?.ok_or_else(ended)?;
        if session.user_id != sub || !session.is_live(now) {
            return Err(ended());
        }
        let user = user.ok_or(Error::InvalidToken(TokenRefused::AccountGone))?;
        if user.disabled() {
            return Err(ended());
        }
        let account = Arc::new(Account {
            email_verified: user.email_verified(),
            id: user.id,
            email: user.email,
            roles: user.roles,
        });
        c.live.insert(
            ticket,
            sid,
            account.clone(),
            session.expires_at,
            session.idle_expires_at,
            now_ms,
        );
        Ok(account)
    }
}
