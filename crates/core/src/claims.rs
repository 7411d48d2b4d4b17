//! What a verified access token says: its claims ([`AccessClaims`]) and the
//! caller they name ([`Principal`]). A leaf module.

/// The claims of a Tessera access token: the one wire definition, shared
/// with resource servers.
pub use tessera_api::AccessClaims;

/// A verified caller: the token's claims, and the account's roles as the
/// store holds them now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    /// The access token's claims (its `roles` are those at issue time, for
    /// resource servers).
    pub claims: AccessClaims,
    /// The account's current roles, read from the store (or the liveness
    /// cache, which every role change clears) by the Bearer check. Empty for
    /// a client-credentials token.
    pub roles: Vec<String>,
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
    /// True if the account holds this role **now** (authorization on
    /// Tessera's own endpoints never trusts the token's `roles` claim: a
    /// demoted admin's unexpired token is not an admin's).
    pub fn has_role(&self, role: &str) -> bool {
        self.roles.iter().any(|r| r == role)
    }
}
