//! What a verified access token says: its claims ([`AccessClaims`]) and the
//! caller they name ([`Principal`]). A leaf module.

/// The claims of a Tessera access token: the one wire definition, shared
/// with resource servers.
pub use tessera_api::AccessClaims;

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
