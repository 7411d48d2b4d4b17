//! Authorization codes: issued at the end of the authorization endpoint,
//! exchanged once at the token endpoint (`grant_type=authorization_code`).

use super::id_token::{at_hash, sign, IdTokenClaims};
use super::{AuthorizeRequest, Oidc, SsoSession, CODE_TTL};
use crate::error::{Error, Result};
use crate::events::{AuditEvent, ClientInfo};
use crate::TokenPair;
use serde::{Deserialize, Serialize};
use tessera_jose::{b64, crypto};
use tessera_store::{AuthCode, Client, CodeUse};

/// What a code remembers of its request (stored as JSON).
#[derive(Serialize, Deserialize)]
struct CodeData {
    redirect_uri: String,
    redirect_uri_sent: bool,
    scope: String,
    nonce: Option<String>,
    code_challenge: Option<String>,
    auth_time: i64,
    amr: Vec<String>,
    sid: String,
    /// `acr_values` asked for MFA.
    #[serde(default)]
    acr: bool,
}

/// The answer to an authorization code exchange. `Debug` hides the tokens.
#[derive(Clone)]
pub struct CodeTokens {
    /// The access and refresh tokens of the client's new session.
    pub pair: TokenPair,
    /// Whether to hand out the refresh token (`offline_access` asked, or
    /// the client may use the `refresh_token` grant).
    pub with_refresh: bool,
    /// The ID token, when `openid` was asked.
    pub id_token: Option<String>,
    /// The granted scope.
    pub scope: String,
}

impl std::fmt::Debug for CodeTokens {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CodeTokens")
            .field("pair", &self.pair)
            .field("with_refresh", &self.with_refresh)
            .field("scope", &self.scope)
            .finish_non_exhaustive()
    }
}

const BAD_CODE: Error = Error::InvalidGrant("invalid authorization code");

fn pkce_ok(challenge: Option<&str>, verifier: Option<&str>) -> Result<()> {
    match (challenge, verifier) {
        (None, None) => Ok(()),
        (None, Some(_)) => Err(Error::InvalidGrant(
            "code_verifier sent, but the authorization request had no code_challenge",
        )),
        (Some(_), None) => Err(Error::InvalidGrant("missing code_verifier (PKCE)")),
        (Some(c), Some(v)) => {
            // RFC 7636 §4.1: 43 to 128 unreserved characters.
            let shape = (43..=128).contains(&v.len())
                && v.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"-._~".contains(&b));
            let computed = b64::encode(&crypto::sha256(v.as_bytes()));
            if shape && crypto::constant_time_eq(computed.as_bytes(), c.as_bytes()) {
                Ok(())
            } else {
                Err(Error::InvalidGrant(
                    "code_verifier does not match the code_challenge",
                ))
            }
        }
    }
}

impl Oidc {
    /// Issues a code for `req` to the SSO session's user; returns the URL to
    /// redirect the browser to (`code`, `state`, `iss`).
    pub async fn issue_code(&self, req: &AuthorizeRequest, sso: &SsoSession) -> Result<String> {
        let now = self.ctx.now();
        let raw = crypto::random_bytes(32).map_err(Error::internal)?;
        let code = b64::encode(&raw);
        let data = CodeData {
            redirect_uri: req.redirect_uri.clone(),
            redirect_uri_sent: req.redirect_uri_sent,
            scope: req.scope(),
            nonce: req.nonce.clone(),
            code_challenge: req.code_challenge.clone(),
            auth_time: sso.auth_time,
            amr: sso.amr.clone(),
            sid: sso.id.clone(),
            acr: req.acr_mfa,
        };
        let data = serde_json::to_string(&data).map_err(Error::internal)?;
        self.ctx
            .store
            .insert_code(&AuthCode {
                code_hash: crypto::sha256(code.as_bytes()).to_vec(),
                client_id: req.client_id.clone(),
                user_id: sso.user_id.clone(),
                data,
                created_at: now,
                expires_at: now.saturating_add(CODE_TTL),
                used_at: None,
                session_id: None,
            })
            .await?;
        Ok(req.answer(&[("code", &code)]))
    }

