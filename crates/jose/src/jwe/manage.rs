//! Key management (RFC 7518 §4): how the content encryption key (CEK) gets
//! to the recipient, and back.
//!
//! - `RSA-OAEP-256`: the CEK encrypted to the recipient's RSA key.
//! - `ECDH-ES`: the CEK is derived with the Concat KDF (§4.6.2) from an
//!   ephemeral-static ECDH secret; no encrypted key.
//! - `ECDH-ES+A128KW`/`A256KW`: a key wrap key is derived that way, and the
//!   random CEK is AES-key-wrapped under it.
//! - `A128KW`/`A256KW`: the random CEK is wrapped under a shared key.
//! - `dir`: the shared key is the CEK; no encrypted key.

use super::header::{Epk, JweHeader};
use super::key::{curve_of, point_of, xy, DecryptionKey, EncryptionKey, Private, Recipient};
use super::{ContentAlgorithm, KeyAlgorithm};
use crate::b64;
use crate::error::{Error, JweError, Result};
use crate::provider::{self, jwe as p, jwe::Curve, jwe::EcdhPrivate};
use zeroize::Zeroizing;

const FAILED: Error = Error::Jwe(JweError::DecryptionFailed);

/// What key management hands to content encryption when encrypting.
pub(crate) struct Managed {
    pub(crate) cek: Zeroizing<Vec<u8>>,
    pub(crate) encrypted_key: Vec<u8>,
    pub(crate) epk: Option<Epk>,
}

/// The Concat KDF of NIST SP 800-56A with SHA-256, as RFC 7518 §4.6.2 sets
/// its inputs: `AlgorithmID` is the `enc` (direct) or `alg` (key wrap) name,
/// `PartyUInfo`/`PartyVInfo` are `apu`/`apv` (empty when absent), and
/// `SuppPubInfo` is the key length in bits.
pub(crate) fn concat_kdf(
    z: &[u8],
    algorithm_id: &str,
    key_len: usize,
    apu: &[u8],
    apv: &[u8],
) -> Result<Zeroizing<Vec<u8>>> {
    let len32 = |n: usize| -> Result<[u8; 4]> {
        u32::try_from(n)
            .map(u32::to_be_bytes)
            .map_err(|_| Error::Malformed("KDF input is too long"))
    };
    let (alg_len, apu_len, apv_len) = (
        len32(algorithm_id.len())?,
        len32(apu.len())?,
        len32(apv.len())?,
    );
    let bits = len32(key_len * 8)?;
    let mut out = Zeroizing::new(Vec::with_capacity(key_len + 32));
    let mut counter: u32 = 1;
    while out.len() < key_len {
        out.extend_from_slice(&p::sha256_parts(&[
            &counter.to_be_bytes(),
            z,
            &alg_len,
            algorithm_id.as_bytes(),
            &apu_len,
            apu,
            &apv_len,
            apv,
            &bits,
        ]));
        counter += 1;
    }
    out.truncate(key_len);
    Ok(out)
}

/// The KDF's `AlgorithmID` and output length for an ECDH-ES algorithm.
fn kdf_target(alg: KeyAlgorithm, enc: ContentAlgorithm) -> (&'static str, usize) {
    match alg.kw_len() {
        Some(len) => (alg.as_str(), len),
        None => (enc.as_str(), enc.key_len()),
    }
}

fn epk_of(curve: Curve, point: &[u8]) -> Epk {
    let (x, y) = xy(curve, point);
    Epk {
        kty: if curve == Curve::X25519 { "OKP" } else { "EC" }.into(),
        crv: match curve {
            Curve::P256 => "P-256",
            Curve::P384 => "P-384",
            Curve::X25519 => "X25519",
        }
        .into(),
        x,
        y,
    }
}

fn random_cek(enc: ContentAlgorithm) -> Result<Zeroizing<Vec<u8>>> {
    provider::random(enc.key_len())
}

