//! JSON Web Encryption (RFC 7516) in the compact serialization, with the
//! algorithms of RFC 7518 that are still sound, under the rules this crate
//! applies to JWS:
//!
//! - **A key owns its algorithm.** A [`DecryptionKey`] or [`EncryptionKey`]
//!   is built for one [`KeyAlgorithm`]; the caller names the one
//!   [`ContentAlgorithm`] it accepts. A header naming anything else is
//!   refused ([`Error::AlgorithmMismatch`],
//!   [`JweError::EncryptionMismatch`](crate::JweError::EncryptionMismatch));
//!   nothing in a header picks a key.
//! - **Refused outright:** `RSA1_5` (it does not exist here), `zip`
//!   (compression oracles), any `crit`, and an `epk` that is not a valid
//!   point on the recipient key's curve.
//! - **Caps first:** [`Limits::max_token_len`](crate::Limits) is checked
//!   before anything is decoded.
//! - **Authenticate, then decrypt:** the CBC-HMAC tag is compared in
//!   constant time before any AES-CBC decryption, and every decryption
//!   failure is the same [`JweError::DecryptionFailed`](crate::JweError::DecryptionFailed).
//!
//! Supported `alg`: `RSA-OAEP-256`, `ECDH-ES`, `ECDH-ES+A128KW`,
//! `ECDH-ES+A256KW` (P-256, P-384, X25519), `A128KW`, `A256KW`, `dir`.
//! Supported `enc`: `A128GCM`, `A256GCM`, `A128CBC-HS256`, `A256CBC-HS512`.
//!
//! A nested JWT (signed, then encrypted, `cty: "JWT"`) takes one call each
//! way: [`encode_encrypted`] and [`decode_encrypted`].
//!
//! ```
//! use tessera_jose::jwe::{self, ContentAlgorithm, DecryptionKey, KeyAlgorithm};
//! use tessera_jose::{Algorithm, KeySet, Limits, ManualClock, SigningKey, Validation};
//! use serde_json::{json, Value};
//!
//! // The recipient's key pair; the sender only needs the public half.
//! let recipient = DecryptionKey::generate(KeyAlgorithm::EcdhEsA256Kw)?;
//! let to = recipient.encryption_key();
//! let enc = ContentAlgorithm::A256Gcm;
//!
//! // Plain JWE.
//! let token = jwe::encrypt(b"hello", &to, enc, &jwe::EncryptOptions::default())?;
//! let opened = jwe::decrypt(&token, &recipient, enc, &Limits::default())?;
//! assert_eq!(opened.plaintext(), b"hello");
//!
//! // Nested JWT: signed by the issuer, then encrypted to the recipient.
//! let signer = SigningKey::generate(Algorithm::ES256)?;
//! let claims = json!({"iss": "https://auth.example", "aud": "api", "sub": "u1", "exp": 2_000_000_000});
//! let token = jwe::encode_encrypted(&signer, Some("at+jwt"), &claims, &to, enc)?;
//! let keys: KeySet = [signer.verifying_key().clone()].into_iter().collect();
//! let data = jwe::decode_encrypted::<Value>(
//!     &token, &recipient, enc, &keys,
//!     &Validation::new("https://auth.example", "api"), &ManualClock::new(1_900_000_000),
//! )?;
//! assert_eq!(data.registered.sub.as_deref(), Some("u1"));
//! # Ok::<(), tessera_jose::Error>(())
//! ```

mod compact;
mod content;
mod header;
mod key;
mod manage;
mod nested;
#[cfg(test)]
mod wycheproof;

pub use compact::{decrypt, encrypt, peek_header, Decrypted, EncryptOptions};
pub use header::JweHeader;
pub use key::{DecryptionKey, EncryptionKey};
pub use nested::{decode_encrypted, encode_encrypted};

use crate::error::{Error, Result};
use core::fmt;
use core::str::FromStr;

/// A JWE key management algorithm (`alg`). There is no `RSA1_5`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum KeyAlgorithm {
    /// RSAES-OAEP with SHA-256 and MGF1-SHA-256 (`RSA-OAEP-256`).
    RsaOaep256,
    /// ECDH-ES direct key agreement (`ECDH-ES`).
    EcdhEs,
    /// ECDH-ES, then AES-128 key wrap (`ECDH-ES+A128KW`).
    EcdhEsA128Kw,
    /// ECDH-ES, then AES-256 key wrap (`ECDH-ES+A256KW`).
    EcdhEsA256Kw,
    /// AES-128 key wrap with a shared key (`A128KW`).
    A128Kw,
    /// AES-256 key wrap with a shared key (`A256KW`).
    A256Kw,
    /// The shared key is the content encryption key (`dir`).
    Dir,
}

