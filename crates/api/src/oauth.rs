//! `/oauth2/*`: the token endpoint (RFC 6749), revocation (RFC 7009) and
//! introspection (RFC 7662). Requests are `application/x-www-form-urlencoded`.

use serde::{Deserialize, Serialize};
use utoipa::openapi::extensions::Extensions;
use utoipa::openapi::schema::{ObjectBuilder, Type};
use utoipa::openapi::{RefOr, Schema};
use utoipa::{PartialSchema, ToSchema};

/// Longest access token any Tessera verifier accepts (bytes); a longer one
/// is never valid (introspection answers it inactive).
pub const TOKEN_MAX_BYTES: usize = 8 * 1024;

/// The grant types of `POST /oauth2/token`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum GrantType {
    /// RFC 6749 §4.3: a user's email and password.
    Password,
    /// RFC 6749 §6: a refresh token, which rotates.
    RefreshToken,
    /// RFC 6749 §4.4: a confidential client's own token.
    ClientCredentials,
}

impl GrantType {
    /// The wire name (`password`, `refresh_token`, `client_credentials`).
    pub fn as_str(self) -> &'static str {
        match self {
            GrantType::Password => "password",
            GrantType::RefreshToken => "refresh_token",
            GrantType::ClientCredentials => "client_credentials",
        }
    }

    /// The grant type of a wire name; `None` for any other.
    pub fn from_param(s: &str) -> Option<Self> {
        match s {
            "password" => Some(GrantType::Password),
            "refresh_token" => Some(GrantType::RefreshToken),
            "client_credentials" => Some(GrantType::ClientCredentials),
            _ => None,
        }
    }
}

/// `token_type_hint` of revocation and introspection (RFC 7009 §2.1). Any
/// other value is accepted and ignored, as RFC 7009 allows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum TokenTypeHint {
    /// An access token.
    AccessToken,
    /// A refresh token.
    RefreshToken,
}

impl TokenTypeHint {
    /// The hint a parameter names; `None` for an absent or unknown hint.
    pub fn from_param(s: Option<&str>) -> Option<Self> {
        match s {
            Some("access_token") => Some(TokenTypeHint::AccessToken),
            Some("refresh_token") => Some(TokenTypeHint::RefreshToken),
            _ => None,
        }
    }
}

