//! Multi-factor authentication: `/v1/auth/mfa*` (the second step of a
//! login) and `/v1/account/mfa*` (a user's factors).

use crate::TokenResponse;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// 403 from `POST /v1/auth/login` or the password grant: the password was
/// right, but a second factor must follow (`mfa_required`) or, where MFA is
/// required, be enrolled first (`mfa_enrollment_required`). No tokens.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct MfaRequiredBody {
    /// `mfa_required` or `mfa_enrollment_required`.
    pub error: String,
    /// Human-readable description.
    pub error_description: String,
    /// Continues this login (single use, bound to the login's OAuth client,
    /// DPoP key and cookie mode).
    #[schema(min_length = 43, max_length = 43)]
    pub mfa_token: String,
    /// What the second step may use: `totp`, `passkey`, `recovery_code`; with `mfa_enrollment_required`, what may be
    /// enrolled.
    pub methods: Vec<String>,
    /// Seconds the `mfa_token` works.
    pub expires_in: i64,
}

/// `POST /v1/auth/mfa`: the second step of a login. Exactly one of `totp`,
/// `recovery_code` (or `passkey`).
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MfaLoginRequest {
    /// From the `mfa_required` answer.
    #[schema(max_length = 64)]
    pub mfa_token: String,
    /// A current TOTP code (six digits).
    #[serde(default)]
    #[schema(nullable = false, max_length = 16)]
    pub totp: Option<String>,
    /// An unused recovery code.
    #[serde(default)]
    #[schema(nullable = false, max_length = 64)]
    pub recovery_code: Option<String>,
    /// A WebAuthn assertion (JSON) answering `/v1/auth/mfa/passkey/options`.
    #[serde(default)]
    #[schema(value_type = Option<Object>, nullable = false)]
    pub passkey: Option<serde_json::Value>,
    /// Cookie mode, as the login was.
    #[serde(default)]
    pub cookie: bool,
}

/// Requests that need a recent authentication: `current_password`, unless
/// the access token's `auth_time` is within ten minutes (`mfa_recent_auth`).
#[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RecentAuthRequest {
    /// The account's password (absent or null: none).
    #[serde(default)]
    #[schema(max_length = 1024, format = Password)]
    pub current_password: Option<String>,
}

/// A new TOTP secret, shown once (`Cache-Control: no-store`).
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct TotpEnrollmentBody {
    /// The secret, base32 (to type into an authenticator app).
    pub secret: String,
    /// The `otpauth://totp/…` URI (SHA1, 6 digits, 30 s).
    pub otpauth_uri: String,
    /// The URI as a QR code: an SVG document.
    pub qr_svg: String,
}

/// `POST /v1/account/mfa/totp/confirm`.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TotpCodeRequest {
    /// A current code from the new secret.
    #[schema(max_length = 16)]
    pub code: String,
}

/// `DELETE /v1/account/mfa/totp`: a current code, or `current_password`.
#[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TotpRemoveRequest {
    /// A current TOTP code (absent or null: none).
    #[serde(default)]
    #[schema(max_length = 16)]
    pub code: Option<String>,
    /// The account's password (absent or null: none).
    #[serde(default)]
    #[schema(max_length = 1024, format = Password)]
    pub current_password: Option<String>,
}

/// Recovery codes, shown once: each works once, in place of a TOTP code.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct RecoveryCodesBody {
    /// Ten codes (`xxxxx-xxxxx`).
    pub recovery_codes: Vec<String>,
}

/// `GET /v1/account/mfa`: the caller's second factors.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct MfaStateBody {
    /// A TOTP factor is enrolled (and confirmed).
    pub totp: bool,
    /// Unused recovery codes.
    pub recovery_codes_left: usize,
    /// Registered passkeys (each one is a second factor).
    #[serde(default)]
    pub passkeys: usize,
    /// What a login's second step may use (`totp`, `passkey`, `recovery_code`).
    pub methods: Vec<String>,
}

/// `POST /v1/auth/mfa/totp`: enrol TOTP with an enrolment `mfa_token`.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MfaEnrollRequest {
    /// From the `mfa_enrollment_required` answer.
    #[schema(max_length = 64)]
    pub mfa_token: String,
    /// Cookie mode, as the login was.
    #[serde(default)]
    pub cookie: bool,
}

/// `POST /v1/auth/mfa/totp/confirm`.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MfaEnrollConfirmRequest {
    /// From the `mfa_enrollment_required` answer.
    #[schema(max_length = 64)]
    pub mfa_token: String,
    /// A current code from the new secret.
    #[schema(max_length = 16)]
    pub code: String,
    /// Cookie mode, as the login was.
    #[serde(default)]
    pub cookie: bool,
}

/// The login's token pair and the new recovery codes (shown once).
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct EnrolledTokenResponse {
    /// The token pair, as a login answers it.
    #[serde(flatten)]
    pub tokens: TokenResponse,
    /// Ten recovery codes.
    pub recovery_codes: Vec<String>,
}
