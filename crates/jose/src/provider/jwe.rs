//! The aws-lc-rs calls JWE needs: AES key wrap, AES-GCM, AES-CBC, HMAC-SHA-2,
//! SHA-256 for the Concat KDF, RSA-OAEP-256 and ECDH (P-256, P-384, X25519).
//!
//! Everything here works on raw bytes; the `jwe` module decides what they
//! mean. Secrets come back in [`Zeroizing`] buffers.

use crate::error::{Error, JweError, Result};
use aws_lc_rs::aead::{self, Aad, LessSafeKey, Nonce, UnboundKey};
use aws_lc_rs::agreement;
use aws_lc_rs::cipher::{
    self, DecryptionContext, EncryptionContext, PaddedBlockDecryptingKey, PaddedBlockEncryptingKey,
    UnboundCipherKey,
};
use aws_lc_rs::encoding::{AsBigEndian, AsDer, Curve25519SeedBin, EcPrivateKeyBin, Pkcs8V1Der};
use aws_lc_rs::iv::FixedLength;
use aws_lc_rs::key_wrap::{self, AesKek, KeyWrap as _};
use aws_lc_rs::rsa::{
    self, OaepPrivateDecryptingKey, OaepPublicEncryptingKey, PrivateDecryptingKey,
    PublicEncryptingKey, OAEP_SHA256_MGF1SHA256,
};
use aws_lc_rs::signature::KeyPair as _;
use aws_lc_rs::{constant_time, digest, hmac};
use zeroize::Zeroizing;

/// The one failure every decryption step reports, whatever went wrong, so
/// that no step can serve as an oracle for another (RFC 7516 §11.4, §11.5).
const FAILED: Error = Error::Jwe(JweError::DecryptionFailed);

/// Smallest RSA modulus accepted, in bytes (2048 bits).
const MIN_RSA_BYTES: usize = 256;

/// Wraps `cek` under `kek` (AES Key Wrap, RFC 3394; 16- or 32-byte `kek`).
pub(crate) fn aes_kw_wrap(kek: &[u8], cek: &[u8]) -> Result<Vec<u8>> {
    let kek = aes_kek(kek)?;
    let mut out = vec![0u8; cek.len() + 8];
    let len = kek.wrap(cek, &mut out).map_err(Error::crypto)?.len();
    out.truncate(len);
    Ok(out)
}

/// Unwraps what [`aes_kw_wrap`] produced; any change fails the integrity check.
pub(crate) fn aes_kw_unwrap(kek: &[u8], wrapped: &[u8]) -> Result<Zeroizing<Vec<u8>>> {
    let kek = aes_kek(kek)?;
    let mut out = Zeroizing::new(vec![0u8; wrapped.len()]);
    let len = kek.unwrap(wrapped, &mut out).map_err(|_| FAILED)?.len();
    out.truncate(len);
    Ok(out)
}

fn aes_kek(kek: &[u8]) -> Result<AesKek> {
    let cipher = match kek.len() {
        16 => &key_wrap::AES_128,
        32 => &key_wrap::AES_256,
        _ => return Err(Error::InvalidKey("AES key wrap keys are 16 or 32 bytes")),
    };
    AesKek::new(cipher, kek).map_err(Error::crypto)
}

fn gcm_key(key: &[u8]) -> Result<LessSafeKey> {
    let alg = match key.len() {
        16 => &aead::AES_128_GCM,
        32 => &aead::AES_256_GCM,
        _ => return Err(Error::InvalidKey("AES-GCM keys are 16 or 32 bytes")),
    };
    Ok(LessSafeKey::new(
        UnboundKey::new(alg, key).map_err(Error::crypto)?,
    ))
}

/// AES-GCM: returns `(ciphertext, 16-byte tag)`.
pub(crate) fn gcm_seal(
    key: &[u8],
    iv: &[u8; 12],
    aad: &[u8],
    plaintext: &[u8],
) -> Result<(Vec<u8>, Vec<u8>)> {
    let key = gcm_key(key)?;
    let mut body = plaintext.to_vec();
    let tag = key
        .seal_in_place_separate_tag(Nonce::assume_unique_for_key(*iv), Aad::from(aad), &mut body)
        .map_err(Error::crypto)?;
    Ok((body, tag.as_ref().to_vec()))
}

