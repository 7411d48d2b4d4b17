//! JWE keys. Like a JWS key, a JWE key owns its [`KeyAlgorithm`]; a token's
//! header never picks or changes it.

use super::KeyAlgorithm;
use crate::b64;
use crate::error::{Error, Result};
use crate::jwk::Jwk;
use crate::provider::jwe::{self as p, Curve, EcdhPrivate, RsaOaepPrivate, RsaOaepPublic};
use std::fmt;
use std::sync::Arc;
use zeroize::Zeroizing;

/// What an [`EncryptionKey`] encrypts to.
#[derive(Clone)]
pub(crate) enum Recipient {
    Rsa {
        key: Arc<RsaOaepPublic>,
        n: Vec<u8>,
        e: Vec<u8>,
    },
    /// The recipient's static public key (uncompressed point, or X25519 key).
    Ecdh { curve: Curve, point: Vec<u8> },
    /// A shared secret (key wrap key, or the content key itself for `dir`).
    Secret(Arc<Zeroizing<Vec<u8>>>),
}

/// What a [`DecryptionKey`] decrypts with.
pub(crate) enum Private {
    Rsa(RsaOaepPrivate, Zeroizing<Vec<u8>>),
    Ecdh(EcdhPrivate),
    Secret(Arc<Zeroizing<Vec<u8>>>),
}

/// A key that encrypts (a recipient's public key, or a shared secret),
/// bound to one [`KeyAlgorithm`]. `Debug` never shows a secret.
#[derive(Clone)]
pub struct EncryptionKey {
    pub(crate) alg: KeyAlgorithm,
    pub(crate) kid: Option<Arc<str>>,
    pub(crate) recipient: Recipient,
}

/// A key that decrypts, bound to one [`KeyAlgorithm`]. `Debug` shows only the
/// algorithm and `kid`.
pub struct DecryptionKey {
    pub(crate) private: Private,
    pub(crate) public: EncryptionKey,
}

impl fmt::Debug for EncryptionKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("EncryptionKey");
        d.field("alg", &self.alg).field("kid", &self.kid);
        if let Recipient::Secret(_) = self.recipient {
            d.field("key", &"<redacted>");
        }
        d.finish()
    }
}

impl fmt::Debug for DecryptionKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DecryptionKey")
            .field("alg", &self.public.alg)
            .field("kid", &self.public.kid)
            .field("key", &"<redacted>")
            .finish()
    }
}

fn curve_name(c: Curve) -> &'static str {
    match c {
        Curve::P256 => "P-256",
        Curve::P384 => "P-384",
        Curve::X25519 => "X25519",
    }
}

/// The curve of an `EC`/`OKP` JWK or `epk`.
pub(crate) fn curve_of(kty: &str, crv: Option<&str>) -> Option<Curve> {
    match (kty, crv) {
        ("EC", Some("P-256")) => Some(Curve::P256),
        ("EC", Some("P-384")) => Some(Curve::P384),
        ("OKP", Some("X25519")) => Some(Curve::X25519),
        _ => None,
    }
}

/// The public point of an `EC`/`OKP` JWK-shaped object, checked for length.
pub(crate) fn point_of(curve: Curve, x: &[u8], y: Option<&[u8]>) -> Option<Vec<u8>> {
    let len = curve.len();
    match (curve, y) {
        (Curve::X25519, None) if x.len() == len => Some(x.to_vec()),
        (Curve::P256 | Curve::P384, Some(y)) if x.len() == len && y.len() == len => {
            let mut point = Vec::with_capacity(1 + 2 * len);
            point.push(4);
            point.extend_from_slice(x);
            point.extend_from_slice(y);
            Some(point)
        }
        _ => None,
    }
}

/// Splits a point into JWK `x` and `y`.
pub(crate) fn xy(curve: Curve, point: &[u8]) -> (String, Option<String>) {
    match curve {
        Curve::X25519 => (b64::encode(point), None),
        _ => {
            let len = curve.len();
            let body = point.get(1..).unwrap_or_default();
            let (x, y) = body.split_at(len.min(body.len()));
            (b64::encode(x), Some(b64::encode(y)))
        }
    }
}

fn octets(v: &Option<String>, name: &'static str) -> Result<Vec<u8>> {
    let text = v.as_deref().ok_or(Error::InvalidKey(name))?;
    b64::decode(text.as_bytes(), name).map_err(|_| Error::InvalidKey(name))
}

