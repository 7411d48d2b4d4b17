//! The one error type of tessera-core.
//!
//! Failures that are not the caller's fault keep what caused them (a
//! [`StoreError`](tessera_store::StoreError), a jose error, an I/O error) as
//! their [`source`](std::error::Error::source), so a log line or an
//! operator's tool can show the whole chain.

use std::fmt;

/// A boxed cause.
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// "Come back later": seconds to wait (for `Retry-After`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryAfter(pub u64);

/// Why an operation was refused or failed.
///
/// Variants map one-to-one onto HTTP answers in the server; none of them
/// carries a password, a token or key material.
#[non_exhaustive]
#[derive(Debug)]
pub enum Error {
    /// A request field is invalid; `field` names it.
    InvalidInput {
        /// The offending field.
        field: &'static str,
        /// What is wrong with it.
        message: String,
    },
    /// A required request parameter is absent or empty.
    MissingParameter(&'static str),
    /// A configuration key is missing or invalid (at start-up).
    Config {
        /// The key.
        key: &'static str,
        /// What is wrong with it.
        message: String,
    },
    /// The email is already registered.
    EmailTaken,
    /// Self-registration is closed on this server.
    RegistrationClosed,
    /// Wrong email or password (the two are indistinguishable on purpose).
    InvalidCredentials,
    /// The right password, but the account is disabled by an operator.
    AccountDisabled,
    /// The right password, but `require_verified_email` is on and the email
    /// is not verified yet.
    EmailNotVerified,
    /// A link's single-use token is unknown, used, expired or for another
    /// purpose (400 `invalid_grant`).
    InvalidLinkToken,
    /// OAuth client authentication failed (unknown client or wrong secret).
    InvalidClient,
    /// The operation needs an authenticated OAuth client and none was given.
    ClientAuthenticationRequired,
    /// The client may not use this grant type.
    UnauthorizedClient(&'static str),
    /// The OAuth grant type is not one this server supports.
    UnsupportedGrantType,
    /// The requested scope is not allowed; the text names it.
    InvalidScope(String),
    /// A refresh token is unknown, spent, expired or revoked.
    InvalidGrant(&'static str),
    /// An access token was refused.
    InvalidToken(TokenRefused),
    /// A DPoP proof (RFC 9449) is missing where one is required, or was
    /// refused; the proof's own failure, when there is one, is the source.
    InvalidDpopProof(DpopRefused),
    /// The server requires a DPoP nonce (RFC 9449 §8): retry with this one.
    UseDpopNonce(String),
    /// Authenticated, but not allowed.
    Forbidden(&'static str),
    /// No such resource.
    NotFound(&'static str),
    /// Too many attempts (login backoff or a rate limit); retry later.
    TooManyRequests(RetryAfter),
    /// The right password, but a second factor must follow (403
    /// `mfa_required`) or, under `require_mfa`, be enrolled first (403
    /// `mfa_enrollment_required`): no tokens; the challenge's `mfa_token`
    /// continues the login (see [`crate::Mfa`]).
    MfaRequired(crate::mfa::MfaChallenge),
    /// An `mfa_token` is unknown, spent, expired, or for another step; the
    /// text says which (401 `invalid_mfa_token`).
    InvalidMfaToken(&'static str),
    /// A wrong (or replayed) TOTP or recovery code (401 `invalid_mfa_code`).
    InvalidMfaCode,
    /// The change needs a recent authentication: an access token whose
    /// `auth_time` is recent enough, or `current_password` (403
    /// `reauthentication_required`).
    ReauthenticationRequired,
    /// The database or a worker pool is unavailable; retry later.
    Unavailable(BoxError),
    /// A failure that is not the caller's fault.
    Internal(BoxError),
}

/// Why an access token was refused. Its text is safe to show.
#[non_exhaustive]
#[derive(Debug)]
pub enum TokenRefused {
    /// The token failed verification or validation.
    Jose(tessera_jose::Error),
    /// Its session was revoked or has expired, or is not the subject's.
    SessionEnded,
    /// Its account no longer exists.
    AccountGone,
    /// It was revoked (a client-credentials token, RFC 7009).
    Revoked,
}

impl fmt::Display for TokenRefused {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TokenRefused::Jose(e) => write!(f, "{e}"),
            TokenRefused::SessionEnded => f.write_str("the session has ended"),
            TokenRefused::AccountGone => f.write_str("the account no longer exists"),
            TokenRefused::Revoked => f.write_str("the token was revoked"),
        }
    }
}

impl std::error::Error for TokenRefused {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            TokenRefused::Jose(e) => Some(e),
            _ => None,
        }
    }
}

/// Why a DPoP proof was refused. Its text is safe to show.
#[non_exhaustive]
#[derive(Debug)]
pub enum DpopRefused {
    /// The proof failed its checks (signature, `typ`, `alg`, `jwk`, `htm`,
    /// `htu`, `iat`, `ath`).
    Jose(tessera_jose::Error),
    /// The proof's `jti` was seen before.
    Replayed,
    /// No proof, where one is required; the text says why.
    Missing(&'static str),
    /// The proof's key is not the one the token is bound to.
    WrongKey,
    /// More than one `DPoP` header.
    Multiple,
}

impl fmt::Display for DpopRefused {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DpopRefused::Jose(e) => write!(f, "{e}"),
            DpopRefused::Replayed => f.write_str("the proof was already used (jti replay)"),
            DpopRefused::Missing(why) => f.write_str(why),
            DpopRefused::WrongKey => {
                f.write_str("the proof is not from the key the token is bound to")
            }
            DpopRefused::Multiple => f.write_str("more than one DPoP header"),
        }
    }
}

impl std::error::Error for DpopRefused {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            DpopRefused::Jose(e) => Some(e),
            _ => None,
        }
    }
}

