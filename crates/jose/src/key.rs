//! Typed keys. A key owns its algorithm; nothing in a token can change it.

use crate::alg::{Algorithm, Family};
use crate::error::{Error, Result};
use crate::header::{known_header, Header, KnownHeader};
use crate::jwk::{Jwk, Jwks};
use crate::pem;
use crate::provider::{PrivateKey, PublicKey, PublicParams};
use std::fmt;
use std::sync::Arc;
use zeroize::Zeroizing;

/// A key that signs, bound to one algorithm and one `kid`.
///
/// `Debug` shows only the algorithm and `kid`.
pub struct SigningKey {
    alg: Algorithm,
    private: PrivateKey,
    public: VerifyingKey,
}

/// A key that verifies, bound to one algorithm and one `kid`.
///
/// HMAC verification keys hold a secret; `Debug` never shows it.
#[derive(Clone)]
pub struct VerifyingKey {
    alg: Algorithm,
    kid: Arc<str>,
    key: Arc<PublicKey>,
    params: Option<PublicParams>,
    /// The header [`crate::encode`] writes with this key for an access token.
    known: Option<Arc<KnownHeader>>,
}

impl fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SigningKey")
            .field("alg", &self.alg)
            .field("kid", &self.kid())
            .field("key", &"<redacted>")
            .finish()
    }
}

impl fmt::Debug for VerifyingKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("VerifyingKey");
        d.field("alg", &self.alg).field("kid", &self.kid);
        if self.alg.family() == Family::Hmac {
            d.field("key", &"<redacted>");
        }
        d.finish()
    }
}

fn thumbprint_of(
    alg: Algorithm,
    params: Option<&PublicParams>,
    private: Option<&PrivateKey>,
) -> Result<String> {
    match params {
        Some(p) => Jwk::from_public(p).thumbprint(),
        None => {
            // HMAC: the RFC 7638 thumbprint of the `oct` JWK.
            let p = private
                .ok_or(Error::InvalidKey("HMAC key without secret"))?
                .private_params()?;
            let mut jwk = Jwk::default();
            jwk.add_private(&p);
            let _ = alg;
            jwk.thumbprint()
        }
    }
}

impl SigningKey {
    fn assemble(alg: Algorithm, private: PrivateKey, kid: Option<String>) -> Result<Self> {
        let (key, params) = private.public_key(alg)?;
        let kid = match kid {
            Some(k) => k,
            None => thumbprint_of(alg, params.as_ref(), Some(&private))?,
        };
        Ok(SigningKey {
            alg,
            private,
            public: VerifyingKey {
                alg,
                known: known_header(alg, &kid),
                kid: kid.into(),
                key: Arc::new(key),
                params,
            },
        })
    }

    /// Generates a fresh key (RSA: 2048 bits; HMAC: a random secret of the
    /// hash length). Its `kid` is its RFC 7638 thumbprint.
    pub fn generate(alg: Algorithm) -> Result<Self> {
        Self::assemble(alg, PrivateKey::generate(alg)?, None)
    }

    /// An HMAC key from a secret at least as long as the hash output. Secrets
    /// that look like public keys (PEM, JWK JSON, or DER public keys) are refused.
    pub fn from_hmac_secret(alg: Algorithm, secret: &[u8]) -> Result<Self> {
        Self::assemble(
            alg,
            PrivateKey::hmac(alg, Zeroizing::new(secret.to_vec()))?,
            None,
        )
    }

    /// A private key from DER: PKCS#8, PKCS#1 (`RSAPrivateKey`) or SEC1 (`ECPrivateKey`).
    pub fn from_der(alg: Algorithm, der: &[u8]) -> Result<Self> {
        Self::assemble(alg, PrivateKey::from_der(alg, der)?, None)
    }

    /// A private key from PEM (`PRIVATE KEY`, `RSA PRIVATE KEY` or `EC PRIVATE KEY`).
    pub fn from_pem(alg: Algorithm, pem_text: &str) -> Result<Self> {
        let (label, der) = pem::decode(pem_text)?;
        match label.as_str() {
            "PRIVATE KEY" | "RSA PRIVATE KEY" | "EC PRIVATE KEY" => Self::from_der(alg, &der),
            _ => Err(Error::InvalidKey("PEM is not a private key")),
        }
    }

