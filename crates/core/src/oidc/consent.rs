//! Consent, remembered per user, client and scope. First-party clients
//! never ask; `openid` itself needs no consent (it only names the user to
//! the client, which every other scope does too).

use super::{AuthorizeRequest, Oidc};
use crate::claims::Principal;
use crate::error::{Error, Result};
use crate::events::ClientInfo;
use tessera_store::Consent;

/// The scopes of a request that consent is about.
pub(crate) fn consentable(req: &AuthorizeRequest) -> Vec<String> {
    req.scopes
        .iter()
        .filter(|s| s.as_str() != "openid")
        .cloned()
        .collect()
}

impl Oidc {
    /// The requested scopes the user has not consented to for this client
    /// (empty for a first-party client).
    pub async fn missing_consent(
        &self,
        user_id: &str,
        req: &AuthorizeRequest,
    ) -> Result<Vec<String>> {
        if req.first_party {
            return Ok(Vec::new());
        }
        let have = self.ctx.store.consents(user_id).await?;
        let mut wanted = consentable(req);
        wanted.retain(|s| {
            !have
                .iter()
                .any(|c| c.client_id == req.client_id && &c.scope == s)
        });
        // A client whose request has only `openid` still gets asked once.
        if req.scopes.iter().any(|s| s == "openid")
            && wanted.is_empty()
            && !have.iter().any(|c| c.client_id == req.client_id)
        {
            wanted.push("openid".into());
        }
        Ok(wanted)
    }

    /// Remembers that the user consented to `scopes` for `client_id`.
    pub async fn grant_consent(
        &self,
        user_id: &str,
        client_id: &str,
        scopes: &[String],
    ) -> Result<()> {
        let now = self.ctx.now();
        Ok(self
            .ctx
            .store
            .grant_consent(user_id, client_id, scopes, now)
            .await?)
    }

    /// The caller's remembered consents.
    pub async fn consents(&self, who: &Principal) -> Result<Vec<Consent>> {
        Ok(self.ctx.store.consents(who.user_id()).await?)
    }

    /// Forgets the caller's consents to a client and ends the sessions
    /// issued to it (they appear in the revocation feed). `NotFound` if
    /// there was no consent.
    pub async fn revoke_consent(
        &self,
        who: &Principal,
        client_id: &str,
        ctx: &ClientInfo,
    ) -> Result<usize> {
        if !crate::ctx::storable(client_id) {
            return Err(Error::NotFound("consent"));
        }
        let user = who.user_id();
        let n = self.ctx.store.revoke_consent(user, client_id).await?;
        if n == 0 {
            return Err(Error::NotFound("consent"));
        }
        self.end_client_sessions(user, client_id, "consent_revoked", ctx)
            .await
    }
}
