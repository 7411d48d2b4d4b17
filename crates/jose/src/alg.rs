//! JWS algorithms (RFC 7518, RFC 8037, RFC 9864).

use crate::error::{Error, Result};
use core::fmt;
use core::str::FromStr;

/// A JWS signature algorithm. There is deliberately no `none`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Algorithm {
    /// HMAC with SHA-256.
    HS256,
    /// HMAC with SHA-384.
    HS384,
    /// HMAC with SHA-512.
    HS512,
    /// RSASSA-PKCS1-v1_5 with SHA-256.
    RS256,
    /// RSASSA-PKCS1-v1_5 with SHA-384.
    RS384,
    /// RSASSA-PKCS1-v1_5 with SHA-512.
    RS512,
    /// RSASSA-PSS with SHA-256 and MGF1-SHA-256.
    PS256,
    /// RSASSA-PSS with SHA-384 and MGF1-SHA-384.
    PS384,
    /// RSASSA-PSS with SHA-512 and MGF1-SHA-512.
    PS512,
    /// ECDSA on P-256 with SHA-256, fixed-size `r||s` signature.
    ES256,
    /// ECDSA on P-384 with SHA-384, fixed-size `r||s` signature.
    ES384,
    /// EdDSA (RFC 8037), here always on Ed25519.
    EdDSA,
    /// Ed25519 under its fully specified name (RFC 9864).
    Ed25519,
}

/// The key family an algorithm belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Family {
    /// Symmetric HMAC.
    Hmac,
    /// RSA (PKCS#1 v1.5 or PSS).
    Rsa,
    /// ECDSA on a NIST curve.
    Ec,
    /// Edwards-curve (Ed25519).
    Okp,
}

impl Algorithm {
    /// Every supported algorithm.
    pub const ALL: [Algorithm; 13] = [
        Algorithm::HS256,
        Algorithm::HS384,
        Algorithm::HS512,
        Algorithm::RS256,
        Algorithm::RS384,
        Algorithm::RS512,
        Algorithm::PS256,
        Algorithm::PS384,
        Algorithm::PS512,
        Algorithm::ES256,
        Algorithm::ES384,
        Algorithm::EdDSA,
        Algorithm::Ed25519,
    ];

    /// The registered JOSE name.
    pub const fn as_str(self) -> &'static str {
        match self {
            Algorithm::HS256 => "HS256",
            Algorithm::HS384 => "HS384",
            Algorithm::HS512 => "HS512",
            Algorithm::RS256 => "RS256",
            Algorithm::RS384 => "RS384",
            Algorithm::RS512 => "RS512",
            Algorithm::PS256 => "PS256",
            Algorithm::PS384 => "PS384",
            Algorithm::PS512 => "PS512",
            Algorithm::ES256 => "ES256",
            Algorithm::ES384 => "ES384",
            Algorithm::EdDSA => "EdDSA",
            Algorithm::Ed25519 => "Ed25519",
        }
    }

    /// The key family.
    pub const fn family(self) -> Family {
        match self {
            Algorithm::HS256 | Algorithm::HS384 | Algorithm::HS512 => Family::Hmac,
            Algorithm::RS256
            | Algorithm::RS384
            | Algorithm::RS512
            | Algorithm::PS256
            | Algorithm::PS384
            | Algorithm::PS512 => Family::Rsa,
            Algorithm::ES256 | Algorithm::ES384 => Family::Ec,
            Algorithm::EdDSA | Algorithm::Ed25519 => Family::Okp,
        }
    }

    /// The JWK `crv` this algorithm needs, where it has one.
    pub const fn curve(self) -> Option<&'static str> {
        match self {
            Algorithm::ES256 => Some("P-256"),
            Algorithm::ES384 => Some("P-384"),
            Algorithm::EdDSA | Algorithm::Ed25519 => Some("Ed25519"),
            _ => None,
        }
    }

    /// True if a token whose header names `header` may be verified by a key
    /// that owns `self`. Only identical names match, except that `EdDSA` and
    /// `Ed25519` name the same primitive on an Ed25519 key (RFC 9864 §2.2).
    pub fn accepts(self, header: Algorithm) -> bool {
        self == header || (self.family() == Family::Okp && header.family() == Family::Okp)
    }

    /// Minimum HMAC secret length in bytes (the hash output size).
    pub const fn min_hmac_len(self) -> usize {
        match self {
            Algorithm::HS384 => 48,
            Algorithm::HS512 => 64,
            _ => 32,
        }
    }
}

impl fmt::Display for Algorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Algorithm {
    type Err = Error;

    /// Parses a registered name, case-sensitively. `none` in any case is refused.
    fn from_str(s: &str) -> Result<Self> {
        Algorithm::ALL
            .iter()
            .copied()
            .find(|a| a.as_str() == s)
            .ok_or(Error::UnsupportedAlgorithm)
    }
}

impl serde::Serialize for Algorithm {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> serde::Deserialize<'de> for Algorithm {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}
