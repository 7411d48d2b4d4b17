//! JSON Web Keys (RFC 7517), key sets, and thumbprints (RFC 7638).

use crate::alg::{Algorithm, Family};
use crate::b64;
use crate::error::{Error, Result};
use crate::json;
use crate::provider::{PrivateParams, PublicParams};
use serde::{Deserialize, Serialize};
use std::fmt;

/// A JSON Web Key. Members this library does not use are dropped on parse.
///
/// `Debug` never prints private members (`d`, `p`, `q`, `dp`, `dq`, `qi`, `k`).
#[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Jwk {
    /// Key type: `RSA`, `EC`, `OKP` or `oct`.
    pub kty: String,
    /// Intended use; `sig` for signing keys.
    #[serde(rename = "use", default, skip_serializing_if = "Option::is_none")]
    pub key_use: Option<String>,
    /// Permitted operations.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key_ops: Option<Vec<String>>,
    /// The algorithm this key is for. Kept as text so that a key set with one
    /// unknown algorithm still parses; the key is then skipped.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alg: Option<String>,
    /// Key id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kid: Option<String>,
    /// Curve (`EC`, `OKP`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub crv: Option<String>,
    /// X coordinate (`EC`) or public key (`OKP`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub x: Option<String>,
    /// Y coordinate (`EC`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub y: Option<String>,
    /// RSA modulus.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub n: Option<String>,
    /// RSA public exponent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub e: Option<String>,
    /// Private scalar (`EC`, `OKP`) or private exponent (`RSA`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub d: Option<String>,
    /// RSA first prime.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub p: Option<String>,
    /// RSA second prime.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub q: Option<String>,
    /// RSA first CRT exponent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dp: Option<String>,
    /// RSA second CRT exponent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dq: Option<String>,
    /// RSA CRT coefficient.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub qi: Option<String>,
    /// Symmetric key value (`oct`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub k: Option<String>,
}

impl fmt::Debug for Jwk {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let redact = |v: &Option<String>| v.as_ref().map(|_| "<redacted>");
        f.debug_struct("Jwk")
            .field("kty", &self.kty)
            .field("use", &self.key_use)
            .field("alg", &self.alg)
            .field("kid", &self.kid)
            .field("crv", &self.crv)
            .field("x", &self.x)
            .field("y", &self.y)
            .field("n", &self.n)
            .field("e", &self.e)
            .field("d", &redact(&self.d))
            .field("p", &redact(&self.p))
            .field("q", &redact(&self.q))
            .field("dp", &redact(&self.dp))
            .field("dq", &redact(&self.dq))
            .field("qi", &redact(&self.qi))
            .field("k", &redact(&self.k))
            .finish()
    }
}

fn member<'a>(v: &'a Option<String>, name: &'static str) -> Result<&'a str> {
    v.as_deref().ok_or(Error::InvalidKey(name))
}

fn octets(v: &Option<String>, name: &'static str) -> Result<Vec<u8>> {
    b64::decode(member(v, name)?.as_bytes(), name).map_err(|_| Error::InvalidKey(name))
}

fn secret(v: &Option<String>, name: &'static str) -> Result<zeroize::Zeroizing<Vec<u8>>> {
    octets(v, name).map(zeroize::Zeroizing::new)
}

impl Jwk {
    /// Parses one JWK strictly (duplicate members are refused).
    pub fn from_json(text: &str) -> Result<Self> {
        json::check(text.as_bytes(), 32)?;
        serde_json::from_str(text).map_err(|_| Error::InvalidKey("JWK does not parse"))
    }

    /// Serializes to JSON.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }

    /// True if this JWK carries private or secret material.
    pub fn is_private(&self) -> bool {
        self.d.is_some() || self.k.is_some()
    }

    /// The algorithm this key is for: its `alg` member, else `fallback`, else
    /// what its curve implies (`P-256` → ES256, `P-384` → ES384, `Ed25519` →
    /// EdDSA). An `alg` member that disagrees with `fallback` is an error, as
    /// are a `use` other than `sig` and `key_ops` naming neither `sign` nor
    /// `verify`.
    pub fn algorithm(&self, fallback: Option<Algorithm>) -> Result<Algorithm> {
        let declared = match self.alg.as_deref() {
            Some(a) => Some(a.parse::<Algorithm>()?),
            None => None,
        };
        let alg = match (declared, fallback) {
            (Some(d), Some(f)) if !d.accepts(f) => return Err(Error::AlgorithmMismatch),
            (Some(d), _) => d,
            (None, Some(f)) => f,
            (None, None) => match (self.kty.as_str(), self.crv.as_deref()) {
                ("EC", Some("P-256")) => Algorithm::ES256,
                ("EC", Some("P-384")) => Algorithm::ES384,
                ("OKP", Some("Ed25519")) => Algorithm::EdDSA,
                _ => return Err(Error::InvalidKey("JWK names no algorithm")),
            },
        };
        let kty_ok = matches!(
            (alg.family(), self.kty.as_str()),
            (Family::Hmac, "oct")
                | (Family::Rsa, "RSA")
                | (Family::Ec, "EC")
                | (Family::Okp, "OKP")
        );
        if !kty_ok {
            return Err(Error::InvalidKey("JWK kty does not fit the algorithm"));
        }
        if let Some(u) = &self.key_use {
            if u != "sig" {
                return Err(Error::InvalidKey("JWK use is not sig"));
            }
        }
        // RFC 7517 §4.3: a key whose operations exclude both signing and
        // verifying (say `["encrypt"]`) is not a signature key.
        if let Some(ops) = &self.key_ops {
            if !ops.iter().any(|op| op == "sign" || op == "verify") {
                return Err(Error::InvalidKey(
                    "JWK key_ops allow neither sign nor verify",
                ));
            }
        }
        Ok(alg)
    }

