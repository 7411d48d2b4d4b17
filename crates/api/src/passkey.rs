//! Passkeys (WebAuthn, issue 17): ceremony options, registration, the list
//! of a user's passkeys, and passwordless sign-in. Credentials travel as the
//! WebAuthn JSON of a `PublicKeyCredential` (binary members in base64url).

use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;

/// The shape of a ceremony id: 32 random bytes in base64url.
pub const CEREMONY_PATTERN: &str = "^[A-Za-z0-9_-]{43}$";

/// The options of a WebAuthn ceremony.
#[derive(Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct PasskeyOptions {
    /// The ceremony's id: send it back with the credential. Single use,
    /// valid five minutes.
    #[schema(pattern = "^[A-Za-z0-9_-]{43}$")]
    pub ceremony: String,
    /// `PublicKeyCredentialCreationOptions` (registration) or
    /// `PublicKeyCredentialRequestOptions` (sign-in), binary members
    /// (`challenge`, `user.id`, credential ids) in base64url: decode them and
    /// pass the object to `navigator.credentials.create`/`get` as `publicKey`.
    #[serde(rename = "publicKey")]
    #[schema(value_type = Object)]
    pub public_key: Value,
}

/// `POST /v1/account/passkeys`: the authenticator's answer to registration
/// options.
#[derive(Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PasskeyRegistration {
    /// The `ceremony` of the options.
    #[schema(pattern = "^[A-Za-z0-9_-]{43}$", min_length = 43, max_length = 43)]
    pub ceremony: String,
    /// The new `PublicKeyCredential` as JSON (`id`, `rawId`, `type`,
    /// `response.attestationObject`, `response.clientDataJSON`, and
    /// optionally `response.transports` and `clientExtensionResults`),
    /// binary members in base64url.
    #[schema(value_type = Object)]
    pub credential: Value,
    /// A name for it (at most 64 characters; default `Passkey`).
    #[serde(default)]
    #[schema(max_length = 64)]
    pub name: Option<String>,
}

/// One of the caller's passkeys.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct PasskeyView {
    /// Its id (for `DELETE /v1/account/passkeys/{id}`).
    pub id: String,
    /// Its name.
    pub name: String,
    /// Unix seconds.
    pub created_at: i64,
    /// Unix seconds of its last sign-in, if any.
    #[schema(nullable = true)]
    pub last_used_at: Option<i64>,
    /// It may be synced between devices (backup eligible).
    pub synced: bool,
}

/// `GET /v1/account/passkeys`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct PasskeyList {
    /// Oldest first.
    pub passkeys: Vec<PasskeyView>,
}

/// `POST /v1/auth/passkey`: a passwordless sign-in's assertion.
#[derive(Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PasskeySignInRequest {
    /// The `ceremony` of the options.
    #[schema(pattern = "^[A-Za-z0-9_-]{43}$", min_length = 43, max_length = 43)]
    pub ceremony: String,
    /// The `PublicKeyCredential` of `navigator.credentials.get` as JSON
    /// (`id`, `rawId`, `type`, `response.authenticatorData`,
    /// `response.clientDataJSON`, `response.signature`,
    /// `response.userHandle`), binary members in base64url.
    #[schema(value_type = Object)]
    pub credential: Value,
    /// Cookie mode: the refresh token goes into an HttpOnly cookie.
    #[serde(default)]
    pub cookie: bool,
}

/// `POST /v1/auth/mfa/passkey/options`: passkey options for a login's
/// second step.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MfaPasskeyOptionsRequest {
    /// From the `mfa_required` answer.
    #[schema(max_length = 64)]
    pub mfa_token: String,
    /// The login's cookie mode (as it will be sent to `POST /v1/auth/mfa`).
    #[serde(default)]
    pub cookie: bool,
}

/// Request options limited to the passkeys of the `mfa_token`'s user. The
/// ceremony is kept under the `mfa_token`: answer with
/// `POST /v1/auth/mfa {mfa_token, passkey}`.
#[derive(Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct MfaPasskeyOptions {
    /// `PublicKeyCredentialRequestOptions`, binary members in base64url.
    #[serde(rename = "publicKey")]
    #[schema(value_type = Object)]
    pub public_key: Value,
}
