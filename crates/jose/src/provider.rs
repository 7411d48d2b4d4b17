//! The cryptographic provider: every call into aws-lc-rs lives in this module.
//!
//! The rest of the crate sees two opaque types, [`PrivateKey`] and
//! [`PublicKey`], plus a few helpers for random bytes, digests and MACs.
//! Keys are parsed once, when they are built, so signing and verifying parse
//! nothing per call.

use crate::alg::{Algorithm, Family};
use crate::der;
use crate::error::{Error, Result};
use aws_lc_rs::encoding::{AsBigEndian, AsDer, Curve25519SeedBin, EcPrivateKeyBin, Pkcs8V1Der};
use aws_lc_rs::signature::{
    self, EcdsaKeyPair, EcdsaSigningAlgorithm, Ed25519KeyPair, KeyPair as _, ParsedPublicKey,
    RsaEncoding, RsaParameters, VerificationAlgorithm,
};
use aws_lc_rs::{constant_time, digest, hmac, rand, rsa};
use zeroize::Zeroizing;

pub(crate) mod jwe;

/// Smallest RSA modulus accepted, in bytes (2048 bits).
const MIN_RSA_BYTES: usize = 256;

/// The public parameters of a key, as raw big-endian octets (JWK members).
#[derive(Clone, PartialEq, Eq)]
pub(crate) enum PublicParams {
    Rsa {
        n: Vec<u8>,
        e: Vec<u8>,
    },
    Ec {
        crv: &'static str,
        x: Vec<u8>,
        y: Vec<u8>,
    },
    Okp {
        x: Vec<u8>,
    },
}

/// The private parameters of an asymmetric key (JWK members), zeroized on drop.
pub(crate) enum PrivateParams {
    Rsa(der::RsaPrivate),
    /// EC `d` or Ed25519 seed.
    Scalar(Zeroizing<Vec<u8>>),
    /// HMAC secret `k`.
    Secret(Zeroizing<Vec<u8>>),
}

/// A key that signs.
pub(crate) enum PrivateKey {
    Hmac {
        key: Box<hmac::Key>,
        secret: Zeroizing<Vec<u8>>,
    },
    Rsa(rsa::KeyPair),
    Ec(EcdsaKeyPair),
    Ed(Ed25519KeyPair),
}

/// A key that verifies.
pub(crate) enum PublicKey {
    Hmac(Box<hmac::Key>),
    Asym(ParsedPublicKey),
}

fn hmac_alg(alg: Algorithm) -> hmac::Algorithm {
    match alg {
        Algorithm::HS384 => hmac::HMAC_SHA384,
        Algorithm::HS512 => hmac::HMAC_SHA512,
        _ => hmac::HMAC_SHA256,
    }
}

fn ecdsa_signing(alg: Algorithm) -> Result<&'static EcdsaSigningAlgorithm> {
    match alg {
        Algorithm::ES256 => Ok(&signature::ECDSA_P256_SHA256_FIXED_SIGNING),
        Algorithm::ES384 => Ok(&signature::ECDSA_P384_SHA384_FIXED_SIGNING),
        _ => Err(Error::InvalidKey("not an ECDSA algorithm")),
    }
}

fn rsa_params(alg: Algorithm) -> Result<&'static RsaParameters> {
    Ok(match alg {
        Algorithm::RS256 => &signature::RSA_PKCS1_2048_8192_SHA256,
        Algorithm::RS384 => &signature::RSA_PKCS1_2048_8192_SHA384,
        Algorithm::RS512 => &signature::RSA_PKCS1_2048_8192_SHA512,
        Algorithm::PS256 => &signature::RSA_PSS_2048_8192_SHA256,
        Algorithm::PS384 => &signature::RSA_PSS_2048_8192_SHA384,
        Algorithm::PS512 => &signature::RSA_PSS_2048_8192_SHA512,
        _ => return Err(Error::InvalidKey("not an RSA algorithm")),
    })
}

