//! Nested JWTs (RFC 7519 §5.2, §11.2): a JWS signed first, then encrypted,
//! with `cty: "JWT"`, in one call each way.

use super::compact::{decrypt, encrypt, EncryptOptions};
use super::key::{DecryptionKey, EncryptionKey};
use super::ContentAlgorithm;
use crate::claims::Validation;
use crate::clock::Clock;
use crate::error::{Error, JweError, Result};
use crate::jws::{decode, encode, TokenData};
use crate::key::{KeySet, SigningKey};
use serde::de::DeserializeOwned;
use serde::Serialize;

/// Signs `claims` with `signer` (as [`crate::encode`] does, with the inner
/// `typ`), then encrypts the JWS to `to` with `enc` and `cty: "JWT"`.
pub fn encode_encrypted<T: Serialize + ?Sized>(
    signer: &SigningKey,
    typ: Option<&str>,
    claims: &T,
    to: &EncryptionKey,
    enc: ContentAlgorithm,
) -> Result<String> {
    let jws = encode(signer, typ, claims)?;
    let options = EncryptOptions {
        cty: Some("JWT".into()),
        ..EncryptOptions::default()
    };
    encrypt(jws.as_bytes(), to, enc, &options)
}

/// Decrypts a nested JWT with `key` (accepting only `enc`), then verifies
/// and validates the inner JWS exactly as [`crate::decode`] does. The outer
/// header must say `cty: "JWT"` (compared without regard to case, RFC 7519
/// §5.2); both layers are held to `validation.limits`.
pub fn decode_encrypted<T: DeserializeOwned>(
    token: &str,
    key: &DecryptionKey,
    enc: ContentAlgorithm,
    keys: &KeySet,
    validation: &Validation,
    clock: &dyn Clock,
) -> Result<TokenData<T>> {
    let opened = decrypt(token, key, enc, &validation.limits)?;
    let nested = opened
        .header()
        .cty()
        .is_some_and(|c| c.eq_ignore_ascii_case("JWT"));
    if !nested {
        return Err(Error::Jwe(JweError::NotNested));
    }
    let jws =
        std::str::from_utf8(opened.plaintext()).map_err(|_| Error::Jwe(JweError::NotNested))?;
    decode(jws, keys, validation, clock)
}
