//! The token endpoint (RFC 6749 §4.3, §4.4, §6): one [`Grant`] in, one
//! [`Granted`] out.

use super::{valid_scope_token, OAuth};
use crate::error::{DpopRefused, Error, Result};
use crate::events::ClientInfo;
use crate::oidc::CodeTokens;
use crate::tokens::{issue_access, Grantee};
use crate::TokenPair;
use tessera_store::Client;

/// The `grant_type` that completes a `password` grant answered
/// `mfa_required` at the token endpoint (a Tessera extension, as RFC 6749
/// §4.5 allows: an absolute URI).
pub const MFA_GRANT: &str = "urn:tessera:params:oauth:grant-type:mfa";

/// A token request's grant, as sent: a parameter that is absent or empty is
/// `None`, and [`OAuth::exchange`] decides (in the order RFC 6749 implies)
/// whether that is an error.
#[non_exhaustive]
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Grant<'a> {
    /// `grant_type=password`: a user's email and password.
    Password {
        /// `username` (the email).
        username: Option<&'a str>,
        /// `password`.
        password: Option<&'a str>,
        /// `scope` (refused: user tokens carry roles).
        scope: Option<&'a str>,
    },
    /// `grant_type=refresh_token`.
    RefreshToken {
        /// `refresh_token`.
        refresh_token: Option<&'a str>,
        /// `scope` (refused: a refresh keeps its grant).
        scope: Option<&'a str>,
    },
    /// `grant_type=authorization_code` (OIDC / RFC 6749 §4.1.3, RFC 7636).
    AuthorizationCode {
        /// `code`.
        code: Option<&'a str>,
        /// `redirect_uri` (required if the authorization request had it).
        redirect_uri: Option<&'a str>,
        /// `code_verifier` (PKCE).
        code_verifier: Option<&'a str>,
    },
    /// `grant_type=client_credentials`: a token for the client itself.
    ClientCredentials {
        /// `scope`: a subset of the client's; all of them when absent.
        scope: Option<&'a str>,
    },
    /// `grant_type=urn:tessera:params:oauth:grant-type:mfa`
    /// ([`MFA_GRANT`]): the second step of a `password` grant answered
    /// `mfa_required`, by the same client.
    Mfa {
        /// `mfa_token` from the `mfa_required` answer.
        mfa_token: Option<&'a str>,
        /// `otp`: a current TOTP code.
        otp: Option<&'a str>,
        /// `recovery_code`: an unused recovery code.
        recovery_code: Option<&'a str>,
    },
    /// No `grant_type`.
    Missing,
    /// A `grant_type` this server does not support.
    Unsupported,
}

impl<'a> Grant<'a> {
    /// The grant of a token request whose parameters `param` looks up.
    pub fn from_params(param: impl Fn(&str) -> Option<&'a str>) -> Self {
        let get = |name: &str| param(name).filter(|v| !v.is_empty());
        let scope = param("scope").filter(|v| !v.trim().is_empty());
        match get("grant_type") {
            None => Grant::Missing,
            Some("password") => Grant::Password {
                username: get("username"),
                password: get("password"),
                scope,
            },
            Some("refresh_token") => Grant::RefreshToken {
                refresh_token: get("refresh_token"),
                scope,
            },
            Some("client_credentials") => Grant::ClientCredentials { scope },
            Some("authorization_code") => Grant::AuthorizationCode {
                code: get("code"),
                redirect_uri: get("redirect_uri"),
                code_verifier: get("code_verifier"),
            },
            Some(MFA_GRANT) => Grant::Mfa {
                mfa_token: get("mfa_token"),
                otp: get("otp"),
                recovery_code: get("recovery_code"),
            },
            Some(_) => Grant::Unsupported,
        }
    }
}

/// A client-credentials access token. `Debug` hides the token.
#[derive(Clone)]
pub struct ClientToken {
    /// The signed access token.
    pub access_token: String,
    /// Seconds until it expires.
    pub expires_in: i64,
    /// The granted scope (space-separated).
    pub scope: String,
}