fn rsa_encoding(alg: Algorithm) -> Result<&'static dyn RsaEncoding> {
    Ok(match alg {
        Algorithm::RS256 => &signature::RSA_PKCS1_SHA256,
        Algorithm::RS384 => &signature::RSA_PKCS1_SHA384,
        Algorithm::RS512 => &signature::RSA_PKCS1_SHA512,
        Algorithm::PS256 => &signature::RSA_PSS_SHA256,
        Algorithm::PS384 => &signature::RSA_PSS_SHA384,
        Algorithm::PS512 => &signature::RSA_PSS_SHA512,
        _ => return Err(Error::InvalidKey("not an RSA algorithm")),
    })
}

fn verification(alg: Algorithm) -> Result<&'static dyn VerificationAlgorithm> {
    Ok(match alg.family() {
        Family::Rsa => rsa_params(alg)?,
        Family::Ec if alg == Algorithm::ES256 => &signature::ECDSA_P256_SHA256_FIXED,
        Family::Ec => &signature::ECDSA_P384_SHA384_FIXED,
        Family::Okp => &signature::ED25519,
        Family::Hmac => return Err(Error::InvalidKey("HMAC keys are not public keys")),
    })
}

fn coord_len(alg: Algorithm) -> usize {
    if alg == Algorithm::ES384 {
        48
    } else {
        32
    }
}

/// Fills a new buffer with `len` bytes from the OS CSPRNG.
pub(crate) fn random(len: usize) -> Result<Zeroizing<Vec<u8>>> {
    let mut buf = Zeroizing::new(vec![0u8; len]);
    rand::fill(&mut buf).map_err(Error::crypto)?;
    Ok(buf)
}

/// SHA-256 of `data`.
pub(crate) fn sha256(data: &[u8]) -> [u8; 32] {
    let d = digest::digest(&digest::SHA256, data);
    let mut out = [0u8; 32];
    out.copy_from_slice(d.as_ref());
    out
}

/// HMAC-SHA-256 of `data` under `key` (any key length).
pub(crate) fn hmac_sha1(key: &[u8], data: &[u8]) -> [u8; 20] {
    let k = hmac::Key::new(hmac::HMAC_SHA1_FOR_LEGACY_USE_ONLY, key);
    let tag = hmac::sign(&k, data);
    let mut out = [0u8; 20];
    out.copy_from_slice(tag.as_ref());
    out
}

pub(crate) fn hmac_sha256(key: &[u8], data: &[u8]) -> [u8; 32] {
    let k = hmac::Key::new(hmac::HMAC_SHA256, key);
    let tag = hmac::sign(&k, data);
    let mut out = [0u8; 32];
    out.copy_from_slice(tag.as_ref());
    out
}

/// Seals `plaintext` with AES-256-GCM under `key`, binding `aad`; the
/// random 96-bit nonce is prepended to the output.
pub(crate) fn seal(key: &[u8; 32], aad: &[u8], plaintext: &[u8]) -> Result<Vec<u8>> {
    use aws_lc_rs::aead::{Aad, LessSafeKey, Nonce, UnboundKey, AES_256_GCM, NONCE_LEN};
    let k = LessSafeKey::new(UnboundKey::new(&AES_256_GCM, key).map_err(Error::crypto)?);
    let mut nonce = [0u8; NONCE_LEN];
    rand::fill(&mut nonce).map_err(Error::crypto)?;
    let mut out = Vec::with_capacity(NONCE_LEN + plaintext.len() + 16);
    out.extend_from_slice(&nonce);
    let mut body = plaintext.to_vec();
    k.seal_in_place_append_tag(
        Nonce::assume_unique_for_key(nonce),
        Aad::from(aad),
        &mut body,
    )
    .map_err(Error::crypto)?;
    out.extend_from_slice(&body);
    Ok(out)
}