    /// A private key from a private JWK. `alg` is used when the JWK has no `alg`
    /// member; when both are present they must agree. The JWK's `kid` is kept.
    pub fn from_jwk(jwk: &Jwk, alg: Option<Algorithm>) -> Result<Self> {
        let alg = jwk.algorithm(alg)?;
        let private = match alg.family() {
            Family::Hmac => match jwk.private_params(alg)? {
                crate::provider::PrivateParams::Secret(s) => PrivateKey::hmac(alg, s)?,
                _ => return Err(Error::InvalidKey("oct JWK without k")),
            },
            _ => PrivateKey::from_params(alg, &jwk.public_params(alg)?, &jwk.private_params(alg)?)?,
        };
        Self::assemble(alg, private, jwk.kid.clone())
    }

    /// Replaces the `kid`.
    pub fn with_kid(mut self, kid: impl Into<String>) -> Self {
        self.public = self.public.with_kid(kid);
        self
    }

    /// The algorithm this key signs with.
    pub fn algorithm(&self) -> Algorithm {
        self.alg
    }

    /// The key id.
    pub fn kid(&self) -> &str {
        &self.public.kid
    }

    /// The matching verification key (for HMAC, it holds the same secret).
    pub fn verifying_key(&self) -> &VerifyingKey {
        &self.public
    }

    /// Signs raw bytes (the JWS signing input).
    pub fn sign(&self, msg: &[u8]) -> Result<Vec<u8>> {
        self.private.sign(self.alg, msg)
    }

    /// PKCS#8 DER (asymmetric keys only).
    pub fn to_pkcs8_der(&self) -> Result<Zeroizing<Vec<u8>>> {
        self.private.to_pkcs8()
    }

    /// PKCS#8 PEM (asymmetric keys only).
    pub fn to_pkcs8_pem(&self) -> Result<Zeroizing<String>> {
        Ok(Zeroizing::new(pem::encode(
            "PRIVATE KEY",
            &self.to_pkcs8_der()?,
        )))
    }

    /// The private JWK, with `kid`, `alg` and `use`.
    pub fn to_private_jwk(&self) -> Result<Jwk> {
        let mut jwk = match &self.public.params {
            Some(p) => Jwk::from_public(p),
            None => Jwk::default(),
        };
        jwk.add_private(&self.private.private_params()?);
        jwk.kid = Some(self.kid().to_owned());
        jwk.alg = Some(self.alg.as_str().to_owned());
        jwk.key_use = Some("sig".into());
        Ok(jwk)
    }
}

impl VerifyingKey {
    fn public(
        alg: Algorithm,
        key: PublicKey,
        params: PublicParams,
        kid: Option<String>,
    ) -> Result<Self> {
        let kid = match kid {
            Some(k) => k,
            None => Jwk::from_public(&params).thumbprint()?,
        };
        Ok(VerifyingKey {
            alg,
            known: known_header(alg, &kid),
            kid: kid.into(),
            key: Arc::new(key),
            params: Some(params),
        })
    }

    /// An HMAC verification key. Secrets shorter than the hash output, and
    /// secrets that look like public keys, are refused.
    pub fn from_hmac_secret(alg: Algorithm, secret: &[u8]) -> Result<Self> {
        SigningKey::from_hmac_secret(alg, secret).map(|k| k.public)
    }

    /// A public key from DER (SPKI; PKCS#1 `RSAPublicKey` for RSA). Never HMAC.
    pub fn from_der(alg: Algorithm, der: &[u8]) -> Result<Self> {
        let (key, params) = PublicKey::from_der(alg, der)?;
        Self::public(alg, key, params, None)
    }

    /// A public key from PEM (`PUBLIC KEY` or `RSA PUBLIC KEY`). Never HMAC.
    pub fn from_pem(alg: Algorithm, pem_text: &str) -> Result<Self> {
        let (label, der) = pem::decode(pem_text)?;
        match label.as_str() {
            "PUBLIC KEY" | "RSA PUBLIC KEY" => Self::from_der(alg, &der),
            _ => Err(Error::InvalidKey("PEM is not a public key")),
        }
    }

    /// A public key from a JWK. `alg` is used when the JWK has no `alg`
    /// member; when both are present they must agree. Symmetric (`oct`) JWKs
    /// are refused here: use [`VerifyingKey::from_hmac_secret`] on purpose.
    pub fn from_jwk(jwk: &Jwk, alg: Option<Algorithm>) -> Result<Self> {
        let alg = jwk.algorithm(alg)?;
        if alg.family() == Family::Hmac {
            return Err(Error::InvalidKey("symmetric JWKs are not public keys"));
        }
        let params = jwk.public_params(alg)?;
        let key = PublicKey::from_params(alg, &params)?;
        Self::public(alg, key, params, jwk.kid.clone())
    }