/// `POST /oauth2/token` parameters, one shape per `grant_type`. Clients
/// authenticate with HTTP Basic or with `client_id` and `client_secret`
/// here, not both; a public client may send `client_id` alone.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(tag = "grant_type", rename_all = "snake_case")]
pub enum TokenRequest {
    /// The resource-owner password grant.
    Password {
        /// The user's email.
        #[schema(min_length = 1, max_length = 254)]
        username: String,
        /// The user's password.
        #[schema(min_length = 1, max_length = 1024, format = Password)]
        password: String,
        /// Client id (`client_secret_post`, or a public client identifying itself).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        #[schema(nullable = false)]
        client_id: Option<String>,
        /// Client secret (`client_secret_post`; needs `client_id`).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        #[schema(nullable = false, min_length = 1, format = Password)]
        client_secret: Option<String>,
    },
    /// The refresh-token grant.
    RefreshToken {
        /// The refresh token (absent with `cookie=true`: the refresh
        /// cookie's is used).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        #[schema(
            nullable = false,
            pattern = "^tsr_[A-Za-z0-9_-]{21}[A-HQ-Xg-nw-z0-3][A-Za-z0-9_-]{52}[AEIMQUYcgkosw048]$",
            min_length = 79,
            max_length = 79
        )]
        refresh_token: Option<String>,
        /// Cookie mode for a first-party public client (the admin console):
        /// the new refresh token goes into the HttpOnly refresh cookie, not
        /// the body. Needs `X-Tessera-CSRF`.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        #[schema(nullable = false)]
        cookie: Option<bool>,
        /// Client id (`client_secret_post`, or a public client identifying itself).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        #[schema(nullable = false)]
        client_id: Option<String>,
        /// Client secret (`client_secret_post`; needs `client_id`).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        #[schema(nullable = false, min_length = 1, format = Password)]
        client_secret: Option<String>,
    },
    /// The client-credentials grant (client authentication required).
    ClientCredentials {
        /// Requested scope: space-separated tokens the client may request
        /// (default: all of them).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        #[schema(nullable = false)]
        scope: Option<String>,
        /// Client id (`client_secret_post`).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        #[schema(nullable = false)]
        client_id: Option<String>,
        /// Client secret (`client_secret_post`; needs `client_id`).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        #[schema(nullable = false, min_length = 1, format = Password)]
        client_secret: Option<String>,
    },
    /// The authorization code grant (OpenID Connect; RFC 7636 PKCE).
    AuthorizationCode {
        /// The code from the authorization response.
        #[schema(min_length = 43, max_length = 43)]
        code: String,
        /// The `redirect_uri` of the authorization request (required when
        /// it was sent there).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        #[schema(nullable = false)]
        redirect_uri: Option<String>,
        /// The PKCE verifier (required when a `code_challenge` was sent).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        #[schema(
            nullable = false,
            min_length = 43,
            max_length = 128,
            pattern = "^[A-Za-z0-9._~-]+$"
        )]
        code_verifier: Option<String>,
        /// Cookie mode for a first-party public client (the admin console):
        /// the refresh token goes into the HttpOnly refresh cookie, not the
        /// body. Needs `X-Tessera-CSRF`.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        #[schema(nullable = false)]
        cookie: Option<bool>,
        /// Client id (`client_secret_post`, or a public client identifying itself).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        #[schema(nullable = false)]
        client_id: Option<String>,
        /// Client secret (`client_secret_post`; needs `client_id`).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        #[schema(nullable = false, min_length = 1, format = Password)]
        client_secret: Option<String>,
    },
    /// The second step of a `password` grant answered `mfa_required`
    /// (`grant_type=urn:tessera:params:oauth:grant-type:mfa`), by the same
    /// client: the `mfa_token` and one factor.
    #[serde(rename = "urn:tessera:params:oauth:grant-type:mfa")]
    Mfa {
        /// The `mfa_token` of the `mfa_required` answer.
        #[schema(min_length = 43, max_length = 43)]
        mfa_token: String,
        /// A current TOTP code (or send `recovery_code`).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        #[schema(
            nullable = false,
            min_length = 6,
            max_length = 6,
            pattern = "^[0-9]{6}$"
        )]
        otp: Option<String>,
        /// An unused recovery code (or send `otp`).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        #[schema(nullable = false, min_length = 1, max_length = 64)]
        recovery_code: Option<String>,
        /// Client id (`client_secret_post`, or a public client identifying itself).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        #[schema(nullable = false)]
        client_id: Option<String>,
        /// Client secret (`client_secret_post`; needs `client_id`).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        #[schema(nullable = false, min_length = 1, format = Password)]
        client_secret: Option<String>,
    },
}

/// `POST /oauth2/token` answer (`Cache-Control: no-store`).
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct OAuthTokenResponse {
    /// The signed JWT access token.
    pub access_token: String,
    /// Always `Bearer`.
    pub token_type: crate::TokenType,
    /// Seconds until the access token expires.
    pub expires_in: i64,
    /// The refresh token (`password` and `refresh_token` grants).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub refresh_token: Option<String>,
    /// Seconds until the refresh token expires (`password` and `refresh_token` grants).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub refresh_token_expires_in: Option<i64>,
    /// Granted scope (`client_credentials` and `authorization_code`, when not empty).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub scope: Option<String>,
    /// The ID token (`authorization_code` with the `openid` scope).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub id_token: Option<String>,
}

impl From<crate::TokenResponse> for OAuthTokenResponse {
    fn from(t: crate::TokenResponse) -> Self {
        OAuthTokenResponse {
            access_token: t.access_token,
            token_type: t.token_type,
            expires_in: t.expires_in,
            refresh_token: t.refresh_token,
            refresh_token_expires_in: Some(t.refresh_token_expires_in),
            scope: None,
            id_token: None,
        }
    }
}