/// What the token endpoint grants.
#[derive(Debug, Clone)]
pub enum Granted {
    /// A user's token pair (`password` and `refresh_token` grants).
    Pair(TokenPair),
    /// A client's own access token (`client_credentials`).
    Client(ClientToken),
    /// The tokens of an authorization code (access, refresh when allowed,
    /// ID token when `openid` was asked).
    Code(CodeTokens),
}

impl std::fmt::Debug for Grant<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The grant type only: never a password or a refresh token.
        let name = match self {
            Grant::Password { .. } => "Password",
            Grant::RefreshToken { .. } => "RefreshToken",
            Grant::ClientCredentials { .. } => "ClientCredentials",
            Grant::AuthorizationCode { .. } => "AuthorizationCode",
            Grant::Mfa { .. } => "Mfa",
            Grant::Missing => "Missing",
            Grant::Unsupported => "Unsupported",
        };
        f.debug_struct("Grant")
            .field("grant_type", &name)
            .finish_non_exhaustive()
    }
}

impl std::fmt::Debug for ClientToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientToken")
            .field("expires_in", &self.expires_in)
            .field("scope", &self.scope)
            .finish_non_exhaustive()
    }
}

/// Refuses a grant the client is not registered for.
fn check_grant(client: &Client, grant: &'static str) -> Result<()> {
    if client.grants.iter().any(|g| g == grant) {
        Ok(())
    } else {
        Err(Error::UnauthorizedClient(
            "the client may not use this grant type",
        ))
    }
}

/// The scope to grant: the requested tokens (each allowed for the
/// client), or all the client's scopes when none is requested.
fn resolve_scope(client: &Client, requested: Option<&str>) -> Result<String> {
    match requested.map(str::trim).filter(|s| !s.is_empty()) {
        None => Ok(client.scopes.join(" ")),
        Some(req) => {
            let mut out: Vec<&str> = Vec::new();
            for tok in req.split(' ').filter(|t| !t.is_empty()) {
                if !valid_scope_token(tok) {
                    return Err(Error::InvalidScope("malformed scope".into()));
                }
                if !client.scopes.iter().any(|s| s == tok) {
                    return Err(Error::InvalidScope(format!(
                        "`{tok}` is not allowed for this client"
                    )));
                }
                if !out.contains(&tok) {
                    out.push(tok);
                }
            }
            Ok(out.join(" "))
        }
    }
}