/// Opens AES-GCM; the IV must be 12 bytes and the tag 16.
pub(crate) fn gcm_open(
    key: &[u8],
    iv: &[u8],
    aad: &[u8],
    ciphertext: &[u8],
    tag: &[u8],
) -> Result<Zeroizing<Vec<u8>>> {
    let key = gcm_key(key)?;
    let nonce = Nonce::try_assume_unique_for_key(iv).map_err(|_| FAILED)?;
    if tag.len() != 16 {
        return Err(FAILED);
    }
    let mut buf = Zeroizing::new(Vec::with_capacity(ciphertext.len() + 16));
    buf.extend_from_slice(ciphertext);
    buf.extend_from_slice(tag);
    let len = key
        .open_in_place(nonce, Aad::from(aad), &mut buf)
        .map_err(|_| FAILED)?
        .len();
    buf.truncate(len);
    Ok(buf)
}

fn cbc_key(key: &[u8]) -> Result<UnboundCipherKey> {
    let alg = match key.len() {
        16 => &cipher::AES_128,
        32 => &cipher::AES_256,
        _ => return Err(Error::InvalidKey("AES-CBC keys are 16 or 32 bytes")),
    };
    UnboundCipherKey::new(alg, key).map_err(Error::crypto)
}

/// AES-CBC with PKCS#7 padding under a given 16-byte IV.
pub(crate) fn cbc_encrypt(key: &[u8], iv: &[u8; 16], plaintext: &[u8]) -> Result<Vec<u8>> {
    let key = PaddedBlockEncryptingKey::cbc_pkcs7(cbc_key(key)?).map_err(Error::crypto)?;
    let mut body = plaintext.to_vec();
    let ctx = EncryptionContext::Iv128(FixedLength::from(*iv));
    key.less_safe_encrypt(&mut body, ctx)
        .map_err(Error::crypto)?;
    Ok(body)
}

/// AES-CBC decryption and PKCS#7 unpadding. Call it only after the MAC over
/// this ciphertext has been checked.
pub(crate) fn cbc_decrypt(key: &[u8], iv: &[u8], ciphertext: &[u8]) -> Result<Zeroizing<Vec<u8>>> {
    let key = PaddedBlockDecryptingKey::cbc_pkcs7(cbc_key(key)?).map_err(Error::crypto)?;
    let iv = FixedLength::<16>::try_from(iv).map_err(|_| FAILED)?;
    let mut buf = Zeroizing::new(ciphertext.to_vec());
    let len = key
        .decrypt(&mut buf, DecryptionContext::Iv128(iv))
        .map_err(|_| FAILED)?
        .len();
    buf.truncate(len);
    Ok(buf)
}

/// HMAC-SHA-256 (32-byte output), -384 or -512, chosen by `out_bits`, over
/// the concatenation of `parts`.
pub(crate) fn hmac_sha2(out_bits: usize, key: &[u8], parts: &[&[u8]]) -> Vec<u8> {
    let alg = match out_bits {
        512 => hmac::HMAC_SHA512,
        384 => hmac::HMAC_SHA384,
        _ => hmac::HMAC_SHA256,
    };
    let mut ctx = hmac::Context::with_key(&hmac::Key::new(alg, key));
    for p in parts {
        ctx.update(p);
    }
    ctx.sign().as_ref().to_vec()
}

/// Constant-time equality (lengths are not secret).
pub(crate) fn ct_eq(a: &[u8], b: &[u8]) -> bool {
    constant_time::verify_slices_are_equal(a, b).is_ok()
}

/// SHA-256 over the concatenation of `parts`.
pub(crate) fn sha256_parts(parts: &[&[u8]]) -> [u8; 32] {
    let mut ctx = digest::Context::new(&digest::SHA256);
    for p in parts {
        ctx.update(p);
    }
    let mut out = [0u8; 32];
    out.copy_from_slice(ctx.finish().as_ref());
    out
}

/// An RSA public key that encrypts with RSA-OAEP-256.
pub(crate) struct RsaOaepPublic(OaepPublicEncryptingKey);

/// A generated RSA key: the key, its `n` and `e`, and its PKCS#8 DER.
pub(crate) type GeneratedRsa = (RsaOaepPrivate, Vec<u8>, Vec<u8>, Zeroizing<Vec<u8>>);

/// An RSA private key that decrypts RSA-OAEP-256.
pub(crate) struct RsaOaepPrivate {
    key: OaepPrivateDecryptingKey,
    public: PublicEncryptingKey,
}

