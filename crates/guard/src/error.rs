//! The one error type of this crate.

use std::fmt;

/// Why a request was refused, or why a [`Guard`](crate::Guard) could not be
/// built. No variant carries a token or a secret, so an `Error` is safe to log.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Error {
    /// The request has no `Authorization: Bearer` credentials.
    MissingToken,
    /// The `Authorization` header is not a well-formed Bearer credential.
    MalformedHeader,
    /// The token was refused (signature, claims, type, expiry…).
    InvalidToken(tessera_jose::Error),
    /// The token's session was revoked (seen on the revocation feed).
    Revoked,
    /// The token lacks a role the route requires.
    MissingRole(String),
    /// The token lacks a scope the route requires.
    MissingScope(String),
    /// No trustworthy key set: the issuer has been unreachable for longer
    /// than the configured maximum staleness.
    KeysUnavailable,
    /// A DPoP-bound token came with the `Bearer` scheme (a stolen token
    /// without its key), or the guard requires DPoP and the token is not bound.
    DpopRequired,
    /// The `DPoP` scheme with a token that is not DPoP-bound.
    NotDpopBound,
    /// A DPoP-bound token, but no public URL is configured to check proofs against.
    DpopNotConfigured,
    /// The DPoP proof was refused (missing, signature, `typ`, `alg`, `jwk`,
    /// `htm`, `htu`, `iat`, `ath`).
    InvalidDpopProof(tessera_jose::Error),
    /// The DPoP proof was already used.
    DpopReplayed,
    /// The DPoP proof is from another key than the token is bound to.
    DpopKeyMismatch,
    /// Building the guard failed: discovery, the first key-set fetch, or the
    /// configuration. The text says which.
    Setup(String),
    /// An HTTP fetch (discovery, JWKS, feed) failed; the text says why.
    Fetch(String),
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::MissingToken => f.write_str("no bearer token"),
            Error::MalformedHeader => f.write_str("malformed Authorization header"),
            Error::InvalidToken(e) => write!(f, "invalid token: {e}"),
            Error::Revoked => f.write_str("the token's session has been revoked"),
            Error::MissingRole(r) => write!(f, "requires the role `{r}`"),
            Error::MissingScope(s) => write!(f, "requires the scope `{s}`"),
            Error::KeysUnavailable => f.write_str("signing keys unavailable"),
            Error::DpopRequired => f.write_str(
                "a DPoP-bound token and a DPoP proof are required (Authorization: DPoP)",
            ),
            Error::NotDpopBound => {
                f.write_str("the token is not DPoP-bound; send it with the Bearer scheme")
            }
            Error::DpopNotConfigured => {
                f.write_str("this resource server does not accept DPoP-bound tokens")
            }
            Error::InvalidDpopProof(e) => write!(f, "invalid DPoP proof: {e}"),
            Error::DpopReplayed => f.write_str("invalid DPoP proof: it was already used"),
            Error::DpopKeyMismatch => {
                f.write_str("invalid DPoP proof: not from the key the token is bound to")
            }
            Error::Setup(why) => write!(f, "guard setup failed: {why}"),
            Error::Fetch(why) => write!(f, "fetch failed: {why}"),
        }
    }
}

impl std::error::Error for Error {}

/// Shorthand for `Result<T, tessera_guard::Error>`.
pub type Result<T, E = Error> = std::result::Result<T, E>;
