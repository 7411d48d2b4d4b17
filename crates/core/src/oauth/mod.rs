//! OAuth 2.0 interop: confidential [`Clients`], the token endpoint's grants
//! ([`Grant`], one [`OAuth::exchange`]), token revocation (RFC 7009) and
//! introspection (RFC 7662).
//!
//! Authorization codes, consent and ID tokens are `crate::oidc`'s; the
//! `authorization_code` grant here hands the code to it.

mod clients;
mod grant;

pub use clients::{ClientSpec, Clients};
pub use grant::{ClientToken, Grant, Granted, MFA_GRANT};

use crate::ctx::Ctx;
use crate::error::{Error, Result};
use crate::events::AuditEvent;
use crate::events::ClientInfo;
use crate::live::Forget;
use crate::refresh::RefreshToken;
use crate::tokens::verify_access;
use crate::Sessions;
use std::sync::Arc;
use tessera_api::{IntrospectionResponse, IntrospectionTokenType};
use tessera_jose::crypto;
use tessera_store::Client;

/// Grant types a client may be allowed.
pub const GRANTS: [&str; 4] = [
    "authorization_code",
    "client_credentials",
    "password",
    "refresh_token",
];

/// The permission (listed with a client's grants, `--grant introspect`)
/// to use the introspection endpoint (RFC 7662).
pub const INTROSPECT: &str = "introspect";

/// True if `client` may introspect tokens.
pub fn may_introspect(client: &Client) -> bool {
    client.grants.iter().any(|g| g == INTROSPECT)
}

/// Which kind of token a revocation or introspection request names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenHint {
    /// `access_token`.
    Access,
    /// `refresh_token`.
    Refresh,
    /// No (or an unknown) hint.
    None,
}

/// Checks one scope token (RFC 6749 §3.3).
pub(crate) fn valid_scope_token(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 128
        && s.bytes()
            .all(|b| b == 0x21 || (0x23..=0x5b).contains(&b) || (0x5d..=0x7e).contains(&b))
}

/// The token endpoint's grants, revocation and introspection.
#[derive(Clone)]
pub struct OAuth {
    ctx: Arc<Ctx>,
    sessions: Sessions,
    oidc: crate::oidc::Oidc,
    mfa: crate::Mfa,
}

impl std::fmt::Debug for OAuth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OAuth").finish_non_exhaustive()
    }
}

impl OAuth {
    pub(crate) fn new(
        ctx: Arc<Ctx>,
        sessions: Sessions,
        oidc: crate::oidc::Oidc,
        mfa: crate::Mfa,
    ) -> Self {
        OAuth {
            ctx,
            sessions,
            oidc,
            mfa,
        }
    }

    /// RFC 7009, for the authenticated `client`: revokes a refresh token
    /// (its session ends) or an access token (its session ends; a
    /// session-less token is denylisted until it expires, and refused by
    /// every Bearer check and announced in the revocation feed meanwhile).
    /// Only tokens issued to `client` are revoked (§2.1); unknown, invalid
    /// and other clients' tokens are not an error and change nothing.
    pub async fn revoke(
        &self,
        token: &str,
        hint: TokenHint,
        client: &Client,
        ctx: &ClientInfo,
    ) -> Result<()> {
        let owner = Some(client.id.as_str());
        let looks_refresh = token.starts_with(crate::refresh::PREFIX);
        if looks_refresh || hint == TokenHint::Refresh {
            if let Ok(t) = RefreshToken::parse(token) {
                return self.sessions.end_family(&t, owner, ctx).await;
            }
            if looks_refresh {
                return Ok(());
            }
        }
        let Some(claims) = verify_access(&self.ctx, token) else {
            return Ok(());
        };
        if claims.client_id.as_deref() != owner {
            return Ok(());
        }
        let c = &self.ctx;
        let now = c.now();
        let user = Some(claims.sub.as_str());
        match &claims.sid {
            Some(sid) => {
                let forget = c.forget_on_drop(Forget::Session(sid.clone()));
                let changed = c.store.revoke_session(sid, now, "token_revoked").await?;
                forget.committed(changed);
                if changed {
                    c.signal_revoked();
                    c.audit(AuditEvent::TokenRevoked, user, Some(sid), ctx, None)
                        .await;
                }
            }
            None => {
                c.store.revoke_token(&claims.jti, claims.exp).await?;
                // Wakes the feed's long polls: followers refuse it at once.
                c.signal_revoked();
                c.audit(AuditEvent::TokenRevoked, user, None, ctx, None)
                    .await;
            }
        }
        Ok(())
    }

    /// RFC 7662, for the authenticated `client`: `{"active": false}` for
    /// anything that is not a live token; the claims of a live access token
    /// (every Tessera access token carries the one configured audience, so
    /// it is meant for every resource server allowed to introspect). A
    /// refresh token is answered only to the client it was issued to
    /// (inactive for any other: its `iat` would time the session's
    /// rotations). A client without the [`INTROSPECT`] permission is
    /// refused ([`Error::UnauthorizedClient`]).
    pub async fn introspect(
        &self,
        token: &str,
        hint: TokenHint,
        client: &Client,
    ) -> Result<IntrospectionResponse> {
        if !may_introspect(client) {
            return Err(Error::UnauthorizedClient(
                "the client may not introspect tokens",
            ));
        }
        let inactive = IntrospectionResponse::inactive();
        if token.starts_with(crate::refresh::PREFIX) || hint == TokenHint::Refresh {
            if let Ok(t) = RefreshToken::parse(token) {
                return self.introspect_refresh(&t, client).await;
            }
        }
        let Some(claims) = verify_access(&self.ctx, token) else {
            return Ok(inactive);
        };
        let now = self.ctx.now();
        let store = &self.ctx.store;
        let live = match &claims.sid {
            Some(sid) => store
                .session(sid)
                .await?
                .is_some_and(|s| s.user_id == claims.sub && s.is_live(now)),
            None => !store.is_token_revoked(&claims.jti).await?,
        };
        if !live {
            return Ok(inactive);
        }
        Ok(IntrospectionResponse::for_access(claims))
    }

    async fn introspect_refresh(
        &self,
        t: &RefreshToken,
        client: &Client,
    ) -> Result<IntrospectionResponse> {
        let now = self.ctx.now();
        let store = &self.ctx.store;
        let Some(session) = store.session(&t.session_id()).await? else {
            return Ok(IntrospectionResponse::inactive());
        };
        if session.client_id.as_deref() != Some(client.id.as_str()) {
            return Ok(IntrospectionResponse::inactive());
        }
        let current = t.generation() == session.generation
            && crypto::constant_time_eq(&t.hash(), &session.token_hash);
        if !current || !session.is_live(now) {
            return Ok(IntrospectionResponse::inactive());
        }
        let user = store.user_by_id(&session.user_id).await?;
        Ok(IntrospectionResponse {
            active: true,
            token_type: Some(IntrospectionTokenType::RefreshToken),
            iss: Some(self.ctx.cfg.issuer.clone()),
            sub: Some(session.user_id),
            sid: Some(session.id),
            iat: Some(session.rotated_at.unwrap_or(session.created_at)),
            exp: Some(session.expires_at.min(session.idle_expires_at)),
            roles: Some(user.map(|u| u.roles).unwrap_or_default()),
            ..IntrospectionResponse::inactive()
        })
    }
}
