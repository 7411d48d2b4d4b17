//! RP-initiated logout (OpenID Connect RP-Initiated Logout 1.0).

use super::{IdTokenClaims, Oidc};
use crate::error::{Error, Result};
use crate::events::ClientInfo;
use tessera_jose::UnverifiedToken;

/// The parameters of the `end_session_endpoint`; absent or empty is `None`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct EndSessionParams {
    /// `id_token_hint`: an ID token this server issued (expired is fine).
    pub id_token_hint: Option<String>,
    /// `client_id`.
    pub client_id: Option<String>,
    /// `post_logout_redirect_uri` (must be registered for the client).
    pub post_logout_redirect_uri: Option<String>,
    /// `state`, returned as sent.
    pub state: Option<String>,
}

impl EndSessionParams {
    /// The parameters a lookup function (query string or form) gives.
    pub fn from_lookup<'a>(param: impl Fn(&str) -> Option<&'a str>) -> Self {
        let get = |n: &str| param(n).filter(|v| !v.is_empty()).map(str::to_owned);
        EndSessionParams {
            id_token_hint: get("id_token_hint"),
            client_id: get("client_id"),
            post_logout_redirect_uri: get("post_logout_redirect_uri"),
            state: get("state"),
        }
    }
}

/// A checked logout request.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct EndSession {
    /// The client (from `client_id` or the hint's `aud`).
    pub client_id: Option<String>,
    /// The hint's user, when a valid hint was sent.
    pub hinted_user: Option<String>,
    /// True when there is no valid hint: the page must ask the user to
    /// confirm before [`Oidc::end_session`] runs (a cross-site GET must not
    /// log anyone out on its own).
    pub confirm: bool,
    /// Where to send the browser afterwards (with `state`), or `None`: show
    /// a "signed out" page.
    pub redirect: Option<String>,
}

impl Oidc {
    fn hint_claims(&self, hint: &str) -> Option<IdTokenClaims> {
        let now = self.ctx.now();
        let v = &self.ctx.validation;
        let main = self.ctx.keys.current(now);
        let id = self.ctx.id_keys.as_ref().map(|k| k.current(now));
        let verify = |keys: &tessera_jose::KeySet| {
            UnverifiedToken::parse(hint, &v.limits).and_then(|t| t.verify_with(keys))
        };
        let t = verify(main.keyset())
            .or_else(|e| match &id {
                Some(id) => verify(id.keyset()),
                None => Err(e),
            })
            .ok()?;
        let claims: IdTokenClaims = serde_json::from_slice(t.payload()).ok()?;
        (claims.iss == self.ctx.cfg.issuer).then_some(claims)
    }

    /// Checks a logout request without changing anything. An invalid hint,
    /// an unknown client, a hint for another client, or a
    /// `post_logout_redirect_uri` not registered for the client is an
    /// [`Error::InvalidInput`] (show an error page, never redirect).
    pub async fn end_session_check(&self, p: &EndSessionParams) -> Result<EndSession> {
        let bad = |field: &'static str, m: &str| Error::InvalidInput {
            field,
            message: m.into(),
        };
        let claims = match &p.id_token_hint {
            None => None,
            Some(h) => Some(
                self.hint_claims(h)
                    .ok_or_else(|| bad("id_token_hint", "is not an ID token of this server"))?,
            ),
        };
        let client_id = match (&claims, &p.client_id) {
            (Some(c), Some(id)) if &c.aud != id => {
                return Err(bad("client_id", "does not match the id_token_hint"))
            }
            (Some(c), _) => Some(c.aud.clone()),
            (None, id) => id.clone(),
        };
        let redirect = match &p.post_logout_redirect_uri {
            None => None,
            Some(uri) => {
                let id = client_id.as_deref().ok_or_else(|| {
                    bad(
                        "post_logout_redirect_uri",
                        "needs client_id or id_token_hint",
                    )
                })?;
                let client = match crate::ctx::storable(id) {
                    true => self.ctx.store.client(id).await?,
                    false => None,
                }
                .ok_or_else(|| bad("client_id", "unknown client"))?;
                if !client.post_logout_redirect_uris.iter().any(|r| r == uri) {
                    return Err(bad(
                        "post_logout_redirect_uri",
                        "is not registered for this client",
                    ));
                }
                let mut q = form_urlencoded::Serializer::new(String::new());
                if let Some(s) = &p.state {
                    q.append_pair("state", s);
                }
                let qs = q.finish();
                Some(if qs.is_empty() {
                    uri.clone()
                } else {
                    let sep = if uri.contains('?') { '&' } else { '?' };
                    format!("{uri}{sep}{qs}")
                })
            }
        };
        Ok(EndSession {
            client_id,
            hinted_user: claims.as_ref().map(|c| c.sub.clone()),
            confirm: claims.is_none(),
            redirect,
        })
    }

    /// Logs out: checks the request ([`Oidc::end_session_check`]), ends the
    /// SSO session of `sso_cookie` with every client session it signed in,
    /// and the user's sessions issued to the client (all announced in the
    /// revocation feed). Call it only after
    /// the user confirmed when `confirm` is true.
    pub async fn end_session(
        &self,
        p: &EndSessionParams,
        sso_cookie: Option<&str>,
        ctx: &ClientInfo,
    ) -> Result<EndSession> {
        let plan = self.end_session_check(p).await?;
        let ended = match sso_cookie {
            Some(c) => self.end_sso(c, ctx).await?,
            None => None,
        };
        let user = ended.map(|s| s.user_id).or(plan.hinted_user.clone());
        if let (Some(user), Some(client)) = (&user, &plan.client_id) {
            self.end_client_sessions(user, client, "logout", ctx)
                .await?;
        }
        Ok(plan)
    }
}