impl RsaOaepPublic {
    /// From the JWK `n` and `e` (2048 bits or more).
    pub(crate) fn from_components(n: &[u8], e: &[u8]) -> Result<Self> {
        let bad = |_| Error::InvalidKey("RSA public key does not parse");
        let parsed = rsa::PublicKeyComponents { n, e }
            .to_parsed_public_key(&aws_lc_rs::signature::RSA_PKCS1_2048_8192_SHA256)
            .map_err(bad)?;
        let spki = AsDer::<aws_lc_rs::encoding::PublicKeyX509Der>::as_der(&parsed)
            .map_err(Error::crypto)?;
        Self::from_spki(spki.as_ref())
    }

    fn from_spki(spki: &[u8]) -> Result<Self> {
        let key = PublicEncryptingKey::from_der(spki)
            .map_err(|_| Error::InvalidKey("RSA public key does not parse"))?;
        if key.key_size_bytes() < MIN_RSA_BYTES {
            return Err(Error::InvalidKey("RSA keys must be at least 2048 bits"));
        }
        OaepPublicEncryptingKey::new(key)
            .map(RsaOaepPublic)
            .map_err(Error::crypto)
    }

    /// Encrypts `cek`.
    pub(crate) fn encrypt(&self, cek: &[u8]) -> Result<Vec<u8>> {
        let mut out = vec![0u8; self.0.ciphertext_size()];
        let len = self
            .0
            .encrypt(&OAEP_SHA256_MGF1SHA256, cek, &mut out, None)
            .map_err(Error::crypto)?
            .len();
        out.truncate(len);
        Ok(out)
    }
}

impl RsaOaepPrivate {
    /// From PKCS#8 DER (2048 bits or more).
    pub(crate) fn from_pkcs8(der: &[u8]) -> Result<Self> {
        let key = PrivateDecryptingKey::from_pkcs8(der)
            .map_err(|_| Error::InvalidKey("RSA private key does not parse"))?;
        if key.key_size_bytes() < MIN_RSA_BYTES {
            return Err(Error::InvalidKey("RSA keys must be at least 2048 bits"));
        }
        let public = key.public_key();
        OaepPrivateDecryptingKey::new(key)
            .map(|key| RsaOaepPrivate { key, public })
            .map_err(Error::crypto)
    }

    /// From the JWK members `[n, e, d, p, q, dp, dq, qi]` (checked for
    /// consistency by aws-lc); also returns the key's PKCS#8 DER.
    pub(crate) fn from_components(c: [&[u8]; 8]) -> Result<(Self, Zeroizing<Vec<u8>>)> {
        let [n, e, d, p, q, dp, dq, qi] = c;
        let c = rsa::KeyPairComponents {
            public_key: rsa::PublicKeyComponents { n, e },
            d,
            p,
            q,
            dP: dp,
            dQ: dq,
            qInv: qi,
        };
        let pair = rsa::KeyPair::from_components(&c)
            .map_err(|_| Error::InvalidKey("private JWK parameters are inconsistent"))?;
        let der = AsDer::<Pkcs8V1Der>::as_der(&pair).map_err(Error::crypto)?;
        let der = Zeroizing::new(der.as_ref().to_vec());
        Ok((Self::from_pkcs8(&der)?, der))
    }

    /// A fresh 2048-bit key, with its `n`, `e` and PKCS#8 DER (for export).
    pub(crate) fn generate() -> Result<GeneratedRsa> {
        let pair = rsa::KeyPair::generate(rsa::KeySize::Rsa2048).map_err(Error::crypto)?;
        let c = rsa::PublicKeyComponents::<Vec<u8>>::from(pair.public_key());
        let der = AsDer::<Pkcs8V1Der>::as_der(&pair).map_err(Error::crypto)?;
        let der = Zeroizing::new(der.as_ref().to_vec());
        Ok((Self::from_pkcs8(&der)?, c.n, c.e, der))
    }

    /// The public half.
    pub(crate) fn public(&self) -> Result<RsaOaepPublic> {
        OaepPublicEncryptingKey::new(self.public.clone())
            .map(RsaOaepPublic)
            .map_err(Error::crypto)
    }

