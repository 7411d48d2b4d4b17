//! # tessera-jose
//!
//! Strict JSON Web Signatures, encryption, keys and tokens for Tessera
//! (RFC 7515, 7516, 7517, 7518, 7519, 7638, 8037, 9068, 9864). No I/O; all
//! cryptography comes from aws-lc-rs through one provider module.
//! Encryption (JWE, and nested signed-then-encrypted JWTs) lives in [`jwe`],
//! under the same rules as signatures.
//!
//! The rules this crate enforces:
//! - **A key owns its algorithm.** A [`SigningKey`] or [`VerifyingKey`] is
//!   built for one [`Algorithm`]; a token whose header names another is
//!   refused with [`Error::AlgorithmMismatch`]. There is no `none`.
//! - **Claims only after verification.** [`UnverifiedToken`] exposes the
//!   header alone; its payload is reachable only from a [`VerifiedToken`],
//!   and typed claims only after a [`Validation`]. Reading without
//!   verification lives in [`dangerous`].
//! - **Strict parsing.** Exactly three segments, canonical unpadded
//!   base64url, JSON objects without duplicate members, size and depth caps
//!   checked first, any `crit` refused, and `jwk`/`jku`/`x5u`/`x5c` never used.
//! - **Time is a parameter** ([`Clock`]).
//! - **One error type**, [`Error`], whose variants keep the failure of an
//!   underlying library (as a [`Cause`], from `source()`) where there is one.
//!
//! A verifier that sees the same token many times can skip its signature on
//! a repeat with [`cache::VerifiedCache`] (Tessera's server and guard both
//! do); the caller still checks the key, the claims and the time on a hit.
//!
//! ## Layout
//!
//! Each file imports only files below it in this list, so there is no
//! import circle inside the crate:
//!
//! | file | holds | imports |
//! |---|---|---|
//! | `error` | [`Error`], [`Cause`] | — |
//! | `clock` | [`Clock`] and its two implementations | — |
//! | `alg`, `b64`, `der`, `json`, `pem` | algorithms, canonical base64url, DER, strict JSON, PEM | `error` |
//! | `provider` (and `provider/jwe`) | the only files that call aws-lc-rs | `alg`, `der`, `error` |
//! | `crypto`, `cache` | hashing/random/AEAD for other crates; the verified-token cache | `provider` (`crypto`: `error`) |
//! | `header` | [`Header`], [`Limits`], the access-token header a key writes | `alg`, `b64`, `error`, `json` |
//! | `claims` | [`RegisteredClaims`], [`Validation`] | `error`, `header`, `json` |
//! | `jwk` | [`Jwk`], [`Jwks`] | `alg`, `b64`, `der`, `error`, `json`, `provider` |
//! | `key` | [`SigningKey`], [`VerifyingKey`], [`KeySet`] | `alg`, `error`, `header`, `jwk`, `pem`, `provider` |
//! | `jws` | parse → verify → validate, [`encode`], [`decode`] | `b64`, `claims`, `clock`, `error`, `header`, `key` |
//! | `dpop` | DPoP proofs (RFC 9449): check, sign, `htu`, `ath` | `alg`, `b64`, `error`, `header`, `json`, `jwk`, `jws`, `key`, `provider` |
//! | `dangerous` | reading without verifying | `b64`, `error`, `header`, `json`, `jws` |
//! | `jwe/` | JWE: header, keys, key management, content encryption, compact form, nested JWTs | `b64`, `claims`, `clock`, `der`, `error`, `header`, `json`, `jwk`, `jws`, `key`, `provider` |
//!
//! ```
//! use tessera_jose::{decode, encode, Algorithm, KeySet, ManualClock, SigningKey, Validation};
//! use serde::{Deserialize, Serialize};
//!
//! #[derive(Serialize, Deserialize)]
//! struct Claims { iss: String, aud: String, sub: String, exp: i64, roles: Vec<String> }
//!
//! let key = SigningKey::generate(Algorithm::EdDSA)?;
//! let token = encode(&key, Some("at+jwt"), &Claims {
//!     iss: "https://auth.example".into(), aud: "api".into(), sub: "user-1".into(),
//!     exp: 1_700_000_900, roles: vec!["admin".into()],
//! })?;
//!
//! // A resource server knows only the public JWKS.
//! let jwks = KeySet::new().to_jwks(); // (empty here; normally fetched)
//! assert!(jwks.keys.is_empty());
//! let keys: KeySet = [key.verifying_key().clone()].into_iter().collect();
//! let validation = Validation::new("https://auth.example", "api");
//! let clock = ManualClock::new(1_700_000_000);
//! let data = decode::<Claims>(&token, &keys, &validation, &clock)?;
//! assert_eq!(data.claims.roles, ["admin"]);
//!
//! // The same token, fifteen minutes later, is refused with a reason.
//! clock.set(1_700_000_900 + 30);
//! assert_eq!(
//!     decode::<Claims>(&token, &keys, &validation, &clock).err(),
//!     Some(tessera_jose::Error::Expired)
//! );
//! # Ok::<(), tessera_jose::Error>(())
//! ```
#![forbid(unsafe_code)]

mod alg;
pub mod b64;
pub mod cache;
mod claims;
mod clock;
pub mod crypto;
pub mod dangerous;
mod der;
pub mod dpop;
mod error;
mod header;
pub mod json;
pub mod jwe;
mod jwk;
mod jws;
mod key;
pub mod pem;
mod provider;

pub use alg::{Algorithm, Family};
pub use claims::{Audience, RegisteredClaims, Validation};
pub use clock::{Clock, ManualClock, SystemClock};
pub use error::{Cause, Error, JweError, Result};
pub use header::{Header, Limits, ACCESS_TOKEN_TYP};
pub use jwk::{Jwk, Jwks};
pub use jws::{decode, encode, TokenData, UnverifiedToken, VerifiedToken};
pub use key::{KeySet, SigningKey, VerifyingKey};
