//! The claims of a Tessera access token (a JWT with `typ: at+jwt`).

use serde::{Deserialize, Deserializer, Serialize};
use utoipa::ToSchema;

/// The claims of a Tessera access token, as the server signs them and as
/// resource servers (`tessera-guard`) read them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct AccessClaims {
    /// Issuer.
    pub iss: String,
    /// Subject: the user id (or the client id for client credentials).
    pub sub: String,
    /// Audience.
    pub aud: String,
    /// Expiry (Unix seconds).
    pub exp: i64,
    /// Issued at (Unix seconds).
    pub iat: i64,
    /// Token id.
    pub jti: String,
    /// Session id (absent for client-credential tokens).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub sid: Option<String>,
    /// Roles at issue time (absent or null: none).
    #[serde(default, deserialize_with = "null_as_empty")]
    pub roles: Vec<String>,
    /// OAuth scope (space-separated), where one applies.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub scope: Option<String>,
    /// OAuth client, where one applies.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub client_id: Option<String>,
    /// Whether the user's email is verified (user tokens only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub email_verified: Option<bool>,
    /// The key the token is bound to (RFC 9449 §6.1: `cnf.jkt`, a DPoP
    /// key's RFC 7638 thumbprint); absent for a Bearer token.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub cnf: Option<Confirmation>,
    /// How the user authenticated (RFC 8176: `pwd`, `otp`, `mfa`, …; user
    /// tokens only; absent: unknown).
    #[serde(
        default,
        skip_serializing_if = "Vec::is_empty",
        deserialize_with = "null_as_empty"
    )]
    pub amr: Vec<String>,
    /// When the user authenticated (Unix seconds; user tokens only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub auth_time: Option<i64>,
}

/// A confirmation claim (RFC 7800) naming a DPoP key (RFC 9449 §6).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Confirmation {
    /// The SHA-256 JWK thumbprint (RFC 7638), base64url.
    #[schema(min_length = 43, max_length = 43)]
    pub jkt: String,
}

impl AccessClaims {
    /// The DPoP key thumbprint the token is bound to, if any.
    pub fn jkt(&self) -> Option<&str> {
        self.cnf.as_ref().map(|c| c.jkt.as_str())
    }

    /// The space-separated `scope`, split.
    pub fn scopes(&self) -> impl Iterator<Item = &str> {
        self.scope
            .as_deref()
            .unwrap_or_default()
            .split_ascii_whitespace()
    }
}

/// `null` reads as an empty list.
fn null_as_empty<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    Ok(Option::<Vec<String>>::deserialize(d)?.unwrap_or_default())
}