/// Opens what [`seal`] produced; fails if anything was altered.
pub(crate) fn open(key: &[u8; 32], aad: &[u8], sealed: &[u8]) -> Result<Zeroizing<Vec<u8>>> {
    use aws_lc_rs::aead::{Aad, LessSafeKey, Nonce, UnboundKey, AES_256_GCM, NONCE_LEN};
    const BAD: Error = Error::InvalidKey("sealed data does not open");
    let k = LessSafeKey::new(UnboundKey::new(&AES_256_GCM, key).map_err(Error::crypto)?);
    if sealed.len() < NONCE_LEN + 16 {
        return Err(BAD);
    }
    let (nonce, body) = sealed.split_at(NONCE_LEN);
    let nonce = Nonce::try_assume_unique_for_key(nonce).map_err(|_| BAD)?;
    let mut buf = Zeroizing::new(body.to_vec());
    let len = k
        .open_in_place(nonce, Aad::from(aad), &mut buf)
        .map_err(|_| BAD)?
        .len();
    buf.truncate(len);
    Ok(buf)
}

/// Constant-time equality of two byte strings (length is not secret).
pub(crate) fn ct_eq(a: &[u8], b: &[u8]) -> bool {
    constant_time::verify_slices_are_equal(a, b).is_ok()
}

impl PrivateKey {
    /// Generates a fresh key for `alg` (RSA: 2048 bits).
    pub(crate) fn generate(alg: Algorithm) -> Result<Self> {
        match alg.family() {
            // A random secret that happens to begin like PEM or JSON (about one
            // in 256 start with `{`) would be refused by `hmac` and on re-import
            // from a JWK; draw again rather than fail.
            Family::Hmac => loop {
                let secret = random(alg.min_hmac_len())?;
                if !looks_like_public_key(&secret) {
                    return Self::hmac(alg, secret);
                }
            },
            Family::Rsa => rsa::KeyPair::generate(rsa::KeySize::Rsa2048)
                .map(PrivateKey::Rsa)
                .map_err(Error::crypto),
            Family::Ec => EcdsaKeyPair::generate(ecdsa_signing(alg)?)
                .map(PrivateKey::Ec)
                .map_err(Error::crypto),
            Family::Okp => Ed25519KeyPair::generate()
                .map(PrivateKey::Ed)
                .map_err(Error::crypto),
        }
    }

    /// Builds an HMAC key; the secret must be at least the hash length.
    pub(crate) fn hmac(alg: Algorithm, secret: Zeroizing<Vec<u8>>) -> Result<Self> {
        if alg.family() != Family::Hmac {
            return Err(Error::InvalidKey("not an HMAC algorithm"));
        }
        if secret.len() < alg.min_hmac_len() {
            return Err(Error::InvalidKey(
                "HMAC secret is shorter than the hash output",
            ));
        }
        if looks_like_public_key(&secret) {
            return Err(Error::InvalidKey(
                "HMAC secret looks like public key material",
            ));
        }
        let key = Box::new(hmac::Key::new(hmac_alg(alg), &secret));
        Ok(PrivateKey::Hmac { key, secret })
    }

    /// Parses a DER private key: PKCS#8, or the family's own form
    /// (PKCS#1 `RSAPrivateKey`, SEC1 `ECPrivateKey`).
    pub(crate) fn from_der(alg: Algorithm, der: &[u8]) -> Result<Self> {
        let key = match alg.family() {
            Family::Hmac => return Err(Error::InvalidKey("HMAC keys have no DER form")),
            Family::Rsa => rsa::KeyPair::from_pkcs8(der)
                .or_else(|_| rsa::KeyPair::from_der(der))
                .map(PrivateKey::Rsa),
            Family::Ec => {
                let s = ecdsa_signing(alg)?;
                EcdsaKeyPair::from_pkcs8(s, der)
                    .or_else(|_| EcdsaKeyPair::from_private_key_der(s, der))
                    .map(PrivateKey::Ec)
            }
            Family::Okp => Ed25519KeyPair::from_pkcs8_maybe_unchecked(der).map(PrivateKey::Ed),
        }
        .map_err(|_| Error::InvalidKey("private key does not parse for this algorithm"))?;
        key.check_size()?;
        Ok(key)
    }