/// A cause that is only a message (no underlying error).
#[derive(Debug)]
struct Reason(String);

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Reason {}

/// A cause with what was being done when it happened.
#[derive(Debug)]
struct Context {
    what: String,
    source: BoxError,
}

impl fmt::Display for Context {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.what, self.source)
    }
}

impl std::error::Error for Context {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&*self.source)
    }
}

impl Error {
    /// An internal failure caused by `cause`.
    pub(crate) fn internal(cause: impl Into<BoxError>) -> Self {
        Error::Internal(cause.into())
    }

    /// An internal failure caused by `cause` while doing `what`.
    pub(crate) fn internal_in(what: impl Into<String>, cause: impl Into<BoxError>) -> Self {
        Error::Internal(Box::new(Context {
            what: what.into(),
            source: cause.into(),
        }))
    }

    /// An internal failure with no underlying error.
    pub(crate) fn internal_msg(msg: impl Into<String>) -> Self {
        Error::Internal(Box::new(Reason(msg.into())))
    }

    /// Unavailable, with no underlying error.
    pub(crate) fn unavailable_msg(msg: impl Into<String>) -> Self {
        Error::Unavailable(Box::new(Reason(msg.into())))
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::InvalidInput { field, message } => write!(f, "{field}: {message}"),
            Error::MissingParameter(name) => write!(f, "missing parameter `{name}`"),
            Error::Config { key, message } => write!(f, "`{key}`: {message}"),
            Error::EmailTaken => f.write_str("an account with this email already exists"),
            Error::RegistrationClosed => f.write_str("registration is closed"),
            Error::InvalidCredentials => f.write_str("invalid email or password"),
            Error::AccountDisabled => f.write_str("the account is disabled"),
            Error::EmailNotVerified => {
                f.write_str("the email address is not verified yet; use the link we sent")
            }
            Error::InvalidLinkToken => {
                f.write_str("the link is invalid, expired or already used; ask for a new one")
            }
            Error::InvalidClient => f.write_str("client authentication failed"),
            Error::ClientAuthenticationRequired => f.write_str("client authentication is required"),
            Error::UnauthorizedClient(why) => write!(f, "unauthorized client: {why}"),
            Error::UnsupportedGrantType => {
                f.write_str("grant_type must be password, refresh_token or client_credentials")
            }
            Error::InvalidScope(why) => write!(f, "invalid scope: {why}"),
            Error::InvalidGrant(why) => write!(f, "refresh token is invalid: {why}"),
            Error::InvalidToken(why) => write!(f, "access token is invalid: {why}"),
            Error::InvalidDpopProof(why) => write!(f, "DPoP proof is invalid: {why}"),
            Error::UseDpopNonce(_) => f.write_str("a DPoP nonce is required"),
            Error::Forbidden(why) => write!(f, "forbidden: {why}"),
            Error::NotFound(what) => write!(f, "{what} not found"),
            Error::TooManyRequests(r) => {
                write!(f, "too many attempts; retry in {} s", r.0)
            }
            Error::MfaRequired(c) if c.enrollment => {
                f.write_str("a second factor must be enrolled to sign in")
            }
            Error::MfaRequired(_) => f.write_str("a second factor is required"),
            Error::InvalidMfaToken(why) => write!(f, "mfa_token is invalid: {why}"),
            Error::InvalidMfaCode => f.write_str("the code is wrong, expired or already used"),
            Error::ReauthenticationRequired => f.write_str(
                "this change needs a recent sign-in: send current_password, or sign in again",
            ),
            Error::Unavailable(why) => write!(f, "service unavailable: {why}"),
            Error::Internal(why) => write!(f, "internal error: {why}"),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::InvalidToken(e) => Some(e),
            Error::InvalidDpopProof(e) => Some(e),
            Error::Unavailable(e) | Error::Internal(e) => Some(&**e),
            _ => None,
        }
    }
}

impl From<tessera_store::StoreError> for Error {
    fn from(e: tessera_store::StoreError) -> Self {
        if e.is_unavailable() {
            Error::Unavailable(Box::new(e))
        } else {
            Error::Internal(Box::new(e))
        }
    }
}

/// Shorthand result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;
    use std::error::Error as _;

    #[test]
    fn causes_are_kept() {
        let e = Error::from(tessera_store::StoreError::Io {
            path: "data".into(),
            source: std::io::Error::other("down"),
        });
        assert!(matches!(e, Error::Unavailable(_)));
        assert!(e
            .source()
            .is_some_and(|s| s.downcast_ref::<tessera_store::StoreError>().is_some()));
        let e = Error::InvalidToken(TokenRefused::Jose(tessera_jose::Error::UnknownKey));
        let jose = e.source().and_then(|s| s.source());
        assert!(jose.is_some_and(|s| s.downcast_ref::<tessera_jose::Error>().is_some()));
        let e = Error::internal_in("key k1", std::io::Error::other("disk"));
        assert_eq!(e.to_string(), "internal error: key k1: disk");
        let io = e.source().and_then(|s| s.source());
        assert!(io.is_some_and(|s| s.downcast_ref::<std::io::Error>().is_some()));
    }
}