impl OAuth {
    /// The token endpoint: `client` is the authenticated client, if the
    /// request authenticated one. Password logins are throttled and refreshes
    /// rate limited as on Tessera's own endpoints.
    pub async fn exchange(
        &self,
        client: Option<&Client>,
        grant: Grant<'_>,
        ctx: &ClientInfo,
    ) -> Result<Granted> {
        // A client that must use DPoP gets no token without a proof.
        if client.is_some_and(|c| c.require_dpop) && ctx.dpop_jkt.is_none() {
            return Err(Error::InvalidDpopProof(DpopRefused::Missing(
                "this client must send a DPoP proof",
            )));
        }
        match grant {
            Grant::Password {
                username,
                password,
                scope,
            } => {
                if let Some(c) = client {
                    check_grant(c, "password")?;
                }
                if scope.is_some() {
                    let why = "user tokens carry roles, not scopes";
                    return Err(Error::InvalidScope(why.into()));
                }
                let user = username.ok_or(Error::MissingParameter("username"))?;
                let pass = password.ok_or(Error::MissingParameter("password"))?;
                Ok(Granted::Pair(self.sessions.login(user, pass, ctx).await?))
            }
            Grant::RefreshToken {
                refresh_token,
                scope,
            } => {
                if let Some(c) = client {
                    check_grant(c, "refresh_token")?;
                }
                if let Some(asked) = scope {
                    // RFC 6749 §6: a client may repeat the granted scope
                    // (OIDC libraries do); it may not change it.
                    if !self.is_granted_scope(refresh_token, asked).await? {
                        let why = "a refresh cannot change the scope";
                        return Err(Error::InvalidScope(why.into()));
                    }
                }
                let permit = self.sessions.admit_refresh(ctx).await?;
                let rt = refresh_token.ok_or(Error::MissingParameter("refresh_token"))?;
                let (pair, _) = self.sessions.refresh_admitted(permit, rt, ctx).await?;
                Ok(Granted::Pair(pair))
            }
            Grant::ClientCredentials { scope } => {
                let client = client.ok_or(Error::ClientAuthenticationRequired)?;
                Ok(Granted::Client(
                    self.client_credentials(client, scope, ctx)?,
                ))
            }
            Grant::AuthorizationCode {
                code,
                redirect_uri,
                code_verifier,
            } => {
                // A public client identifies itself by `client_id` (the
                // caller looks it up with `Clients::identify_public`).
                let client = client.ok_or(Error::ClientAuthenticationRequired)?;
                check_grant(client, "authorization_code")?;
                let code = code.ok_or(Error::MissingParameter("code"))?;
                let tokens = self
                    .oidc
                    .exchange_code(client, code, redirect_uri, code_verifier, ctx)
                    .await?;
                Ok(Granted::Code(tokens))
            }
            Grant::Mfa {
                mfa_token,
                otp,
                recovery_code,
            } => {
                // The second step of the password grant: the same client
                // (the mfa_token is bound to it), allowed that grant.
                if let Some(c) = client {
                    check_grant(c, "password")?;
                }
                let token = mfa_token.ok_or(Error::MissingParameter("mfa_token"))?;
                let proof = match (otp, recovery_code) {
                    (Some(code), None) => crate::MfaProof::Totp(code),
                    (None, Some(code)) => crate::MfaProof::RecoveryCode(code),
                    (None, None) => return Err(Error::MissingParameter("otp")),
                    (Some(_), Some(_)) => {
                        return Err(Error::InvalidInput {
                            field: "otp",
                            message: "send otp or recovery_code, not both".into(),
                        })
                    }
                };
                let pair = self.mfa.complete(token, proof, ctx, false).await?;
                Ok(Granted::Pair(pair))
            }
            Grant::Missing => Err(Error::MissingParameter("grant_type")),
            Grant::Unsupported => Err(Error::UnsupportedGrantType),
        }
    }

    /// True if `asked` is exactly the scope the refresh token's session was
    /// granted (as a set).
    async fn is_granted_scope(&self, refresh_token: Option<&str>, asked: &str) -> Result<bool> {
        let Some(t) = refresh_token.and_then(|t| crate::refresh::RefreshToken::parse(t).ok())
        else {
            return Ok(false);
        };
        let Some(session) = self.ctx.store.session(&t.session_id()).await? else {
            return Ok(false);
        };
        let set = |s: &str| {
            let mut v: Vec<String> = s
                .split(' ')
                .filter(|x| !x.is_empty())
                .map(str::to_owned)
                .collect();
            v.sort();
            v.dedup();
            v
        };
        Ok(session
            .scope
            .as_deref()
            .is_some_and(|granted| set(granted) == set(asked)))
    }

    /// The client-credentials grant: an access token for the client itself
    /// (`sub` and `client_id` are the client id), with no refresh token.
    fn client_credentials(
        &self,
        client: &Client,
        scope: Option<&str>,
        ctx: &ClientInfo,
    ) -> Result<ClientToken> {
        check_grant(client, "client_credentials")?;
        let scope = resolve_scope(client, scope)?;
        let to = Grantee {
            sub: &client.id,
            sid: None,
            roles: &[],
            scope: (!scope.is_empty()).then_some(scope.as_str()),
            client_id: Some(&client.id),
            email_verified: None,
            not_after: None,
            jkt: ctx.dpop_jkt.as_deref(),
            authn: None,
        };
        let access = issue_access(&self.ctx, to, self.ctx.now())?;
        Ok(ClientToken {
            access_token: access,
            expires_in: i64::try_from(self.ctx.cfg.access_token_ttl.as_secs()).unwrap_or(i64::MAX),
            scope,
        })
    }
}