/// `POST /oauth2/revoke` and `POST /oauth2/introspect` parameters.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenParams {
    /// The token.
    pub token: String,
    /// `access_token` or `refresh_token`; other values are ignored.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_type_hint: Option<String>,
    /// Client id (`client_secret_post`, or a public client identifying itself).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_id: Option<String>,
    /// Client secret (`client_secret_post`; needs `client_id`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_secret: Option<String>,
}

impl PartialSchema for TokenParams {
    fn schema() -> RefOr<Schema> {
        let text = |description: &str| {
            ObjectBuilder::new()
                .schema_type(Type::String)
                .description(Some(description))
        };
        ObjectBuilder::new()
            .description(Some(
                "`POST /oauth2/revoke` and `POST /oauth2/introspect` parameters. Clients \
                 authenticate with HTTP Basic or with `client_id` and `client_secret` here, \
                 not both.",
            ))
            .property(
                "token",
                text(
                    "The token. One longer than 8 KiB is never valid (it is ignored, or \
                     introspected as inactive).",
                )
                .min_length(Some(1)),
            )
            .required("token")
            .property(
                "token_type_hint",
                text(
                    "`access_token` or `refresh_token`; other values are ignored (RFC 7009 §2.1).",
                )
                .examples(["access_token", "refresh_token"]),
            )
            .property(
                "client_id",
                text("Client id (`client_secret_post`, or a public client identifying itself)."),
            )
            .property(
                "client_secret",
                text("Client secret (`client_secret_post`); needs `client_id`.")
                    .min_length(Some(1))
                    .format(Some(utoipa::openapi::SchemaFormat::KnownFormat(
                        utoipa::openapi::KnownFormat::Password,
                    ))),
            )
            // Other parameters are ignored, but each once (RFC 6749 §3.2): a
            // string, never a list.
            .additional_properties(Some(ObjectBuilder::new().schema_type(Type::String)))
            .examples([serde_json::json!({
                "token": "eyJhbGciOiJFUzI1NiIsInR5cCI6ImF0K2p3dCJ9.e30.c2ln",
                "token_type_hint": "access_token",
            })])
            .extensions(Some(Extensions::from_iter([(
                "dependentRequired",
                serde_json::json!({ "client_secret": ["client_id"] }),
            )])))
            .into()
    }
}

impl ToSchema for TokenParams {}

/// What an introspected token is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub enum IntrospectionTokenType {
    /// An access token.
    Bearer,
    /// A DPoP-bound access token (RFC 9449 §6.2).
    #[serde(rename = "DPoP")]
    DPoP,
    /// A refresh token.
    #[serde(rename = "refresh_token")]
    RefreshToken,
}

/// RFC 7662 introspection answer: `{"active": false}` for any token that is
/// not live, else the token's claims (`Cache-Control: no-store`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct IntrospectionResponse {
    /// Whether the token is live.
    pub active: bool,
    /// `Bearer` for access tokens, `refresh_token` for refresh tokens.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub token_type: Option<IntrospectionTokenType>,
    /// Issuer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub iss: Option<String>,
    /// User id (or client id for client-credential tokens).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub sub: Option<String>,
    /// Audience (access tokens).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub aud: Option<String>,
    /// Expiry (Unix seconds).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub exp: Option<i64>,
    /// Issued at (Unix seconds; for a refresh token, its last rotation).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub iat: Option<i64>,
    /// Token id (access tokens).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub jti: Option<String>,
    /// Session id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub sid: Option<String>,
    /// Roles.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub roles: Option<Vec<String>>,
    /// Scope (client-credential tokens).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub scope: Option<String>,
    /// OAuth client (client-credential tokens).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub client_id: Option<String>,
    /// The user id, for user access tokens.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub username: Option<String>,
    /// The DPoP key a bound access token is bound to (RFC 9449 §6.2).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub cnf: Option<crate::Confirmation>,
}

