//! The one error type of this crate.

use core::fmt;

/// Why a token, key or claim set was refused.
///
/// Each variant names a cause a caller can act on. None of them carries key
/// material or token contents, so an `Error` is always safe to log.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Error {
    /// The token or JSON is not well formed; the text says which part.
    Malformed(&'static str),
    /// The input is larger than the configured cap (checked before any work).
    TooLarge,
    /// A JSON document nests deeper than the configured cap.
    TooDeep,
    /// A JSON object repeats a member name.
    DuplicateMember,
    /// The `alg` is unknown, unsupported, or `none`.
    UnsupportedAlgorithm,
    /// The header's `alg` differs from the algorithm the key owns.
    AlgorithmMismatch,
    /// The header lists a `crit` extension this library does not implement.
    UnsupportedCritical,
    /// No key in the key set matches the token's `kid`.
    UnknownKey,
    /// The signature does not verify.
    InvalidSignature,
    /// `exp` has passed (including leeway).
    Expired,
    /// `nbf` is still in the future (including leeway).
    NotYetValid,
    /// `iat` is in the future (including leeway).
    IssuedInFuture,
    /// The token is older than the configured maximum age.
    TooOld,
    /// `iss` does not match.
    InvalidIssuer,
    /// `aud` does not contain an accepted audience.
    InvalidAudience,
    /// The header `typ` is missing or not the required one.
    InvalidType,
    /// A required claim is absent; the text names it.
    MissingClaim(&'static str),
    /// A claim has the wrong JSON type or an impossible value; the text names it.
    InvalidClaim(&'static str),
    /// Key material was refused; the text says why (never the material).
    InvalidKey(&'static str),
    /// The cryptographic provider failed (for example during key generation).
    Crypto,
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Malformed(what) => write!(f, "malformed token: {what}"),
            Error::TooLarge => f.write_str("input exceeds the size limit"),
            Error::TooDeep => f.write_str("JSON nests deeper than the limit"),
            Error::DuplicateMember => f.write_str("JSON object has a duplicate member name"),
            Error::UnsupportedAlgorithm => f.write_str("unsupported or forbidden algorithm"),
            Error::AlgorithmMismatch => f.write_str("token algorithm does not match the key"),
            Error::UnsupportedCritical => {
                f.write_str("token requires an unsupported critical extension")
            }
            Error::UnknownKey => f.write_str("no key matches the token's key id"),
            Error::InvalidSignature => f.write_str("invalid signature"),
            Error::Expired => f.write_str("token has expired"),
            Error::NotYetValid => f.write_str("token is not valid yet"),
            Error::IssuedInFuture => f.write_str("token was issued in the future"),
            Error::TooOld => f.write_str("token is older than the maximum age"),
            Error::InvalidIssuer => f.write_str("invalid issuer"),
            Error::InvalidAudience => f.write_str("invalid audience"),
            Error::InvalidType => f.write_str("invalid token type"),
            Error::MissingClaim(c) => write!(f, "missing required claim `{c}`"),
            Error::InvalidClaim(c) => write!(f, "claim `{c}` has an invalid type or value"),
            Error::InvalidKey(why) => write!(f, "invalid key: {why}"),
            Error::Crypto => f.write_str("cryptographic operation failed"),
        }
    }
}

impl std::error::Error for Error {}

/// Shorthand for `Result<T, tessera_jose::Error>`.
pub type Result<T, E = Error> = core::result::Result<T, E>;