    /// Builds an asymmetric private key from JWK parameters.
    pub(crate) fn from_params(
        alg: Algorithm,
        public: &PublicParams,
        private: &PrivateParams,
    ) -> Result<Self> {
        let bad = |_| Error::InvalidKey("private JWK parameters are inconsistent");
        let key = match (public, private) {
            (PublicParams::Rsa { n, e }, PrivateParams::Rsa(p)) if alg.family() == Family::Rsa => {
                let c = rsa::KeyPairComponents {
                    public_key: rsa::PublicKeyComponents {
                        n: n.as_slice(),
                        e: e.as_slice(),
                    },
                    d: p.d.as_slice(),
                    p: p.p.as_slice(),
                    q: p.q.as_slice(),
                    dP: p.dp.as_slice(),
                    dQ: p.dq.as_slice(),
                    qInv: p.qi.as_slice(),
                };
                rsa::KeyPair::from_components(&c)
                    .map(PrivateKey::Rsa)
                    .map_err(bad)?
            }
            (PublicParams::Ec { x, y, .. }, PrivateParams::Scalar(d))
                if alg.family() == Family::Ec =>
            {
                let len = coord_len(alg);
                if x.len() != len || y.len() != len || d.len() != len {
                    return Err(Error::InvalidKey("EC JWK coordinate has the wrong length"));
                }
                let mut point = Vec::with_capacity(1 + 2 * len);
                point.push(4);
                point.extend_from_slice(x);
                point.extend_from_slice(y);
                EcdsaKeyPair::from_private_key_and_public_key(ecdsa_signing(alg)?, d, &point)
                    .map(PrivateKey::Ec)
                    .map_err(bad)?
            }
            (PublicParams::Okp { x }, PrivateParams::Scalar(d)) if alg.family() == Family::Okp => {
                Ed25519KeyPair::from_seed_and_public_key(d, x)
                    .map(PrivateKey::Ed)
                    .map_err(bad)?
            }
            _ => return Err(Error::InvalidKey("JWK does not fit the algorithm")),
        };
        key.check_size()?;
        Ok(key)
    }

    fn check_size(&self) -> Result<()> {
        match self {
            PrivateKey::Rsa(k) if k.public_modulus_len() < MIN_RSA_BYTES => {
                Err(Error::InvalidKey("RSA keys must be at least 2048 bits"))
            }
            _ => Ok(()),
        }
    }

    /// Signs `msg`.
    pub(crate) fn sign(&self, alg: Algorithm, msg: &[u8]) -> Result<Vec<u8>> {
        match self {
            PrivateKey::Hmac { key, .. } => Ok(hmac::sign(key, msg).as_ref().to_vec()),
            PrivateKey::Rsa(k) => {
                let mut sig = vec![0u8; k.public_modulus_len()];
                k.sign(
                    rsa_encoding(alg)?,
                    &rand::SystemRandom::new(),
                    msg,
                    &mut sig,
                )
                .map_err(Error::crypto)?;
                Ok(sig)
            }
            PrivateKey::Ec(k) => k
                .sign(&rand::SystemRandom::new(), msg)
                .map(|s| s.as_ref().to_vec())
                .map_err(Error::crypto),
            PrivateKey::Ed(k) => Ok(k.sign(msg).as_ref().to_vec()),
        }
    }

    /// The matching verification key.
    pub(crate) fn public_key(&self, alg: Algorithm) -> Result<(PublicKey, Option<PublicParams>)> {
        match self {
            PrivateKey::Hmac { key, .. } => Ok((PublicKey::Hmac(key.clone()), None)),
            PrivateKey::Rsa(k) => {
                let c = rsa::PublicKeyComponents::<Vec<u8>>::from(k.public_key());
                let params = PublicParams::Rsa { n: c.n, e: c.e };
                PublicKey::from_params(alg, &params).map(|p| (p, Some(params)))
            }
            PrivateKey::Ec(k) => {
                let point = k.public_key().as_ref();
                let params = ec_params(alg, point)?;
                PublicKey::from_params(alg, &params).map(|p| (p, Some(params)))
            }
            PrivateKey::Ed(k) => {
                let params = PublicParams::Okp {
                    x: k.public_key().as_ref().to_vec(),
                };
                PublicKey::from_params(alg, &params).map(|p| (p, Some(params)))
            }
        }
    }

