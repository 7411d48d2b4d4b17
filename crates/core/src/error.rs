//! The one error type of tessera-core.

use std::fmt;

/// Why an operation was refused or failed.
///
/// Variants map one-to-one onto HTTP answers in the server; none of them
/// carries a password, a token or key material.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Error {
    /// A request field is invalid; `field` names it.
    InvalidInput {
        /// The offending field.
        field: &'static str,
        /// What is wrong with it.
        message: String,
    },
    /// The email is already registered.
    EmailTaken,
    /// Self-registration is closed on this server.
    RegistrationClosed,
    /// Wrong email or password (the two are indistinguishable on purpose).
    InvalidCredentials,
    /// OAuth client authentication failed (unknown client or wrong secret).
    InvalidClient,
    /// The client may not use this grant type.
    UnauthorizedClient(&'static str),
    /// The requested scope is not allowed; the text names it.
    InvalidScope(String),
    /// A refresh token is unknown, spent, expired or revoked.
    InvalidGrant(&'static str),
    /// An access token was refused; the text is safe to show.
    InvalidToken(String),
    /// Authenticated, but not allowed.
    Forbidden(&'static str),
    /// No such resource.
    NotFound(&'static str),
    /// The database or a worker pool is unavailable; retry later.
    Unavailable(String),
    /// A failure that is not the caller's fault.
    Internal(String),
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::InvalidInput { field, message } => write!(f, "{field}: {message}"),
            Error::EmailTaken => f.write_str("an account with this email already exists"),
            Error::RegistrationClosed => f.write_str("registration is closed"),
            Error::InvalidCredentials => f.write_str("invalid email or password"),
            Error::InvalidClient => f.write_str("client authentication failed"),
            Error::UnauthorizedClient(why) => write!(f, "unauthorized client: {why}"),
            Error::InvalidScope(why) => write!(f, "invalid scope: {why}"),
            Error::InvalidGrant(why) => write!(f, "refresh token is invalid: {why}"),
            Error::InvalidToken(why) => write!(f, "access token is invalid: {why}"),
            Error::Forbidden(why) => write!(f, "forbidden: {why}"),
            Error::NotFound(what) => write!(f, "{what} not found"),
            Error::Unavailable(why) => write!(f, "service unavailable: {why}"),
            Error::Internal(why) => write!(f, "internal error: {why}"),
        }
    }
}

impl std::error::Error for Error {}

impl From<tessera_store::StoreError> for Error {
    fn from(e: tessera_store::StoreError) -> Self {
        if e.is_unavailable() {
            Error::Unavailable(e.to_string())
        } else {
            Error::Internal(e.to_string())
        }
    }
}

/// Shorthand result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;
