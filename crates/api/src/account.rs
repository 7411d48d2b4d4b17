//! The account lifecycle (issue 15): password change and reset, email
//! verification and change, account deletion.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// The shape of an emailed link's single-use token: 32 random bytes in
/// base64url, 43 characters.
pub const LINK_TOKEN_PATTERN: &str = "^[A-Za-z0-9_-]{43}$";

/// `POST /v1/account/password`: a new password, proving the current one.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ChangePasswordRequest {
    /// The current password (a wrong one is throttled like a failed login).
    #[schema(min_length = 1, max_length = 1024, format = Password)]
    pub current_password: String,
    /// The new password: the registration policy (8 to 1024 characters,
    /// not a common breached password).
    #[schema(min_length = 8, max_length = 1024, format = Password)]
    pub new_password: String,
}

/// `POST /v1/auth/password/forgot`.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"email": "alice@example.com"}))]
pub struct ForgotPasswordRequest {
    /// The account's email address.
    #[schema(format = Email, min_length = 3, max_length = 254)]
    pub email: String,
}

/// `POST /v1/auth/password/reset`: a new password with a reset link's token.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ResetPasswordRequest {
    /// The `token` of the reset link (single use).
    #[schema(pattern = "^[A-Za-z0-9_-]{43}$", min_length = 43, max_length = 43)]
    pub token: String,
    /// The new password (the registration policy).
    #[schema(min_length = 8, max_length = 1024, format = Password)]
    pub new_password: String,
}

/// `POST /v1/auth/email/verify`: a verification or email-change link's token.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct VerifyEmailRequest {
    /// The `token` of the link (single use).
    #[schema(pattern = "^[A-Za-z0-9_-]{43}$", min_length = 43, max_length = 43)]
    pub token: String,
}

/// `POST /v1/account/email`: move the account to a new address.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ChangeEmailRequest {
    /// The new address; the change happens when its confirmation link is used.
    #[schema(format = Email, min_length = 3, max_length = 254)]
    pub new_email: String,
    /// The current password.
    #[schema(min_length = 1, max_length = 1024, format = Password)]
    pub current_password: String,
}

/// `DELETE /v1/account`: delete the caller's account.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DeleteAccountRequest {
    /// The current password.
    #[schema(min_length = 1, max_length = 1024, format = Password)]
    pub current_password: String,
}