    /// Replaces the `kid`.
    pub fn with_kid(mut self, kid: impl Into<String>) -> Self {
        let kid: String = kid.into();
        self.known = known_header(self.alg, &kid);
        self.kid = kid.into();
        self
    }

    /// The algorithm this key verifies.
    pub fn algorithm(&self) -> Algorithm {
        self.alg
    }

    /// The key id.
    pub fn kid(&self) -> &str {
        &self.kid
    }

    /// The header `encode` writes with this key for an access token, as
    /// base64url text and parsed.
    pub(crate) fn known_header(&self) -> Option<&KnownHeader> {
        self.known.as_deref()
    }

    /// Verifies a raw signature over raw bytes with this key's algorithm.
    #[inline]
    pub fn verify(&self, msg: &[u8], sig: &[u8]) -> Result<()> {
        self.key.verify(msg, sig)
    }

    /// The public JWK with `kid`, `alg` and `use: "sig"`. HMAC keys have none.
    pub fn to_jwk(&self) -> Result<Jwk> {
        let params = self
            .params
            .as_ref()
            .ok_or(Error::InvalidKey("HMAC keys have no public form"))?;
        let mut jwk = Jwk::from_public(params);
        jwk.kid = Some(self.kid.to_string());
        jwk.alg = Some(self.alg.as_str().to_owned());
        jwk.key_use = Some("sig".into());
        Ok(jwk)
    }

    /// The RFC 7638 thumbprint of the public key.
    pub fn thumbprint(&self) -> Result<String> {
        let params = self
            .params
            .as_ref()
            .ok_or(Error::InvalidKey("HMAC keys have no public form"))?;
        Jwk::from_public(params).thumbprint()
    }

    /// SPKI DER.
    pub fn to_spki_der(&self) -> Result<Vec<u8>> {
        self.key.to_spki()
    }

    /// SPKI PEM (`PUBLIC KEY`).
    pub fn to_spki_pem(&self) -> Result<String> {
        Ok(pem::encode("PUBLIC KEY", &self.to_spki_der()?))
    }
}

/// Verification keys looked up by `kid`.
#[derive(Clone, Debug, Default)]
pub struct KeySet {
    keys: Vec<VerifyingKey>,
}

impl KeySet {
    /// An empty set.
    pub fn new() -> Self {
        KeySet::default()
    }

    /// Adds a key. A key with the same `kid` is replaced.
    pub fn insert(&mut self, key: VerifyingKey) {
        self.keys.retain(|k| k.kid != key.kid);
        self.keys.push(key);
    }

    /// The public keys of a JWKS that this library can use. Keys without a
    /// usable algorithm (RSA keys need an `alg` member), keys for other uses,
    /// and symmetric keys are skipped.
    pub fn from_jwks(jwks: &Jwks) -> Self {
        let mut set = KeySet::new();
        for jwk in &jwks.keys {
            if let Ok(k) = VerifyingKey::from_jwk(jwk, None) {
                set.insert(k);
            }
        }
        set
    }

    /// The public JWKS of the asymmetric keys in this set.
    pub fn to_jwks(&self) -> Jwks {
        Jwks {
            keys: self.keys.iter().filter_map(|k| k.to_jwk().ok()).collect(),
        }
    }

    /// The key with this `kid`.
    pub fn get(&self, kid: &str) -> Option<&VerifyingKey> {
        self.keys.iter().find(|k| &*k.kid == kid)
    }

    /// The parsed header of a key in this set whose access-token header is
    /// exactly `segment` (the first segment of a compact JWS).
    pub(crate) fn known_header(&self, segment: &str) -> Option<&Header> {
        self.keys.iter().find_map(|k| {
            k.known_header()
                .filter(|known| known.b64 == segment)
                .map(|known| &known.header)
        })
    }

    /// The key for a token: by `kid`, or the only key when the token has none.
    pub fn select(&self, kid: Option<&str>) -> Result<&VerifyingKey> {
        match kid {
            Some(kid) => self.get(kid),
            None if self.keys.len() == 1 => self.keys.first(),
            None => None,
        }
        .ok_or(Error::UnknownKey)
    }

    /// Number of keys.
    pub fn len(&self) -> usize {
        self.keys.len()
    }

    /// True when the set has no keys.
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// Iterates over the keys.
    pub fn iter(&self) -> impl Iterator<Item = &VerifyingKey> {
        self.keys.iter()
    }
}

impl FromIterator<VerifyingKey> for KeySet {
    fn from_iter<I: IntoIterator<Item = VerifyingKey>>(iter: I) -> Self {
        let mut set = KeySet::new();
        for k in iter {
            set.insert(k);
        }
        set
    }
}