impl KeyAlgorithm {
    /// Every supported key management algorithm.
    pub const ALL: [KeyAlgorithm; 7] = [
        KeyAlgorithm::RsaOaep256,
        KeyAlgorithm::EcdhEs,
        KeyAlgorithm::EcdhEsA128Kw,
        KeyAlgorithm::EcdhEsA256Kw,
        KeyAlgorithm::A128Kw,
        KeyAlgorithm::A256Kw,
        KeyAlgorithm::Dir,
    ];

    /// The registered name.
    pub const fn as_str(self) -> &'static str {
        match self {
            KeyAlgorithm::RsaOaep256 => "RSA-OAEP-256",
            KeyAlgorithm::EcdhEs => "ECDH-ES",
            KeyAlgorithm::EcdhEsA128Kw => "ECDH-ES+A128KW",
            KeyAlgorithm::EcdhEsA256Kw => "ECDH-ES+A256KW",
            KeyAlgorithm::A128Kw => "A128KW",
            KeyAlgorithm::A256Kw => "A256KW",
            KeyAlgorithm::Dir => "dir",
        }
    }

    /// True for the ECDH-ES family.
    pub const fn is_ecdh(self) -> bool {
        matches!(
            self,
            KeyAlgorithm::EcdhEs | KeyAlgorithm::EcdhEsA128Kw | KeyAlgorithm::EcdhEsA256Kw
        )
    }

    /// The AES key wrap key length, for the algorithms that wrap.
    pub(crate) const fn kw_len(self) -> Option<usize> {
        match self {
            KeyAlgorithm::EcdhEsA128Kw | KeyAlgorithm::A128Kw => Some(16),
            KeyAlgorithm::EcdhEsA256Kw | KeyAlgorithm::A256Kw => Some(32),
            _ => None,
        }
    }
}

/// A JWE content encryption algorithm (`enc`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ContentAlgorithm {
    /// AES-128-GCM.
    A128Gcm,
    /// AES-256-GCM.
    A256Gcm,
    /// AES-128-CBC with HMAC-SHA-256 truncated to 128 bits.
    A128CbcHs256,
    /// AES-256-CBC with HMAC-SHA-512 truncated to 256 bits.
    A256CbcHs512,
}

impl ContentAlgorithm {
    /// Every supported content encryption algorithm.
    pub const ALL: [ContentAlgorithm; 4] = [
        ContentAlgorithm::A128Gcm,
        ContentAlgorithm::A256Gcm,
        ContentAlgorithm::A128CbcHs256,
        ContentAlgorithm::A256CbcHs512,
    ];

    /// The registered name.
    pub const fn as_str(self) -> &'static str {
        match self {
            ContentAlgorithm::A128Gcm => "A128GCM",
            ContentAlgorithm::A256Gcm => "A256GCM",
            ContentAlgorithm::A128CbcHs256 => "A128CBC-HS256",
            ContentAlgorithm::A256CbcHs512 => "A256CBC-HS512",
        }
    }

    /// The content encryption key length in bytes.
    pub const fn key_len(self) -> usize {
        match self {
            ContentAlgorithm::A128Gcm => 16,
            ContentAlgorithm::A256Gcm | ContentAlgorithm::A128CbcHs256 => 32,
            ContentAlgorithm::A256CbcHs512 => 64,
        }
    }
}

macro_rules! names {
    ($t:ty) => {
        impl fmt::Display for $t {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl FromStr for $t {
            type Err = Error;

            /// Parses a registered name, case-sensitively; any other name
            /// (`RSA1_5`, `RSA-OAEP`, `A192KW`, `PBES2-*`, …) is
            /// [`Error::UnsupportedAlgorithm`].
            fn from_str(s: &str) -> Result<Self> {
                <$t>::ALL
                    .iter()
                    .copied()
                    .find(|a| a.as_str() == s)
                    .ok_or(Error::UnsupportedAlgorithm)
            }
        }
    };
}

names!(KeyAlgorithm);
names!(ContentAlgorithm);