    /// Decrypts a wrapped CEK. Every failure is the same [`JweError::DecryptionFailed`].
    pub(crate) fn decrypt(&self, wrapped: &[u8]) -> Result<Zeroizing<Vec<u8>>> {
        let mut out = Zeroizing::new(vec![0u8; self.key.min_output_size()]);
        let len = self
            .key
            .decrypt(&OAEP_SHA256_MGF1SHA256, wrapped, &mut out, None)
            .map_err(|_| FAILED)?
            .len();
        out.truncate(len);
        Ok(out)
    }
}

/// The curves ECDH-ES works on here.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Curve {
    P256,
    P384,
    X25519,
}

impl Curve {
    fn alg(self) -> &'static agreement::Algorithm {
        match self {
            Curve::P256 => &agreement::ECDH_P256,
            Curve::P384 => &agreement::ECDH_P384,
            Curve::X25519 => &agreement::X25519,
        }
    }

    /// Length of a scalar / coordinate in bytes.
    pub(crate) fn len(self) -> usize {
        match self {
            Curve::P384 => 48,
            _ => 32,
        }
    }
}

/// An ECDH private key (static recipient key, or a sender's ephemeral key).
pub(crate) struct EcdhPrivate {
    curve: Curve,
    key: agreement::PrivateKey,
}

impl EcdhPrivate {
    /// A fresh key.
    pub(crate) fn generate(curve: Curve) -> Result<Self> {
        agreement::PrivateKey::generate(curve.alg())
            .map(|key| EcdhPrivate { curve, key })
            .map_err(Error::crypto)
    }

    /// From the JWK `d` (fixed-length big-endian scalar, or the X25519 key).
    /// For NIST curves the public point computed from it must equal `public`.
    pub(crate) fn from_scalar(curve: Curve, d: &[u8], public: &[u8]) -> Result<Self> {
        let key = agreement::PrivateKey::from_private_key(curve.alg(), d)
            .map_err(|_| Error::InvalidKey("ECDH private key does not parse"))?;
        let me = EcdhPrivate { curve, key };
        if !ct_eq(&me.public()?, public) {
            return Err(Error::InvalidKey("private JWK parameters are inconsistent"));
        }
        Ok(me)
    }

    /// The curve.
    pub(crate) fn curve(&self) -> Curve {
        self.curve
    }

    /// The public key: an uncompressed SEC1 point, or the 32-byte X25519 key.
    pub(crate) fn public(&self) -> Result<Vec<u8>> {
        self.key
            .compute_public_key()
            .map(|p| p.as_ref().to_vec())
            .map_err(Error::crypto)
    }

    /// The private scalar (for JWK export).
    pub(crate) fn scalar(&self) -> Result<Zeroizing<Vec<u8>>> {
        let bytes = match self.curve {
            Curve::X25519 => AsBigEndian::<Curve25519SeedBin>::as_be_bytes(&self.key)
                .map(|b| b.as_ref().to_vec()),
            _ => {
                AsBigEndian::<EcPrivateKeyBin>::as_be_bytes(&self.key).map(|b| b.as_ref().to_vec())
            }
        }
        .map_err(Error::crypto)?;
        Ok(Zeroizing::new(bytes))
    }

    /// The shared secret `Z` with `peer` (same encoding as [`Self::public`]).
    /// A point off the curve, on another curve, or of low order is refused.
    pub(crate) fn agree(&self, peer: &[u8]) -> Result<Zeroizing<Vec<u8>>> {
        let peer = agreement::UnparsedPublicKey::new(self.curve.alg(), peer);
        agreement::agree(
            &self.key,
            peer,
            Error::Jwe(JweError::InvalidEphemeralKey(
                "not a valid point on the curve",
            )),
            |z| {
                // X25519 with a low-order point gives all zeros (RFC 7748 §6.1).
                if z.iter().all(|b| *b == 0) {
                    return Err(Error::Jwe(JweError::InvalidEphemeralKey(
                        "the shared secret is zero",
                    )));
                }
                Ok(Zeroizing::new(z.to_vec()))
            },
        )
    }
}

/// Checks that `point` is a valid public key on `curve` without using it.
pub(crate) fn check_public(curve: Curve, point: &[u8]) -> Result<()> {
    agreement::ParsedPublicKey::try_from(&agreement::UnparsedPublicKey::new(curve.alg(), point))
        .map(|_| ())
        .map_err(|_| Error::InvalidKey("ECDH public key is not a valid point on its curve"))
}