fn secret(v: &Option<String>, name: &'static str) -> Result<Zeroizing<Vec<u8>>> {
    octets(v, name).map(Zeroizing::new)
}

/// The algorithm of a JWE JWK: its `alg` member (an `enc` name on an `oct`
/// key, as in RFC 7520 §5.6, means `dir`), else `fallback`; both present
/// must agree. `use` must be `enc` and `key_ops` must allow encryption.
fn jwk_algorithm(jwk: &Jwk, fallback: Option<KeyAlgorithm>) -> Result<KeyAlgorithm> {
    let declared = match jwk.alg.as_deref() {
        None => None,
        Some(a) => Some(match a.parse::<KeyAlgorithm>() {
            Ok(alg) => alg,
            Err(e) if jwk.kty == "oct" => {
                a.parse::<super::ContentAlgorithm>().map_err(|_| e)?;
                KeyAlgorithm::Dir
            }
            Err(e) => return Err(e),
        }),
    };
    let alg = match (declared, fallback) {
        (Some(d), Some(f)) if d != f => return Err(Error::AlgorithmMismatch),
        (Some(a), _) | (None, Some(a)) => a,
        (None, None) => return Err(Error::InvalidKey("JWK names no algorithm")),
    };
    if jwk.key_use.as_deref().is_some_and(|u| u != "enc") {
        return Err(Error::InvalidKey("JWK use is not enc"));
    }
    const OPS: [&str; 6] = [
        "encrypt",
        "decrypt",
        "wrapKey",
        "unwrapKey",
        "deriveKey",
        "deriveBits",
    ];
    if let Some(ops) = &jwk.key_ops {
        if !ops.iter().any(|op| OPS.contains(&op.as_str())) {
            return Err(Error::InvalidKey("JWK key_ops allow no encryption"));
        }
    }
    let kty_ok = match alg {
        KeyAlgorithm::RsaOaep256 => jwk.kty == "RSA",
        a if a.is_ecdh() => curve_of(&jwk.kty, jwk.crv.as_deref()).is_some(),
        _ => jwk.kty == "oct",
    };
    if !kty_ok {
        return Err(Error::InvalidKey(
            "JWK kty or crv does not fit the algorithm",
        ));
    }
    Ok(alg)
}

fn check_secret(alg: KeyAlgorithm, len: usize) -> Result<()> {
    let ok = match alg.kw_len() {
        Some(kw) if !alg.is_ecdh() => len == kw,
        _ if alg == KeyAlgorithm::Dir => matches!(len, 16 | 32 | 64),
        _ => false,
    };
    if ok {
        Ok(())
    } else {
        Err(Error::InvalidKey(
            "secret length does not fit the algorithm",
        ))
    }
}

impl EncryptionKey {
    /// A shared secret for `A128KW` (16 bytes), `A256KW` (32) or `dir` (the
    /// content key: 16, 32 or 64 bytes, checked against `enc` when used).
    pub fn from_secret(alg: KeyAlgorithm, secret: &[u8]) -> Result<Self> {
        check_secret(alg, secret.len())?;
        Ok(EncryptionKey {
            alg,
            kid: None,
            recipient: Recipient::Secret(Arc::new(Zeroizing::new(secret.to_vec()))),
        })
    }

    /// A key from a JWK: a public `RSA`, `EC` (P-256, P-384) or `OKP`
    /// (X25519) key, or an `oct` secret. `alg` is used when the JWK has no
    /// `alg` member; when both are present they must agree.
    pub fn from_jwk(jwk: &Jwk, alg: Option<KeyAlgorithm>) -> Result<Self> {
        let alg = jwk_algorithm(jwk, alg)?;
        let recipient = match alg {
            KeyAlgorithm::RsaOaep256 => {
                let (n, e) = (octets(&jwk.n, "n")?, octets(&jwk.e, "e")?);
                let key = Arc::new(RsaOaepPublic::from_components(&n, &e)?);
                Recipient::Rsa { key, n, e }
            }
            a if a.is_ecdh() => {
                let curve = curve_of(&jwk.kty, jwk.crv.as_deref())
                    .ok_or(Error::InvalidKey("JWK curve is not supported"))?;
                let x = octets(&jwk.x, "x")?;
                let y = match curve {
                    Curve::X25519 => None,
                    _ => Some(octets(&jwk.y, "y")?),
                };
                let point = point_of(curve, &x, y.as_deref())
                    .ok_or(Error::InvalidKey("JWK coordinate has the wrong length"))?;
                p::check_public(curve, &point)?;
                Recipient::Ecdh { curve, point }
            }
            _ => {
                let key = Self::from_secret(alg, &secret(&jwk.k, "k")?)?;
                return Ok(key.default_kid(jwk));
            }
        };
        Ok(EncryptionKey {
            alg,
            kid: None,
            recipient,
        }
        .default_kid(jwk))
    }