    /// PKCS#8 v1 DER of an asymmetric key.
    pub(crate) fn to_pkcs8(&self) -> Result<Zeroizing<Vec<u8>>> {
        let der = match self {
            PrivateKey::Hmac { .. } => return Err(Error::InvalidKey("HMAC keys have no DER form")),
            PrivateKey::Rsa(k) => AsDer::<Pkcs8V1Der>::as_der(k)
                .map(|d| d.as_ref().to_vec())
                .map_err(Error::crypto)?,
            PrivateKey::Ec(k) => k
                .to_pkcs8v1()
                .map(|d| d.as_ref().to_vec())
                .map_err(Error::crypto)?,
            PrivateKey::Ed(k) => k
                .to_pkcs8v1()
                .map(|d| d.as_ref().to_vec())
                .map_err(Error::crypto)?,
        };
        Ok(Zeroizing::new(der))
    }

    /// The private JWK parameters.
    pub(crate) fn private_params(&self) -> Result<PrivateParams> {
        match self {
            PrivateKey::Hmac { secret, .. } => Ok(PrivateParams::Secret(secret.clone())),
            PrivateKey::Rsa(_) => {
                der::rsa_private_from_pkcs8(&self.to_pkcs8()?).map(PrivateParams::Rsa)
            }
            PrivateKey::Ec(k) => {
                let d = AsBigEndian::<EcPrivateKeyBin>::as_be_bytes(&k.private_key())
                    .map_err(Error::crypto)?;
                Ok(PrivateParams::Scalar(Zeroizing::new(d.as_ref().to_vec())))
            }
            PrivateKey::Ed(k) => {
                let seed = k.seed().map_err(Error::crypto)?;
                let s =
                    AsBigEndian::<Curve25519SeedBin>::as_be_bytes(&seed).map_err(Error::crypto)?;
                Ok(PrivateParams::Scalar(Zeroizing::new(s.as_ref().to_vec())))
            }
        }
    }
}

fn ec_params(alg: Algorithm, point: &[u8]) -> Result<PublicParams> {
    let len = coord_len(alg);
    match point {
        [4, rest @ ..] if rest.len() == 2 * len => Ok(PublicParams::Ec {
            crv: alg.curve().unwrap_or("P-256"),
            x: rest[..len].to_vec(),
            y: rest[len..].to_vec(),
        }),
        _ => Err(Error::InvalidKey("EC public point is not uncompressed")),
    }
}

impl PublicKey {
    /// Parses a DER public key (SPKI, or PKCS#1 `RSAPublicKey` for RSA) and
    /// returns it with its JWK parameters.
    pub(crate) fn from_der(alg: Algorithm, der: &[u8]) -> Result<(Self, PublicParams)> {
        let bad = |_| Error::InvalidKey("public key does not parse for this algorithm");
        let params = match alg.family() {
            Family::Hmac => return Err(Error::InvalidKey("HMAC keys are not public keys")),
            Family::Rsa => {
                let k = rsa::PublicKey::from_der(der).map_err(bad)?;
                let c = rsa::PublicKeyComponents::<Vec<u8>>::from(&k);
                PublicParams::Rsa { n: c.n, e: c.e }
            }
            Family::Ec | Family::Okp => {
                let parsed = ParsedPublicKey::new(verification(alg)?, der).map_err(bad)?;
                let spki = AsDer::<aws_lc_rs::encoding::PublicKeyX509Der>::as_der(&parsed)
                    .map_err(Error::crypto)?;
                let spki = spki.as_ref();
                if alg.family() == Family::Okp {
                    let x = spki
                        .get(spki.len().saturating_sub(32)..)
                        .ok_or(Error::InvalidKey("Ed25519 key is too short"))?;
                    PublicParams::Okp { x: x.to_vec() }
                } else {
                    let n = 1 + 2 * coord_len(alg);
                    let point = spki
                        .get(spki.len().saturating_sub(n)..)
                        .ok_or(Error::InvalidKey("EC key is too short"))?;
                    ec_params(alg, point)?
                }
            }
        };
        Ok((Self::from_params(alg, &params)?, params))
    }