impl IntrospectionResponse {
    /// The answer for a live access token: its claims, `token_type`
    /// `Bearer`, and `username` (the user id) for a user's token.
    pub fn for_access(claims: crate::AccessClaims) -> Self {
        let username = claims.sid.as_ref().map(|_| claims.sub.clone());
        let token_type = match claims.cnf {
            Some(_) => IntrospectionTokenType::DPoP,
            None => IntrospectionTokenType::Bearer,
        };
        IntrospectionResponse {
            active: true,
            token_type: Some(token_type),
            iss: Some(claims.iss),
            sub: Some(claims.sub),
            aud: Some(claims.aud),
            exp: Some(claims.exp),
            iat: Some(claims.iat),
            jti: Some(claims.jti),
            sid: claims.sid,
            roles: Some(claims.roles),
            scope: claims.scope,
            client_id: claims.client_id,
            username,
            cnf: claims.cnf,
        }
    }

    /// The answer for a token that is not live.
    pub fn inactive() -> Self {
        IntrospectionResponse {
            active: false,
            token_type: None,
            iss: None,
            sub: None,
            aud: None,
            exp: None,
            iat: None,
            jti: None,
            sid: None,
            roles: None,
            scope: None,
            client_id: None,
            username: None,
            cnf: None,
        }
    }
}

/// Shown in place of a secret or token in `Debug` output.
const REDACTED: &str = "<redacted>";

impl std::fmt::Debug for TokenRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Only the grant and the client id: passwords, refresh tokens and
        // client secrets never reach a log through `{:?}`.
        let (grant, client_id) = match self {
            TokenRequest::Password { client_id, .. } => ("password", client_id),
            TokenRequest::RefreshToken { client_id, .. } => ("refresh_token", client_id),
            TokenRequest::ClientCredentials { client_id, .. } => ("client_credentials", client_id),
            TokenRequest::AuthorizationCode { client_id, .. } => ("authorization_code", client_id),
            TokenRequest::Mfa { client_id, .. } => ("mfa", client_id),
        };
        f.debug_struct("TokenRequest")
            .field("grant_type", &grant)
            .field("client_id", client_id)
            .finish_non_exhaustive()
    }
}

impl std::fmt::Debug for OAuthTokenResponse {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OAuthTokenResponse")
            .field("access_token", &REDACTED)
            .field("token_type", &self.token_type)
            .field("expires_in", &self.expires_in)
            .field(
                "refresh_token",
                &self.refresh_token.as_ref().map(|_| REDACTED),
            )
            .field("refresh_token_expires_in", &self.refresh_token_expires_in)
            .field("scope", &self.scope)
            .field("id_token", &self.id_token.as_ref().map(|_| REDACTED))
            .finish()
    }
}

impl std::fmt::Debug for TokenParams {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenParams")
            .field("token", &REDACTED)
            .field("token_type_hint", &self.token_type_hint)
            .field("client_id", &self.client_id)
            .field(
                "client_secret",
                &self.client_secret.as_ref().map(|_| REDACTED),
            )
            .finish()
    }
}

#[cfg(test)]
mod debug_tests {
    use super::*;

    #[test]
    fn debug_never_shows_a_secret_or_a_token() {
        let shown = format!(
            "{:?} {:?} {:?}",
            TokenRequest::Password {
                username: "ada@example.com".into(),
                password: "hunter2-secret".into(),
                client_id: Some("app".into()),
                client_secret: Some("client-secret-value".into()),
            },
            OAuthTokenResponse {
                access_token: "eyJsecret-access".into(),
                token_type: crate::TokenType::Bearer,
                expires_in: 900,
                refresh_token: Some("tsr_secret-refresh".into()),
                refresh_token_expires_in: Some(60),
                scope: None,
                id_token: None,
            },
            TokenParams {
                token: "tsr_secret-refresh".into(),
                token_type_hint: None,
                client_id: Some("app".into()),
                client_secret: Some("client-secret-value".into()),
            },
        );
        assert!(
            shown.contains("password") && shown.contains("app"),
            "{shown}"
        );
        for secret in [
            "hunter2-secret",
            "client-secret-value",
            "eyJsecret-access",
            "tsr_secret-refresh",
        ] {
            assert!(!shown.contains(secret), "{secret} in {shown}");
        }
    }
}
