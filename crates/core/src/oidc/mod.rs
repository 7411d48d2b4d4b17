//! The OpenID Connect provider (issue 16): the authorization code flow with
//! PKCE, single sign-on sessions, consent, ID tokens, userinfo and
//! RP-initiated logout. `App::oidc` is an [`Oidc`].
//!
//! # The browser side, step by step (what the `/oauth2/authorize` handler does)
//!
//! 1. `let req = app.oidc.validate_authorize(&AuthorizeParams::from_query(q))`.
//!    On `Err(e)`: `e.redirect_url()` is `Some(url)` → 303 to it; `None` →
//!    an error page (unknown client, unregistered `redirect_uri`: never
//!    redirect).
//! 2. `let sso = app.oidc.sso(cookie_value).await?` (`None` without a
//!    valid cookie).
//! 3. `match app.oidc.next_step(&req, sso.as_ref(), just_logged_in).await?`:
//!    - `Step::Login` → the login page (which posts `email`, `password`,
//!      the CSRF token and `req.to_query()`); on POST:
//!      `app.oidc.authenticate_password(email, password, &client_info)` (the
//!      JSON login's throttle and rules, enumeration-safe errors), then
//!      `app.oidc.start_sso(&user.id, &["pwd"], &client_info)` → set
//!      [`SsoCookie`] (a new value on every login: no fixation; end the old
//!      one with `end_sso`), then `next_step(.., just_logged_in = true)`.
//!    - `Step::Consent { missing }` → the consent page listing `missing`;
//!      on approval `app.oidc.grant_consent(user, &req.client_id, &missing)`
//!      then issue; on denial redirect to
//!      `req.error("access_denied", "…").redirect_url()`.
//!    - `Step::Issue` → `let url = app.oidc.issue_code(&req, &sso).await?`,
//!      303 to `url` (carries `code`, `state`, `iss`).
//!    - `Err(e)` (prompt=none without session/consent) → redirect to
//!      `e.redirect_url()`.
//! 4. `end_session`: [`Oidc::end_session`] with the parsed
//!    [`EndSessionParams`]; it validates the hint and the
//!    `post_logout_redirect_uri`, ends the SSO session and the client's
//!    sessions, and says where to go ([`EndSession`]). Without a valid
//!    `id_token_hint` the page asks for confirmation first
//!    ([`Oidc::end_session_check`] says whether it must).
//!
//! # Rules
//! - Codes: 256 random bits, single use, 60 s, stored as SHA-256; a replay
//!   revokes the session issued from the code (RFC 6749 §4.1.2).
//! - SSO cookie: `<session id>.<256-bit secret>`; only the SHA-256 of the
//!   secret is stored, in the `sessions` table (so SSO sessions are listed by
//!   `GET /v1/sessions`, end with logout, and appear in the revocation feed).
//! - ID tokens are signed with the server's signing key, or, for a client
//!   registered with `id_token_signed_response_alg = RS256`, with the RS256
//!   key kept beside a main key of another algorithm (OIDC requires every
//!   OP to support RS256): its own ring (kids `oidc-…`), published in the
//!   JWKS, rotated and revocable like the main key. In HS mode
//!   (shared secrets) ID tokens cannot be verified by clients, so the
//!   `openid` scope is refused there; the plain OAuth code flow still works.

mod authorize;
mod code;
mod consent;
mod end_session;
mod id_token;
pub(crate) mod id_token_enc;
mod redirect;
mod sso;

pub use authorize::{
    AuthorizeError, AuthorizeParams, AuthorizeRequest, Prompt, ACR_VALUES, MFA_ACR, OIDC_SCOPES,
};
pub use code::CodeTokens;
pub use end_session::{EndSession, EndSessionParams};
pub use id_token::IdTokenClaims;
pub use sso::{SsoCookie, SsoSession};

/// Checks a redirect or post-logout redirect URI a client registers.
pub(crate) fn check_redirect_uri(uri: &str) -> std::result::Result<(), String> {
    redirect::check_registered(uri)
}

use crate::ctx::Ctx;
use crate::error::Result;
use crate::events::ClientInfo;
use crate::Sessions;
use std::sync::Arc;
use tessera_store::User;

/// Lifetime of an authorization code (seconds).
pub const CODE_TTL: i64 = 60;

/// The step the authorization endpoint takes next.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// Show the login page (no SSO session, `prompt=login`, or `max_age`
    /// exceeded).
    Login,
    /// Show the consent page for these scopes.
    Consent {
        /// The scopes not consented to yet.
        missing: Vec<String>,
    },
    /// Issue the code ([`Oidc::issue_code`]).
    Issue,
}

/// The OpenID Connect provider's rules.
#[derive(Clone)]
pub struct Oidc {
    ctx: Arc<Ctx>,
    sessions: Sessions,
}

impl std::fmt::Debug for Oidc {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Oidc").finish_non_exhaustive()
    }
}

impl Oidc {
    pub(crate) fn new(ctx: Arc<Ctx>, sessions: Sessions) -> Self {
        Oidc { ctx, sessions }
    }

    /// True if ID tokens can be issued (not in HS mode).
    pub fn id_tokens_available(&self) -> bool {
        self.ctx.cfg.signing_alg.family() != tessera_jose::Family::Hmac
    }

