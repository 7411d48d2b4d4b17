//! What a verified access token says: its claims ([`AccessClaims`]) and the
//! caller they name ([`Principal`]). A leaf module.

use serde::{Deserialize, Serialize};

/// The claims of a Tessera access token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccessClaims {
    /// Issuer.
    pub iss: String,
    /// Subject: the user id (or the client id for client credentials).
    pub sub: String,
    /// Audience.
    pub aud: String,
    /// Expiry.
    pub exp: i64,
    /// Issued at.
    pub iat: i64,
    /// Token id.
    pub jti: String,
    /// Session id (absent for client-credential tokens).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sid: Option<String>,
    /// Roles at issue time.
    #[serde(default)]
    pub roles: Vec<String>,
    /// OAuth scope, where one applies.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
    /// OAuth client, where one applies.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_id: Option<String>,
}

/// A verified caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    /// The access token's claims.
    pub claims: AccessClaims,
}

impl Principal {
    /// The user id.
    pub fn user_id(&self) -> &str {
        &self.claims.sub
    }
    /// The session id, if the token has one.
    pub fn session_id(&self) -> Option<&str> {
        self.claims.sid.as_deref()
    }
    /// True if the token carries this role.
    pub fn has_role(&self, role: &str) -> bool {
        self.claims.roles.iter().any(|r| r == role)
    }
}