impl EncryptionKey {
    /// Chooses or derives the CEK and encrypts it for the recipient.
    pub(crate) fn manage(&self, enc: ContentAlgorithm, apu: &[u8], apv: &[u8]) -> Result<Managed> {
        let alg = self.alg;
        match &self.recipient {
            Recipient::Rsa { key, .. } => {
                let cek = random_cek(enc)?;
                let encrypted_key = key.encrypt(&cek)?;
                Ok(Managed {
                    cek,
                    encrypted_key,
                    epk: None,
                })
            }
            Recipient::Ecdh { curve, point } => {
                let eph = EcdhPrivate::generate(*curve)?;
                let z = eph.agree(point)?;
                let (id, len) = kdf_target(alg, enc);
                let derived = concat_kdf(&z, id, len, apu, apv)?;
                let epk = Some(epk_of(*curve, &eph.public()?));
                if alg.kw_len().is_none() {
                    return Ok(Managed {
                        cek: derived,
                        encrypted_key: Vec::new(),
                        epk,
                    });
                }
                let cek = random_cek(enc)?;
                let encrypted_key = p::aes_kw_wrap(&derived, &cek)?;
                Ok(Managed {
                    cek,
                    encrypted_key,
                    epk,
                })
            }
            Recipient::Secret(secret) if alg == KeyAlgorithm::Dir => {
                if secret.len() != enc.key_len() {
                    return Err(Error::InvalidKey("dir key length does not fit enc"));
                }
                Ok(Managed {
                    cek: Zeroizing::new(secret.to_vec()),
                    encrypted_key: Vec::new(),
                    epk: None,
                })
            }
            Recipient::Secret(secret) => {
                let cek = random_cek(enc)?;
                let encrypted_key = p::aes_kw_wrap(secret, &cek)?;
                Ok(Managed {
                    cek,
                    encrypted_key,
                    epk: None,
                })
            }
        }
    }
}

fn empty(encrypted_key: &[u8]) -> Result<()> {
    if encrypted_key.is_empty() {
        Ok(())
    } else {
        Err(Error::Jwe(JweError::InvalidPart(
            "encrypted key (it must be empty with dir and ECDH-ES)",
        )))
    }
}

/// The sender's ephemeral public key, on the recipient key's own curve.
fn ephemeral_point(header: &JweHeader, curve: Curve) -> Result<Vec<u8>> {
    let bad = |why| Error::Jwe(JweError::InvalidEphemeralKey(why));
    let epk = header.epk.as_ref().ok_or(bad("epk is missing"))?;
    if curve_of(&epk.kty, Some(&epk.crv)) != Some(curve) {
        return Err(bad("epk is not on the key's curve"));
    }
    let x = b64::decode(epk.x.as_bytes(), "epk x").map_err(|_| bad("epk x is not base64url"))?;
    let y = match (&epk.y, curve) {
        (None, _) => None,
        (Some(_), Curve::X25519) => return Err(bad("an X25519 epk has no y")),
        (Some(y), _) => {
            Some(b64::decode(y.as_bytes(), "epk y").map_err(|_| bad("epk y is not base64url"))?)
        }
    };
    point_of(curve, &x, y.as_deref()).ok_or(bad("epk coordinates have the wrong length"))
}

impl DecryptionKey {
    /// Recovers the CEK for `enc` from the header and encrypted key. The
    /// caller has already checked that the header's `alg` is this key's.
    pub(crate) fn recover(
        &self,
        header: &JweHeader,
        enc: ContentAlgorithm,
        encrypted_key: &[u8],
    ) -> Result<Zeroizing<Vec<u8>>> {
        let alg = self.public.alg;
        let cek = match &self.private {
            Private::Rsa(key, _) => {
                // RFC 7516 §11.5: on any failure continue with a random CEK,
                // so that an RSA failure and a tag failure look the same.
                match key.decrypt(encrypted_key) {
                    Ok(cek) if cek.len() == enc.key_len() => cek,
                    _ => random_cek(enc)?,
                }
            }
            Private::Ecdh(key) => {
                let point = ephemeral_point(header, key.curve())?;
                let z = key.agree(&point)?;
                let apu = header.apu.as_deref().unwrap_or_default();
                let apv = header.apv.as_deref().unwrap_or_default();
                let (id, len) = kdf_target(alg, enc);
                let derived = concat_kdf(&z, id, len, apu, apv)?;
                if alg.kw_len().is_none() {
                    empty(encrypted_key)?;
                    derived
                } else {
                    p::aes_kw_unwrap(&derived, encrypted_key)?
                }
            }
            Private::Secret(secret) if alg == KeyAlgorithm::Dir => {
                empty(encrypted_key)?;
                Zeroizing::new(secret.to_vec())
            }
            Private::Secret(secret) => p::aes_kw_unwrap(secret, encrypted_key)?,
        };
        if cek.len() != enc.key_len() {
            return Err(FAILED);
        }
        Ok(cek)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    /// RFC 7518 Appendix C: ECDH-ES with P-256, A128GCM, apu "Alice", apv "Bob".
    #[test]
    fn rfc7518_appendix_c_concat_kdf() {
        let z = [
            158, 86, 217, 29, 129, 113, 53, 211, 114, 131, 66, 131, 191, 132, 38, 156, 251, 49,
            110, 163, 218, 128, 106, 72, 246, 218, 167, 121, 140, 254, 144, 196,
        ];
        let key = concat_kdf(&z, "A128GCM", 16, b"Alice", b"Bob").unwrap();
        assert_eq!(b64::encode(&key), "VqqN6vgjbSBcIijNcacQGg");
    }
}