    /// The algorithm of ID tokens by default (the server's signing
    /// algorithm).
    pub fn id_token_alg(&self) -> &'static str {
        self.ctx.cfg.signing_alg.as_str()
    }

    /// Every ID token algorithm a client may register: the server's
    /// signing algorithm and RS256 (an RS256 key is kept beside a main key
    /// of another algorithm); none in HS mode.
    pub fn id_token_algs(&self) -> Vec<&'static str> {
        if self.id_tokens_available() {
            id_token::algs(&self.ctx)
        } else {
            Vec::new()
        }
    }

    /// `id_token_encryption_alg_values_supported`: the asymmetric key
    /// management algorithms (none in HS mode).
    pub fn id_token_encryption_algs(&self) -> Vec<&'static str> {
        match self.id_tokens_available() {
            true => id_token_enc::ALGS.iter().map(|a| a.as_str()).collect(),
            false => Vec::new(),
        }
    }

    /// `id_token_encryption_enc_values_supported` (none in HS mode).
    pub fn id_token_encryption_encs(&self) -> Vec<&'static str> {
        match self.id_tokens_available() {
            true => tessera_jose::jwe::ContentAlgorithm::ALL
                .iter()
                .map(|a| a.as_str())
                .collect(),
            false => Vec::new(),
        }
    }

    /// Validates an authorization request (see [`AuthorizeError`] for
    /// which errors may go back to the client).
    pub async fn validate_authorize(
        &self,
        params: &AuthorizeParams,
    ) -> std::result::Result<AuthorizeRequest, AuthorizeError> {
        let client = match params.client_id.as_deref() {
            Some(id) if crate::ctx::storable(id) && id.len() <= 128 => {
                match self.ctx.store.client(id).await {
                    Ok(c) => c,
                    Err(e) => {
                        tracing::warn!(error = %e, "client lookup failed");
                        return Err(AuthorizeError::Page {
                            error: "temporarily_unavailable",
                            description: "try again later".into(),
                        });
                    }
                }
            }
            _ => None,
        };
        authorize::validate(
            params,
            client.as_ref(),
            &self.ctx.cfg.issuer,
            self.id_tokens_available(),
        )
    }

    /// The password check of the JSON login (same throttle, same
    /// enumeration-safe [`crate::Error::InvalidCredentials`], same disabled
    /// and unverified-email rules), for the hosted login page. With a
    /// second factor enrolled (or required), the right password answers
    /// [`crate::Error::MfaRequired`]: the page asks for the factor next
    /// ([`crate::Mfa::verify_for_sso`]).
    pub async fn authenticate_password(
        &self,
        email: &str,
        password: &str,
        ctx: &ClientInfo,
    ) -> Result<User> {
        let user = self
            .sessions
            .authenticate_password(email, password, ctx)
            .await?;
        crate::mfa::gate(&self.ctx, &user, ctx, true).await?;
        Ok(user)
    }

    /// What the authorization endpoint does next for `req`, given the SSO
    /// session (if any). `just_logged_in`: the user authenticated on this
    /// very request (so `prompt=login` is satisfied). With `prompt=none`, a
    /// needed login or consent is an error to redirect back
    /// (`login_required`, `consent_required`).
    pub async fn next_step(
        &self,
        req: &AuthorizeRequest,
        sso: Option<&SsoSession>,
        just_logged_in: bool,
    ) -> Result<std::result::Result<Step, AuthorizeError>> {
        let now = self.ctx.now();
        let login = match sso {
            None => true,
            Some(s) => {
                let too_old = req
                    .max_age
                    .is_some_and(|m| now.saturating_sub(s.auth_time) > m);
                // acr_values asking for MFA: a session on a password alone
                // signs in again (the login asks for the factor when the
                // user has one).
                let weak = req.acr_mfa && !s.amr.iter().any(|a| a == "mfa");
                !just_logged_in && (req.prompt.login || too_old || weak)
            }
        };
        if login {
            if req.prompt.none {
                return Ok(Err(req.error("login_required", "the user is not signed in")));
            }
            return Ok(Ok(Step::Login));
        }
        let Some(s) = sso else {
            return Ok(Ok(Step::Login));
        };
        let missing = self.missing_consent(&s.user_id, req).await?;
        let ask = req.prompt.consent && !req.first_party || !missing.is_empty();
        if ask {
            if req.prompt.none {
                return Ok(Err(
                    req.error("consent_required", "the user has not consented")
                ));
            }
            let missing = if missing.is_empty() {
                consent::consentable(req)
            } else {
                missing
            };
            return Ok(Ok(Step::Consent { missing }));
        }
        Ok(Ok(Step::Issue))
    }
}

/// The userinfo answer (OIDC Core §5.3): `sub`, and `email` /
/// `email_verified` with the `email` scope.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct UserInfo {
    /// The user id.
    pub sub: String,
    /// With the `email` scope.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// With the `email` scope.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email_verified: Option<bool>,
}

impl Oidc {
    /// The userinfo of a verified access token (see
    /// [`crate::Sessions::authenticate`]): it must carry the `openid`
    /// scope ([`crate::Error::Forbidden`] otherwise: `insufficient_scope`).
    pub async fn userinfo(&self, who: &crate::Principal) -> Result<UserInfo> {
        let scope = who.claims.scope.as_deref().unwrap_or_default();
        let scopes: Vec<&str> = scope.split(' ').collect();
        if !scopes.contains(&"openid") {
            return Err(crate::Error::Forbidden(
                "the access token lacks the openid scope",
            ));
        }
        let user = self
            .ctx
            .store
            .user_by_id(who.user_id())
            .await?
            .ok_or(crate::Error::NotFound("user"))?;
        let email = scopes.contains(&"email");
        Ok(UserInfo {
            sub: user.id.clone(),
            email: email.then(|| user.email.clone()),
            email_verified: email.then(|| user.email_verified()),
        })
    }
}
