//! `/v1/auth/*`, `/v1/me` and `/v1/sessions`: accounts, tokens and sessions.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// Fewest characters (Unicode scalar values) a new password may have.
pub const PASSWORD_MIN_CHARS: usize = 8;
/// Most characters a password may have.
pub const PASSWORD_MAX_CHARS: usize = 1024;

/// The shape of a Tessera refresh token: `tsr_` and 56 bytes in canonical
/// base64url (75 characters; the last one carries two zero bits, and the
/// 22nd a zero sign bit of the big-endian rotation counter, which is never
/// negative).
pub const REFRESH_TOKEN_PATTERN: &str =
    "^tsr_[A-Za-z0-9_-]{21}[A-HQ-Xg-nw-z0-3][A-Za-z0-9_-]{52}[AEIMQUYcgkosw048]$";

/// `POST /v1/auth/register`: a new account.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"email": "alice@example.com", "password": "correct horse battery staple"}))]
pub struct Credentials {
    /// Email address: trimmed and lower-cased; unique; at most 254 bytes.
    #[schema(format = Email, min_length = 3, max_length = 254)]
    pub email: String,
    /// Password: 8 to 1024 characters, no composition rules, and not one of
    /// the common breached passwords Tessera ships (compared
    /// case-insensitively; such a password answers 400).
    #[schema(min_length = 8, max_length = 1024, format = Password)]
    pub password: String,
}

/// `POST /v1/auth/login`.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LoginRequest {
    /// Email address.
    #[schema(example = "alice@example.com", max_length = 254)]
    pub email: String,
    /// Password.
    #[schema(max_length = 1024, format = Password)]
    pub password: String,
    /// Cookie mode: the refresh token goes into an HttpOnly cookie, not the JSON.
    #[serde(default)]
    pub cookie: bool,
}

/// `POST /v1/auth/refresh` and `POST /v1/auth/logout` in bearer mode.
///
/// In cookie mode the request has no body (or `{}`): the refresh cookie and
/// the `X-Tessera-CSRF` header carry it instead.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RefreshRequest {
    /// The refresh token (`tsr_…`, 79 characters).
    #[schema(value_type = String, required = true, pattern = "^tsr_[A-Za-z0-9_-]{21}[A-HQ-Xg-nw-z0-3][A-Za-z0-9_-]{52}[AEIMQUYcgkosw048]$",
        min_length = 79, max_length = 79)]
    pub refresh_token: Option<String>,
}

/// The only token type Tessera issues.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub enum TokenType {
    /// RFC 6750 bearer token.
    Bearer,
    /// RFC 9449 DPoP-bound token: send it as `Authorization: DPoP` with a proof.
    #[serde(rename = "DPoP")]
    DPoP,
}

/// A token answer from login or refresh (`Cache-Control: no-store`).
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct TokenResponse {
    /// The signed JWT access token.
    pub access_token: String,
    /// Always `Bearer`.
    pub token_type: TokenType,
    /// Seconds until the access token expires.
    pub expires_in: i64,
    /// The refresh token. Absent in cookie mode, where it is only in `Set-Cookie`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub refresh_token: Option<String>,
    /// Seconds until the refresh token expires (absolute or idle, whichever is first).
    pub refresh_token_expires_in: i64,
}

/// A user.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct UserView {
    /// User id.
    pub id: String,
    /// Normalised email.
    pub email: String,
    /// Roles.
    pub roles: Vec<String>,
    /// Unix seconds.
    pub created_at: i64,
    /// Whether the user has verified the email (used the emailed link).
    pub email_verified: bool,
    /// Whether an operator has disabled the account.
    pub disabled: bool,
    /// Unix seconds: when the user last started a session (a login of any
    /// kind, or an OpenID Connect code exchange); null: never.
    #[serde(default)]
    #[schema(required = true)]
    pub last_login_at: Option<i64>,
}

/// `GET /v1/me`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct MeResponse {
    /// User id.
    pub id: String,
    /// Normalised email.
    pub email: String,
    /// Roles.
    pub roles: Vec<String>,
    /// Whether the user has verified the email (used the emailed link).
    pub email_verified: bool,
    /// The session of the access token.
    #[schema(required = true)]
    pub sid: Option<String>,
}

/// One session.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct SessionView {
    /// Session id.
    pub id: String,
    /// Unix seconds.
    pub created_at: i64,
    /// Unix seconds.
    pub last_used_at: i64,
    /// Unix seconds: the earlier of the absolute and idle expiry.
    pub expires_at: i64,
    /// User agent at login.
    #[schema(required = true)]
    pub user_agent: Option<String>,
    /// Client IP at login.
    #[schema(required = true)]
    pub ip: Option<String>,
    /// True for the session of the calling access token.
    pub current: bool,
}

/// `GET /v1/sessions`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct SessionList {
    /// The caller's live sessions.
    pub sessions: Vec<SessionView>,
}

/// Shown in place of a password or token in `Debug` output.
const REDACTED: &str = "<redacted>";

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credentials")
            .field("email", &self.email)
            .field("password", &REDACTED)
            .finish()
    }
}

impl std::fmt::Debug for LoginRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LoginRequest")
            .field("email", &self.email)
            .field("password", &REDACTED)
            .field("cookie", &self.cookie)
            .finish()
    }
}

impl std::fmt::Debug for RefreshRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RefreshRequest")
            .field(
                "refresh_token",
                &self.refresh_token.as_ref().map(|_| REDACTED),
            )
            .finish()
    }
}

impl std::fmt::Debug for TokenResponse {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenResponse")
            .field("access_token", &REDACTED)
            .field("token_type", &self.token_type)
            .field("expires_in", &self.expires_in)
            .field(
                "refresh_token",
                &self.refresh_token.as_ref().map(|_| REDACTED),
            )
            .field("refresh_token_expires_in", &self.refresh_token_expires_in)
            .finish()
    }
}

#[cfg(test)]
mod debug_tests {
    use super::*;

    #[test]
    fn debug_never_shows_a_password_or_a_token() {
        let shown = format!(
            "{:?} {:?} {:?} {:?}",
            Credentials {
                email: "ada@example.com".into(),
                password: "hunter2-secret".into(),
            },
            LoginRequest {
                email: "ada@example.com".into(),
                password: "hunter2-secret".into(),
                cookie: false,
            },
            RefreshRequest {
                refresh_token: Some("tsr_secret-refresh".into()),
            },
            TokenResponse {
                access_token: "eyJsecret-access".into(),
                token_type: TokenType::Bearer,
                expires_in: 900,
                refresh_token: Some("tsr_secret-refresh".into()),
                refresh_token_expires_in: 60,
            },
        );
        assert!(shown.contains("ada@example.com"), "{shown}");
        for secret in ["hunter2-secret", "tsr_secret-refresh", "eyJsecret-access"] {
            assert!(!shown.contains(secret), "{secret} in {shown}");
        }
    }
}