    /// Takes the JWK's `kid`; without one, an asymmetric key's `kid` is its
    /// RFC 7638 thumbprint and a shared secret has none.
    fn default_kid(mut self, jwk: &Jwk) -> Self {
        self.kid = match (&jwk.kid, &self.recipient) {
            (Some(k), _) => Some(k.as_str().into()),
            (None, Recipient::Secret(_)) => None,
            (None, _) => self
                .to_jwk()
                .and_then(|j| j.thumbprint())
                .ok()
                .map(Into::into),
        };
        self
    }

    /// Replaces the `kid` written into the header.
    pub fn with_kid(mut self, kid: impl Into<String>) -> Self {
        self.kid = Some(kid.into().into());
        self
    }

    /// The key management algorithm.
    pub fn algorithm(&self) -> KeyAlgorithm {
        self.alg
    }

    /// The key id written into the header, if any.
    pub fn kid(&self) -> Option<&str> {
        self.kid.as_deref()
    }

    /// The JWK, with `alg`, `use: "enc"` and `kid`. For a shared secret it
    /// carries `k`, **the secret itself**.
    pub fn to_jwk(&self) -> Result<Jwk> {
        let mut jwk = match &self.recipient {
            Recipient::Rsa { n, e, .. } => Jwk {
                kty: "RSA".into(),
                n: Some(b64::encode(n)),
                e: Some(b64::encode(e)),
                ..Jwk::default()
            },
            Recipient::Ecdh { curve, point } => {
                let (x, y) = xy(*curve, point);
                Jwk {
                    kty: if *curve == Curve::X25519 { "OKP" } else { "EC" }.into(),
                    crv: Some(curve_name(*curve).into()),
                    x: Some(x),
                    y,
                    ..Jwk::default()
                }
            }
            Recipient::Secret(k) => Jwk {
                kty: "oct".into(),
                k: Some(b64::encode(k)),
                ..Jwk::default()
            },
        };
        jwk.alg = Some(self.alg.as_str().into());
        jwk.key_use = Some("enc".into());
        jwk.kid = self.kid.as_deref().map(Into::into);
        Ok(jwk)
    }
}

impl DecryptionKey {
    fn assemble(private: Private, public: EncryptionKey, jwk: Option<&Jwk>) -> Self {
        let public = match jwk {
            Some(jwk) => public.default_kid(jwk),
            None => public.default_kid(&Jwk::default()),
        };
        DecryptionKey { private, public }
    }

    /// A fresh key for `alg`: RSA 2048 bits, an ECDH key on P-256, or a
    /// random AES key wrap key. `dir` keys come from [`Self::from_secret`],
    /// since their length depends on the content encryption.
    pub fn generate(alg: KeyAlgorithm) -> Result<Self> {
        Self::generate_on(alg, None)
    }

    /// A fresh key for an ECDH-ES algorithm on a given JWK curve (`P-256`,
    /// `P-384` or `X25519`); other algorithms are refused.
    pub fn generate_ecdh(alg: KeyAlgorithm, crv: &str) -> Result<Self> {
        let curve = curve_of(if crv == "X25519" { "OKP" } else { "EC" }, Some(crv))
            .ok_or(Error::InvalidKey("curve is not supported"))?;
        Self::generate_on(alg, Some(curve))
    }

