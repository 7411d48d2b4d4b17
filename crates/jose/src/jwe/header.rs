//! The JWE protected header: strict parsing (the same JSON rules as a JWS
//! header) and the header this crate writes.

use super::{ContentAlgorithm, KeyAlgorithm};
use crate::b64;
use crate::error::{Error, JweError, Result};
use crate::json::{self, CowStr, Fields, Strict};
use serde::de::MapAccess;
use serde::{Deserialize, Serialize};

/// An ephemeral public key (`epk`) as the header carries it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Epk {
    pub(crate) kty: String,
    pub(crate) crv: String,
    pub(crate) x: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) y: Option<String>,
}

/// A parsed JWE protected header.
///
/// It is readable before decryption (a caller may want the `kid`), but
/// nothing in it chooses a key or an algorithm: `alg` and `enc` must equal
/// what the key and the caller allow. `jwk`, `jku`, `x5u` and `x5c` are
/// noted, never used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JweHeader {
    alg: KeyAlgorithm,
    enc: ContentAlgorithm,
    kid: Option<String>,
    typ: Option<String>,
    cty: Option<String>,
    pub(crate) epk: Option<Epk>,
    pub(crate) apu: Option<Vec<u8>>,
    pub(crate) apv: Option<Vec<u8>>,
    embedded_key: bool,
}

impl JweHeader {
    /// The key management algorithm the token claims.
    pub fn alg(&self) -> KeyAlgorithm {
        self.alg
    }

    /// The content encryption algorithm the token claims.
    pub fn enc(&self) -> ContentAlgorithm {
        self.enc
    }

    /// The key id, if any.
    pub fn kid(&self) -> Option<&str> {
        self.kid.as_deref()
    }

    /// The `typ`, if any.
    pub fn typ(&self) -> Option<&str> {
        self.typ.as_deref()
    }

    /// The `cty` (`JWT` for a nested token), if any.
    pub fn cty(&self) -> Option<&str> {
        self.cty.as_deref()
    }

    /// True if the header carried `jwk`, `jku`, `x5u` or `x5c` (ignored).
    pub fn has_embedded_key_reference(&self) -> bool {
        self.embedded_key
    }

    pub(crate) fn parse(bytes: &[u8], max_depth: usize) -> Result<Self> {
        let f = json::parse_object(bytes, HeaderFields::default(), max_depth, "JWE header")?;
        Ok(JweHeader {
            alg: f.alg.ok_or(Error::Malformed("JWE header has no alg"))?,
            enc: f.enc.ok_or(Error::Malformed("JWE header has no enc"))?,
            kid: f.kid,
            typ: f.typ,
            cty: f.cty,
            epk: f.epk,
            apu: f.apu,
            apv: f.apv,
            embedded_key: f.embedded_key,
        })
    }
}

#[derive(Default)]
struct HeaderFields {
    alg: Option<KeyAlgorithm>,
    enc: Option<ContentAlgorithm>,
    kid: Option<String>,
    typ: Option<String>,
    cty: Option<String>,
    epk: Option<Epk>,
    apu: Option<Vec<u8>>,
    apv: Option<Vec<u8>>,
    embedded_key: bool,
}

fn name<'de, T: core::str::FromStr<Err = Error>, A: MapAccess<'de>>(
    map: &mut A,
    strict: Strict<'_>,
) -> Result<T, A::Error> {
    let bad = Error::Malformed("JWE header member has the wrong type");
    let s = map
        .next_value_seed(CowStr)
        .map_err(|_| json::fail::<A::Error>(strict.reason, bad))?;
    s.parse::<T>().map_err(|e| json::fail(strict.reason, e))
}

fn octets<'de, A: MapAccess<'de>>(
    map: &mut A,
    strict: Strict<'_>,
    what: &'static str,
) -> Result<Vec<u8>, A::Error> {
    let s: String = json::typed(map, strict.reason, Error::Malformed(what))?;
    b64::decode(s.as_bytes(), what).map_err(|e| json::fail(strict.reason, e))
}

impl<'de> Fields<'de> for HeaderFields {
    fn field<A: MapAccess<'de>>(
        &mut self,
        key: &str,
        map: &mut A,
        strict: Strict<'_>,
    ) -> Result<bool, A::Error> {
        let bad = Error::Malformed("JWE header member has the wrong type");
        match key {
            "alg" => self.alg = Some(name(map, strict)?),
            "enc" => self.enc = Some(name(map, strict)?),
            "kid" => self.kid = Some(json::typed(map, strict.reason, bad)?),
            "typ" => self.typ = Some(json::typed(map, strict.reason, bad)?),
            "cty" => self.cty = Some(json::typed(map, strict.reason, bad)?),
            "epk" => {
                let bad = JweError::InvalidEphemeralKey("epk is not an EC or OKP public JWK");
                self.epk = Some(json::typed(map, strict.reason, Error::Jwe(bad))?);
            }
            "apu" => self.apu = Some(octets(map, strict, "apu is not base64url")?),
            "apv" => self.apv = Some(octets(map, strict, "apv is not base64url")?),
            // RFC 7516 §4.1.3: compression before encryption leaks through length.
            "zip" => {
                return Err(json::fail(
                    strict.reason,
                    Error::Jwe(JweError::CompressionRefused),
                ))
            }
            // RFC 7516 §4.1.13: we implement no extensions.
            "crit" => return Err(json::fail(strict.reason, Error::UnsupportedCritical)),
            "jwk" | "jku" | "x5u" | "x5c" => {
                self.embedded_key = true;
                return Ok(false);
            }
            _ => return Ok(false),
        }
        Ok(true)
    }
}

/// The header [`super::encrypt`] writes.
#[derive(Serialize)]
pub(crate) struct OutHeader<'a> {
    pub(crate) alg: &'a str,
    pub(crate) enc: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) kid: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) typ: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) cty: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) epk: Option<Epk>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) apu: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) apv: Option<String>,
}

impl OutHeader<'_> {
    pub(crate) fn to_json(&self) -> Result<Vec<u8>> {
        serde_json::to_vec(self).map_err(|e| Error::json("JWE header does not serialize", &e))
    }
}