    /// Builds a verification key from JWK parameters.
    pub(crate) fn from_params(alg: Algorithm, params: &PublicParams) -> Result<Self> {
        let bad = |_| Error::InvalidKey("public key parameters are invalid");
        let parsed = match (alg.family(), params) {
            (Family::Rsa, PublicParams::Rsa { n, e }) => {
                let n_len = n.iter().skip_while(|b| **b == 0).count();
                if n_len < MIN_RSA_BYTES {
                    return Err(Error::InvalidKey("RSA keys must be at least 2048 bits"));
                }
                // An even exponent is not RSA, and with e = 1 every padded
                // message is its own signature. aws-lc would only refuse such
                // a key when verifying; refuse it when it is built.
                let e_odd = e.last().is_some_and(|b| b & 1 == 1);
                let e_one = e.iter().rev().skip(1).all(|b| *b == 0) && e.last() == Some(&1);
                if !e_odd || e_one {
                    return Err(Error::InvalidKey(
                        "RSA public exponent must be odd and greater than 1",
                    ));
                }
                rsa::PublicKeyComponents {
                    n: n.as_slice(),
                    e: e.as_slice(),
                }
                .to_parsed_public_key(rsa_params(alg)?)
                .map_err(bad)?
            }
            (Family::Ec, PublicParams::Ec { crv, x, y }) => {
                let len = coord_len(alg);
                if Some(*crv) != alg.curve() || x.len() != len || y.len() != len {
                    return Err(Error::InvalidKey("EC key does not fit the algorithm"));
                }
                let mut point = Vec::with_capacity(1 + 2 * len);
                point.push(4);
                point.extend_from_slice(x);
                point.extend_from_slice(y);
                ParsedPublicKey::new(verification(alg)?, point).map_err(bad)?
            }
            (Family::Okp, PublicParams::Okp { x }) => {
                if x.len() != 32 {
                    return Err(Error::InvalidKey("Ed25519 keys are 32 bytes"));
                }
                ParsedPublicKey::new(verification(alg)?, x).map_err(bad)?
            }
            _ => return Err(Error::InvalidKey("key does not fit the algorithm")),
        };
        Ok(PublicKey::Asym(parsed))
    }

    /// Verifies `sig` over `msg` in constant time where it matters (HMAC).
    #[inline]
    pub(crate) fn verify(&self, msg: &[u8], sig: &[u8]) -> Result<()> {
        match self {
            PublicKey::Hmac(key) => hmac::verify(key, msg, sig),
            PublicKey::Asym(key) => key.verify_sig(msg, sig),
        }
        .map_err(|_| Error::InvalidSignature)
    }

    /// SPKI DER of an asymmetric key.
    pub(crate) fn to_spki(&self) -> Result<Vec<u8>> {
        match self {
            PublicKey::Hmac(_) => Err(Error::InvalidKey("HMAC keys are not public keys")),
            PublicKey::Asym(k) => AsDer::<aws_lc_rs::encoding::PublicKeyX509Der>::as_der(k)
                .map(|d| d.as_ref().to_vec())
                .map_err(Error::crypto),
        }
    }
}

/// True if `bytes` is PEM text, a JSON JWK, or DER that parses as a public
/// key: material that must never become an HMAC secret by accident.
fn looks_like_public_key(bytes: &[u8]) -> bool {
    let text = bytes.trim_ascii_start();
    if text.starts_with(b"-----BEGIN") || text.starts_with(b"{") {
        return true;
    }
    if bytes.first() != Some(&0x30) {
        return false;
    }
    rsa::PublicKey::from_der(bytes).is_ok()
        || [
            &signature::ECDSA_P256_SHA256_FIXED as &dyn VerificationAlgorithm,
            &signature::ECDSA_P384_SHA384_FIXED,
            &signature::ED25519,
        ]
        .iter()
        .any(|a| ParsedPublicKey::new(*a, bytes).is_ok())
}