    fn generate_on(alg: KeyAlgorithm, curve: Option<Curve>) -> Result<Self> {
        match alg {
            KeyAlgorithm::RsaOaep256 if curve.is_none() => {
                let (key, n, e, der) = RsaOaepPrivate::generate()?;
                let public = Recipient::Rsa {
                    key: Arc::new(key.public()?),
                    n,
                    e,
                };
                Ok(Self::assemble(
                    Private::Rsa(key, der),
                    EncryptionKey {
                        alg,
                        kid: None,
                        recipient: public,
                    },
                    None,
                ))
            }
            a if a.is_ecdh() => {
                let key = EcdhPrivate::generate(curve.unwrap_or(Curve::P256))?;
                let recipient = Recipient::Ecdh {
                    curve: key.curve(),
                    point: key.public()?,
                };
                Ok(Self::assemble(
                    Private::Ecdh(key),
                    EncryptionKey {
                        alg,
                        kid: None,
                        recipient,
                    },
                    None,
                ))
            }
            KeyAlgorithm::A128Kw | KeyAlgorithm::A256Kw if curve.is_none() => {
                let secret = crate::provider::random(alg.kw_len().unwrap_or(32))?;
                Self::from_secret(alg, &secret)
            }
            _ => Err(Error::InvalidKey("cannot generate a key of this kind")),
        }
    }

    /// A shared secret (see [`EncryptionKey::from_secret`]).
    pub fn from_secret(alg: KeyAlgorithm, secret: &[u8]) -> Result<Self> {
        let public = EncryptionKey::from_secret(alg, secret)?;
        let shared = match &public.recipient {
            Recipient::Secret(s) => s.clone(),
            _ => return Err(Error::InvalidKey("not a secret")),
        };
        Ok(DecryptionKey {
            private: Private::Secret(shared),
            public,
        })
    }

    /// A private key from a private JWK (`RSA` with all CRT members, `EC`
    /// or `OKP` with `d`, or `oct`). `alg` as in [`EncryptionKey::from_jwk`].
    pub fn from_jwk(jwk: &Jwk, alg: Option<KeyAlgorithm>) -> Result<Self> {
        let public = EncryptionKey::from_jwk(jwk, alg)?;
        let private = match &public.recipient {
            Recipient::Secret(s) => Private::Secret(s.clone()),
            Recipient::Rsa { n, e, .. } => {
                let s = |v, name| secret(v, name);
                let (d, pp, q) = (s(&jwk.d, "d")?, s(&jwk.p, "p")?, s(&jwk.q, "q")?);
                let (dp, dq, qi) = (s(&jwk.dp, "dp")?, s(&jwk.dq, "dq")?, s(&jwk.qi, "qi")?);
                let (key, der) =
                    RsaOaepPrivate::from_components([n, e, &d, &pp, &q, &dp, &dq, &qi])?;
                Private::Rsa(key, der)
            }
            Recipient::Ecdh { curve, point } => {
                let d = secret(&jwk.d, "d")?;
                Private::Ecdh(EcdhPrivate::from_scalar(*curve, &d, point)?)
            }
        };
        Ok(DecryptionKey { private, public })
    }

    /// Replaces the `kid`.
    pub fn with_kid(mut self, kid: impl Into<String>) -> Self {
        self.public = self.public.with_kid(kid);
        self
    }

    /// The key management algorithm this key owns.
    pub fn algorithm(&self) -> KeyAlgorithm {
        self.public.alg
    }

    /// The key id, if any.
    pub fn kid(&self) -> Option<&str> {
        self.public.kid.as_deref()
    }

    /// The key that encrypts to this one (for a shared secret, the same secret).
    pub fn encryption_key(&self) -> EncryptionKey {
        self.public.clone()
    }

    /// The private JWK, with `alg`, `use: "enc"` and `kid`.
    pub fn to_private_jwk(&self) -> Result<Jwk> {
        let mut jwk = self.public.to_jwk()?;
        match &self.private {
            Private::Secret(_) => {}
            Private::Ecdh(k) => jwk.d = Some(b64::encode(&k.scalar()?)),
            Private::Rsa(_, der) => {
                let r = crate::der::rsa_private_from_pkcs8(der)?;
                jwk.d = Some(b64::encode(&r.d));
                jwk.p = Some(b64::encode(&r.p));
                jwk.q = Some(b64::encode(&r.q));
                jwk.dp = Some(b64::encode(&r.dp));
                jwk.dq = Some(b64::encode(&r.dq));
                jwk.qi = Some(b64::encode(&r.qi));
            }
        }
        Ok(jwk)
    }
}
