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
    /// The OAuth client that authenticated on this request (`/oauth2/*`
    /// with client credentials); `None` on Tessera's own API. A session
    /// started by a client is bound to it (see `Session::client_id`).
    pub oauth_client: Option<String>,
    /// The RFC 7638 thumbprint of the key of a DPoP proof this request
    /// carried and that passed [`crate::Dpop::check`]: the tokens issued on
    /// it are bound to that key (RFC 9449).
    pub dpop_jkt: Option<String>,
    /// Who acts, when the request is an administrative action: every
    /// audit row it writes names them.
    pub actor: Option<Actor>,
}

/// Who did an administrative action (the `actor` of its audit rows).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Actor {
    /// An admin, by user id (the admin API).
    User(String),
    /// The command line, by the operating-system user who ran it.
    Cli(String),
}

impl Actor {
    /// As the audit log stores it: the user id, or `cli:<os user>`.
    pub fn as_audit(&self) -> String {
        match self {
            Actor::User(id) => id.clone(),
            Actor::Cli(os_user) => format!("cli:{os_user}"),
        }
    }
}

impl fmt::Display for Actor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.as_audit())
    }
}

impl ClientInfo {
    /// This request's information, acting as `actor`.
    pub fn acting(mut self, actor: Actor) -> Self {
        self.actor = Some(actor);
        self
    }

    /// Who is calling, for bounding refresh-token grace replays: the OAuth
    /// client when one authenticated, else the caller's network (the IPv4
    /// address, or the IPv6 /64) and `User-Agent`. A SHA-256, never shown.
    pub(crate) fn fingerprint(&self) -> [u8; 32] {
        let text = match &self.oauth_client {
            Some(id) => format!("oauth\0{id}"),
            None => {
                let net = self.throttle_key().unwrap_or_default();
                let ua = self.user_agent.as_deref().unwrap_or_default();
                format!("net\0{net}\0{ua}")
            }
        };
        tessera_jose::crypto::sha256(text.as_bytes())
    }

    /// The key the per-IP throttles count under: an IPv4 address as it is,
    /// an IPv6 address as its /64 (one subscriber usually holds a whole /64,
    /// so counting single addresses would let one client rotate through
    /// 2^64 of them). Text that is not an address is used as it is.
    pub fn throttle_key(&self) -> Option<String> {
        let ip = self.ip.as_deref()?;
        Some(match ip.parse::<std::net::IpAddr>() {
            Ok(std::net::IpAddr::V6(v6)) => match v6.to_ipv4_mapped() {
                Some(v4) => v4.to_string(),
                None => {
                    let s = v6.segments();
                    let net = std::net::Ipv6Addr::new(s[0], s[1], s[2], s[3], 0, 0, 0, 0);
                    format!("{net}/64")
                }
            },
            _ => ip.to_owned(),
        })
    }
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
    /// `key.revoked`: an operator revoked a signing key (suspected compromise).
    KeyRevoked,
    /// `token.revoked`: an OAuth revocation (RFC 7009).
    TokenRevoked,
    /// `account.unlocked`: an operator cleared an account's login backoff.
    AccountUnlocked,
    /// `password.changed`: a user changed their password (or an operator set it).
    PasswordChanged,
    /// `password.reset_requested`: a reset link was sent to an account.
    PasswordResetRequested,
    /// `password.reset`: a password was reset with a link.
    PasswordReset,
    /// `email.verified`: a user verified their email.
    EmailVerified,
    /// `email.changed`: a user's email was changed (the addresses are not kept).
    EmailChanged,
    /// `user.disabled`: an operator disabled an account.
    UserDisabled,
    /// `user.enabled`: an operator enabled an account again.
    UserEnabled,
    /// `user.deleted`: an account and its personal data were deleted.
    UserDeleted,
    /// `user.created`: an operator created an account.
    UserCreated,
    /// `users.imported`: an operator imported a batch of accounts.
    UsersImported,
    /// `client.created`: an operator registered an OAuth client.
    ClientCreated,
    /// `client.updated`: an operator changed a client's registration.
    ClientUpdated,
    /// `client.deleted`: an operator deleted a client.
    ClientDeleted,
    /// `client.secret_rotated`: an operator gave a client a new secret.
    ClientSecretRotated,
}

impl AuditEvent {
    /// Every event, for documentation and tests.
    pub const ALL: [AuditEvent; 30] = [
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
        AuditEvent::KeyRevoked,
        AuditEvent::TokenRevoked,
        AuditEvent::AccountUnlocked,
        AuditEvent::PasswordChanged,
        AuditEvent::PasswordResetRequested,
        AuditEvent::PasswordReset,
        AuditEvent::EmailVerified,
        AuditEvent::EmailChanged,
        AuditEvent::UserDisabled,
        AuditEvent::UserEnabled,
        AuditEvent::UserDeleted,
        AuditEvent::UserCreated,
        AuditEvent::UsersImported,
        AuditEvent::ClientCreated,
        AuditEvent::ClientUpdated,
        AuditEvent::ClientDeleted,
        AuditEvent::ClientSecretRotated,
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
            AuditEvent::KeyRevoked => "key.revoked",
            AuditEvent::TokenRevoked => "token.revoked",
            AuditEvent::AccountUnlocked => "account.unlocked",
            AuditEvent::PasswordChanged => "password.changed",
            AuditEvent::PasswordResetRequested => "password.reset_requested",
            AuditEvent::PasswordReset => "password.reset",
            AuditEvent::EmailVerified => "email.verified",
            AuditEvent::EmailChanged => "email.changed",
            AuditEvent::UserDisabled => "user.disabled",
            AuditEvent::UserEnabled => "user.enabled",
            AuditEvent::UserDeleted => "user.deleted",
            AuditEvent::UserCreated => "user.created",
            AuditEvent::UsersImported => "users.imported",
            AuditEvent::ClientCreated => "client.created",
            AuditEvent::ClientUpdated => "client.updated",
            AuditEvent::ClientDeleted => "client.deleted",
            AuditEvent::ClientSecretRotated => "client.secret_rotated",
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

    #[test]
    fn actors_are_stored_as_user_ids_or_cli_users() {
        assert_eq!(Actor::User("u1".into()).as_audit(), "u1");
        assert_eq!(Actor::Cli("alice".into()).to_string(), "cli:alice");
        let info = ClientInfo::default().acting(Actor::Cli("bob".into()));
        assert_eq!(info.actor, Some(Actor::Cli("bob".into())));
    }

    #[test]
    fn ipv6_clients_are_throttled_per_64() {
        let key = |ip: &str| {
            ClientInfo {
                ip: Some(ip.into()),
                ..ClientInfo::default()
            }
            .throttle_key()
        };
        assert_eq!(key("203.0.113.9").as_deref(), Some("203.0.113.9"));
        assert_eq!(
            key("2001:db8:1:2:aaaa::1"),
            key("2001:db8:1:2:ffff:ffff:ffff:ffff")
        );
        assert_eq!(key("2001:db8:1:2::9").as_deref(), Some("2001:db8:1:2::/64"));
        assert_ne!(key("2001:db8:1:2::1"), key("2001:db8:1:3::1"));
        assert_eq!(key("::ffff:203.0.113.9").as_deref(), Some("203.0.113.9"));
        assert_eq!(ClientInfo::default().throttle_key(), None);
    }
}
