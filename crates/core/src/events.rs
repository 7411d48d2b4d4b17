//! What the audit log records about an event: its kind ([`AuditEvent`],
//! whose stored names never change) and where the request came from
//! ([`ClientInfo`]). A leaf module: every service uses it, it uses none.

use std::fmt;

/// Where a request came from (for sessions and the audit log).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ClientInfo {
    /// Client IP address.
    pub ip: Option<String>,
    /// `User-Agent` header.
    pub user_agent: Option<String>,
}

/// The security events Tessera records. Their names (as stored) never
/// change: operators search and alert on them.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AuditEvent {
    /// `user.registered`: self-registration.
    UserRegistered,
    /// `login.success`.
    LoginSuccess,
    /// `login.failure`: wrong password or unknown email.
    LoginFailure,
    /// `password.rehashed`: a stored hash was upgraded at login.
    PasswordRehashed,
    /// `refresh.rotated`: a refresh token was traded for its successor.
    RefreshRotated,
    /// `refresh.grace_replay`: the parent was replayed inside the grace window.
    RefreshGraceReplay,
    /// `refresh.reuse_detected`: a spent token was replayed; the session is revoked.
    RefreshReuseDetected,
    /// `logout`: one session ended by its refresh token.
    Logout,
    /// `logout.all`: every session of the caller ended.
    LogoutAll,
    /// `session.revoked`: a user ended one of their sessions.
    SessionRevoked,
    /// `sessions.revoked`: an operator ended every session of a user.
    SessionsRevoked,
    /// `roles.changed`: an operator replaced a user's roles.
    RolesChanged,
    /// `key.rotated`: a new signing key.
    KeyRotated,
    /// `token.revoked`: an OAuth revocation (RFC 7009).
    TokenRevoked,
    /// `account.unlocked`: an operator cleared an account's login backoff.
    AccountUnlocked,
}

impl AuditEvent {
    /// Every event, for documentation and tests.
    pub const ALL: [AuditEvent; 15] = [
        AuditEvent::UserRegistered,
        AuditEvent::LoginSuccess,
        AuditEvent::LoginFailure,
        AuditEvent::PasswordRehashed,
        AuditEvent::RefreshRotated,
        AuditEvent::RefreshGraceReplay,
        AuditEvent::RefreshReuseDetected,
        AuditEvent::Logout,
        AuditEvent::LogoutAll,
        AuditEvent::SessionRevoked,
        AuditEvent::SessionsRevoked,
        AuditEvent::RolesChanged,
        AuditEvent::KeyRotated,
        AuditEvent::TokenRevoked,
        AuditEvent::AccountUnlocked,
    ];

    /// The stored name, e.g. `refresh.rotated`.
    pub const fn as_str(self) -> &'static str {
        match self {
            AuditEvent::UserRegistered => "user.registered",
            AuditEvent::LoginSuccess => "login.success",
            AuditEvent::LoginFailure => "login.failure",
            AuditEvent::PasswordRehashed => "password.rehashed",
            AuditEvent::RefreshRotated => "refresh.rotated",
            AuditEvent::RefreshGraceReplay => "refresh.grace_replay",
            AuditEvent::RefreshReuseDetected => "refresh.reuse_detected",
            AuditEvent::Logout => "logout",
            AuditEvent::LogoutAll => "logout.all",
            AuditEvent::SessionRevoked => "session.revoked",
            AuditEvent::SessionsRevoked => "sessions.revoked",
            AuditEvent::RolesChanged => "roles.changed",
            AuditEvent::KeyRotated => "key.rotated",
            AuditEvent::TokenRevoked => "token.revoked",
            AuditEvent::AccountUnlocked => "account.unlocked",
        }
    }

    /// The event with this stored name, if there is one.
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|e| e.as_str() == name)
    }
}

impl fmt::Display for AuditEvent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_are_unique() {
        let mut names: Vec<&str> = AuditEvent::ALL.iter().map(|e| e.as_str()).collect();
        for e in AuditEvent::ALL {
            assert_eq!(AuditEvent::from_name(e.as_str()), Some(e));
        }
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), AuditEvent::ALL.len());
        assert_eq!(AuditEvent::RefreshRotated.to_string(), "refresh.rotated");
    }
}