    /// `grant_type=authorization_code` for `client` (authenticated, or a
    /// public client that identified itself). A code is spent by its first
    /// exchange, whatever the outcome; a replay revokes the session the code
    /// was exchanged for (RFC 6749 §4.1.2).
    pub async fn exchange_code(
        &self,
        client: &Client,
        code: &str,
        redirect_uri: Option<&str>,
        code_verifier: Option<&str>,
        ctx: &ClientInfo,
    ) -> Result<CodeTokens> {
        if !client.grants.iter().any(|g| g == "authorization_code") {
            return Err(Error::UnauthorizedClient(
                "the client may not use this grant type",
            ));
        }
        let c = &self.ctx;
        let now = c.now();
        let hash = crypto::sha256(code.as_bytes());
        // The session this code is exchanged for, recorded with its use in
        // one statement (a replay revokes it). If a check below refuses the
        // exchange, the code names a session that never existed.
        let sid = crate::sessions::new_session_id()?;
        let sid_text = crate::refresh::RefreshToken::first(&sid)?.session_id();
        let row = match c.store.use_code(&hash, now, Some(&sid_text)).await? {
            CodeUse::Unknown => return Err(BAD_CODE),
            CodeUse::Replayed(row) => {
                if let Some(sid) = &row.session_id {
                    let why = AuditEvent::RefreshReuseDetected;
                    self.revoke_one(sid, &row.user_id, "code_replayed", why, ctx)
                        .await?;
                }
                return Err(BAD_CODE);
            }
            CodeUse::Fresh(row) => row,
        };
        if now >= row.expires_at || row.client_id != client.id {
            return Err(BAD_CODE);
        }
        let data: CodeData = serde_json::from_str(&row.data).map_err(Error::internal)?;
        let uri_ok = match redirect_uri {
            Some(u) => u == data.redirect_uri,
            None => !data.redirect_uri_sent,
        };
        if !uri_ok {
            return Err(Error::InvalidGrant(
                "redirect_uri differs from the authorization request's",
            ));
        }
        pkce_ok(data.code_challenge.as_deref(), code_verifier)?;
        let user = c
            .store
            .user_by_id(&row.user_id)
            .await?
            .filter(|u| !u.disabled())
            .ok_or(BAD_CODE)?;
        let ctx = ClientInfo {
            oauth_client: Some(client.id.clone()),
            ..ctx.clone()
        };
        let scope = (!data.scope.is_empty()).then_some(data.scope.as_str());
        let authn = crate::Authn {
            amr: data.amr.clone(),
            auth_time: data.auth_time,
        };
        let pair = self
            .sessions
            .start_session_as(&sid, &user, scope, Some(&data.sid), &authn, &ctx)
            .await?;
        let scopes: Vec<&str> = data.scope.split(' ').collect();
        let id_alg = super::id_token::ring(c, client.id_token_alg.as_deref())
            .current(now)
            .signer()
            .algorithm()
            .as_str()
            .to_owned();
        let id_token = if scopes.contains(&"openid") {
            let email = scopes.contains(&"email");
            let claims = IdTokenClaims {
                iss: c.cfg.issuer.clone(),
                sub: user.id.clone(),
                aud: client.id.clone(),
                exp: now.saturating_add(crate::config::secs(c.cfg.access_token_ttl)),
                iat: now,
                auth_time: data.auth_time,
                nonce: data.nonce.clone(),
                azp: client.id.clone(),
                sid: Some(data.sid.clone()),
                amr: data.amr.clone(),
                acr: data.acr.then(|| {
                    let mfa = data.amr.iter().any(|a| a == "mfa");
                    (if mfa { super::MFA_ACR } else { "0" }).to_owned()
                }),
                at_hash: at_hash(&id_alg, &pair.access_token),
                email: email.then(|| user.email.clone()),
                email_verified: email.then(|| user.email_verified()),
            };
            let jws = sign(c, client.id_token_alg.as_deref(), &claims, now)?;
            Some(super::id_token::encrypt_for(client, jws)?)
        } else {
            None
        };
        let with_refresh = scopes.contains(&"offline_access")
            || client.grants.iter().any(|g| g == "refresh_token");
        Ok(CodeTokens {
            pair,
            with_refresh,
            id_token,
            scope: data.scope,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::pkce_ok;

    #[test]
    fn pkce_rules() {
        // RFC 7636 Appendix B.
        let v = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
        let c = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";
        assert!(pkce_ok(Some(c), Some(v)).is_ok());
        assert!(pkce_ok(Some(c), None).is_err());
        assert!(pkce_ok(Some(c), Some("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXX")).is_err());
        // `plain`: the verifier equal to the challenge is refused.
        assert!(pkce_ok(Some(c), Some(c)).is_err());
        assert!(pkce_ok(None, Some(v)).is_err());
        assert!(pkce_ok(None, None).is_ok());
    }
}
