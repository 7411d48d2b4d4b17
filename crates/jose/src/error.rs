//! The one error type of this crate, and the [`Cause`] some of its variants
//! keep for [`std::error::Error::source`].

use core::fmt;
use std::sync::Arc;

/// Why a token, key or claim set was refused.
///
/// Each variant names a cause a caller can act on. None of them carries key
/// material or token contents, so an `Error` is always safe to log. Where an
/// underlying library failed (`serde_json`, the cryptographic provider), the
/// variant keeps that failure as a [`Cause`], returned by `source()`.
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
    /// The header names no `kid`, and the validation requires one.
    MissingKeyId,
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
    Crypto(Cause),
    /// The claims do not deserialize into the caller's type (after the token
    /// verified and validated), or do not serialize when signing; `what`
    /// says which.
    Claims {
        /// Which way it failed.
        what: &'static str,
        /// `serde_json`'s reason, reduced to its category and position.
        source: Cause,
    },
    /// A JWE was refused; the [`JweError`] says why.
    Jwe(JweError),
    /// JSON this library writes, or re-reads after checking it, failed in
    /// `serde_json`; `what` names the document.
    Json {
        /// The document.
        what: &'static str,
        /// `serde_json`'s reason, reduced to its category and position.
        source: Cause,
    },
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
            Error::MissingKeyId => f.write_str("the token names no key id (kid)"),
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
            Error::Crypto(_) => f.write_str("cryptographic operation failed"),
            Error::Claims { what, .. } => write!(f, "claim `{what}` has an invalid type or value"),
            Error::Json { what, .. } => write!(f, "malformed token: {what}"),
            Error::Jwe(e) => write!(f, "JWE refused: {e}"),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::Crypto(cause)
            | Error::Claims { source: cause, .. }
            | Error::Json { source: cause, .. } => Some(cause.inner()),
            Error::Jwe(e) => Some(e),
            _ => None,
        }
    }
}

impl Error {
    /// A failure of the cryptographic provider.
    pub(crate) fn crypto<E: std::error::Error + Send + Sync + 'static>(e: E) -> Self {
        Error::Crypto(Cause(Arc::new(e)))
    }

    /// Claims that did not (de)serialize.
    pub(crate) fn claims(what: &'static str, e: &serde_json::Error) -> Self {
        Error::Claims {
            what,
            source: Cause::json(e),
        }
    }

    /// JSON that did not (de)serialize.
    pub(crate) fn json(what: &'static str, e: &serde_json::Error) -> Self {
        Error::Json {
            what,
            source: Cause::json(e),
        }
    }
}

/// Why a JWE (RFC 7516) was refused, inside [`Error::Jwe`].
///
/// Failures that an attacker could use as an oracle (a wrong key, a bad
/// tag, bad padding, a key that does not unwrap) are all the one
/// [`JweError::DecryptionFailed`].
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JweError {
    /// The header's `enc` is not the content encryption the caller allows.
    EncryptionMismatch,
    /// The header asks for compression (`zip`), which is refused: compressing
    /// before encrypting leaks the plaintext through its length.
    CompressionRefused,
    /// The ephemeral public key (`epk`) is missing, malformed, on another
    /// curve, not on its curve, or of low order; the text says which.
    InvalidEphemeralKey(&'static str),
    /// A part that this key management mode fixes has the wrong form (for
    /// example an encrypted key with `dir`, or an IV of the wrong length);
    /// the text names it.
    InvalidPart(&'static str),
    /// The token does not decrypt: wrong key, altered ciphertext, tag, IV,
    /// header or encrypted key.
    DecryptionFailed,
    /// A nested JWT's header has no `cty: "JWT"`, or its content is not text.
    NotNested,
}

impl fmt::Display for JweError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            JweError::EncryptionMismatch => {
                f.write_str("content encryption does not match the one allowed")
            }
            JweError::CompressionRefused => f.write_str("compressed content (zip) is refused"),
            JweError::InvalidEphemeralKey(why) => write!(f, "invalid ephemeral key: {why}"),
            JweError::InvalidPart(what) => write!(f, "invalid {what}"),
            JweError::DecryptionFailed => f.write_str("decryption failed"),
            JweError::NotNested => f.write_str("content is not a nested JWT"),
        }
    }
}

impl std::error::Error for JweError {}

/// The underlying failure behind an [`Error`].
///
/// It never carries token contents or key material: a `serde_json` error is
/// kept as its category and position only (its message can quote the
/// input). Two causes are equal when they read the same.
#[derive(Clone)]
pub struct Cause(Arc<dyn std::error::Error + Send + Sync>);

impl Cause {
    fn json(e: &serde_json::Error) -> Self {
        Cause(Arc::new(JsonError {
            category: e.classify(),
            line: e.line(),
            column: e.column(),
        }))
    }

    fn inner(&self) -> &(dyn std::error::Error + 'static) {
        &*self.0
    }
}

impl fmt::Debug for Cause {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&*self.0, f)
    }
}

impl fmt::Display for Cause {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&*self.0, f)
    }
}

impl PartialEq for Cause {
    fn eq(&self, other: &Self) -> bool {
        self.to_string() == other.to_string()
    }
}

impl Eq for Cause {}

impl std::error::Error for Cause {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.0.source()
    }
}

/// A `serde_json` error without its message (which can quote the input).
#[derive(Debug)]
struct JsonError {
    category: serde_json::error::Category,
    line: usize,
    column: usize,
}

impl fmt::Display for JsonError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use serde_json::error::Category;
        let what = match self.category {
            Category::Io => "an I/O error",
            Category::Syntax => "a syntax error",
            Category::Data => "a value of the wrong type or range",
            Category::Eof => "an unexpected end of input",
        };
        write!(
            f,
            "JSON: {what} at line {} column {}",
            self.line, self.column
        )
    }
}

impl std::error::Error for JsonError {}

/// Shorthand for `Result<T, tessera_jose::Error>`.
pub type Result<T, E = Error> = core::result::Result<T, E>;

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use std::error::Error as _;

    #[test]
    fn causes_are_kept_without_the_input() {
        let e = serde_json::from_str::<u8>(r#""secret-value""#).unwrap_err();
        let err = Error::claims("claims do not match the expected type", &e);
        assert_eq!(
            err.to_string(),
            "claim `claims do not match the expected type` has an invalid type or value"
        );
        let cause = err.source().unwrap().to_string();
        assert_eq!(
            cause,
            "JSON: a value of the wrong type or range at line 1 column 14"
        );
        assert!(!format!("{err:?}").contains("secret"));
        assert_eq!(err.clone(), err);
        let crypto = Error::crypto(aws_lc_rs::error::Unspecified);
        assert_eq!(crypto.to_string(), "cryptographic operation failed");
        assert!(crypto.source().is_some());
        assert!(Error::Expired.source().is_none());
    }
}