    pub(crate) fn public_params(&self, alg: Algorithm) -> Result<PublicParams> {
        match alg.family() {
            Family::Rsa => Ok(PublicParams::Rsa {
                n: octets(&self.n, "n")?,
                e: octets(&self.e, "e")?,
            }),
            Family::Ec => {
                let crv = member(&self.crv, "crv")?;
                if Some(crv) != alg.curve() {
                    return Err(Error::InvalidKey("JWK crv does not fit the algorithm"));
                }
                Ok(PublicParams::Ec {
                    crv: alg.curve().unwrap_or("P-256"),
                    x: octets(&self.x, "x")?,
                    y: octets(&self.y, "y")?,
                })
            }
            Family::Okp => {
                if self.crv.as_deref() != Some("Ed25519") {
                    return Err(Error::InvalidKey("JWK crv does not fit the algorithm"));
                }
                Ok(PublicParams::Okp {
                    x: octets(&self.x, "x")?,
                })
            }
            Family::Hmac => Err(Error::InvalidKey("symmetric JWK has no public parameters")),
        }
    }

    pub(crate) fn private_params(&self, alg: Algorithm) -> Result<PrivateParams> {
        match alg.family() {
            Family::Hmac => secret(&self.k, "k").map(PrivateParams::Secret),
            Family::Rsa => Ok(PrivateParams::Rsa(crate::der::RsaPrivate {
                d: secret(&self.d, "d")?,
                p: secret(&self.p, "p")?,
                q: secret(&self.q, "q")?,
                dp: secret(&self.dp, "dp")?,
                dq: secret(&self.dq, "dq")?,
                qi: secret(&self.qi, "qi")?,
            })),
            Family::Ec | Family::Okp => secret(&self.d, "d").map(PrivateParams::Scalar),
        }
    }

    pub(crate) fn from_public(params: &PublicParams) -> Jwk {
        match params {
            PublicParams::Rsa { n, e } => Jwk {
                kty: "RSA".into(),
                n: Some(b64::encode(n)),
                e: Some(b64::encode(e)),
                ..Jwk::default()
            },
            PublicParams::Ec { crv, x, y } => Jwk {
                kty: "EC".into(),
                crv: Some((*crv).into()),
                x: Some(b64::encode(x)),
                y: Some(b64::encode(y)),
                ..Jwk::default()
            },
            PublicParams::Okp { x } => Jwk {
                kty: "OKP".into(),
                crv: Some("Ed25519".into()),
                x: Some(b64::encode(x)),
                ..Jwk::default()
            },
        }
    }

    pub(crate) fn add_private(&mut self, params: &PrivateParams) {
        match params {
            PrivateParams::Rsa(r) => {
                self.d = Some(b64::encode(&r.d));
                self.p = Some(b64::encode(&r.p));
                self.q = Some(b64::encode(&r.q));
                self.dp = Some(b64::encode(&r.dp));
                self.dq = Some(b64::encode(&r.dq));
                self.qi = Some(b64::encode(&r.qi));
            }
            PrivateParams::Scalar(d) => self.d = Some(b64::encode(d)),
            PrivateParams::Secret(k) => {
                self.kty = "oct".into();
                self.k = Some(b64::encode(k));
            }
        }
    }

    /// The RFC 7638 SHA-256 thumbprint, base64url-encoded.
    pub fn thumbprint(&self) -> Result<String> {
        let s = |v: &Option<String>, n: &'static str| -> Result<String> {
            serde_json::to_string(member(v, n)?).map_err(|_| Error::InvalidKey(n))
        };
        let canonical = match self.kty.as_str() {
            "RSA" => format!(
                r#"{{"e":{},"kty":"RSA","n":{}}}"#,
                s(&self.e, "e")?,
                s(&self.n, "n")?
            ),
            "EC" => format!(
                r#"{{"crv":{},"kty":"EC","x":{},"y":{}}}"#,
                s(&self.crv, "crv")?,
                s(&self.x, "x")?,
                s(&self.y, "y")?
            ),
            "OKP" => format!(
                r#"{{"crv":{},"kty":"OKP","x":{}}}"#,
                s(&self.crv, "crv")?,
                s(&self.x, "x")?
            ),
            "oct" => format!(r#"{{"k":{},"kty":"oct"}}"#, s(&self.k, "k")?),
            _ => return Err(Error::InvalidKey("unknown kty")),
        };
        Ok(b64::encode(&crate::provider::sha256(canonical.as_bytes())))
    }
}

/// A JSON Web Key Set (RFC 7517 §5).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Jwks {
    /// The keys.
    pub keys: Vec<Jwk>,
}

impl Jwks {
    /// Parses a key set strictly (duplicate members are refused).
    pub fn from_json(text: &str) -> Result<Self> {
        json::check(text.as_bytes(), 32)?;
        serde_json::from_str(text).map_err(|_| Error::InvalidKey("JWKS does not parse"))
    }

    /// Serializes to JSON.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }

    /// The first key with this `kid`.
    pub fn find(&self, kid: &str) -> Option<&Jwk> {
        self.keys.iter().find(|k| k.kid.as_deref() == Some(kid))
    }
}
