//! The JOSE header of a compact JWS, the caps checked before any parsing
//! ([`Limits`]), and the access-token header a key writes and recognises.

use crate::alg::Algorithm;
use crate::b64;
use crate::error::{Error, Result};
use crate::json::{self, CowStr, Fields, Strict};
use serde::de::MapAccess;
use serde::Serialize;
use std::sync::Arc;

/// The `typ` of an RFC 9068 access token.
pub const ACCESS_TOKEN_TYP: &str = "at+jwt";

/// Caps checked before any expensive work.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Longest accepted compact token, in bytes (default 8 KiB).
    pub max_token_len: usize,
    /// Deepest accepted JSON nesting in header and payload (default 32).
    pub max_depth: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_token_len: 8 * 1024,
            max_depth: 32,
        }
    }
}

/// A parsed JOSE header.
///
/// The header is readable before verification, because the `kid` is needed
/// to pick the key. Nothing in it chooses an algorithm or fetches a key:
/// `jwk`, `jku`, `x5u` and `x5c` are noted, never used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Header {
    alg: Algorithm,
    typ: Option<String>,
    kid: Option<String>,
    cty: Option<String>,
    embedded_key: bool,
}

impl Header {
    /// The algorithm the token claims. Verification never uses it to choose;
    /// it must match the key's own algorithm.
    pub fn alg(&self) -> Algorithm {
        self.alg
    }

    /// The `typ` media type, if any.
    pub fn typ(&self) -> Option<&str> {
        self.typ.as_deref()
    }

    /// The key id, if any.
    pub fn kid(&self) -> Option<&str> {
        self.kid.as_deref()
    }

    /// The `cty` content type, if any.
    pub fn cty(&self) -> Option<&str> {
        self.cty.as_deref()
    }

    /// True if the header carried `jwk`, `jku`, `x5u` or `x5c`, which are
    /// ignored (a warning sign in a token, never a source of keys).
    pub fn has_embedded_key_reference(&self) -> bool {
        self.embedded_key
    }

    pub(crate) fn parse(bytes: &[u8], max_depth: usize) -> Result<Self, Error> {
        let f = json::parse_object(bytes, HeaderFields::default(), max_depth, "header")?;
        Ok(Header {
            alg: f.alg.ok_or(Error::Malformed("header has no alg"))?,
            typ: f.typ,
            kid: f.kid,
            cty: f.cty,
            embedded_key: f.embedded_key,
        })
    }
}

#[derive(Default)]
struct HeaderFields {
    alg: Option<Algorithm>,
    typ: Option<String>,
    kid: Option<String>,
    cty: Option<String>,
    embedded_key: bool,
}

impl<'de> Fields<'de> for HeaderFields {
    fn field<A: MapAccess<'de>>(
        &mut self,
        key: &str,
        map: &mut A,
        strict: Strict<'_>,
    ) -> Result<bool, A::Error> {
        let bad = Error::Malformed("header member has the wrong type");
        match key {
            "alg" => {
                let s = map
                    .next_value_seed(CowStr)
                    .map_err(|_| json::fail::<A::Error>(strict.reason, bad.clone()))?;
                match s.parse::<Algorithm>() {
                    Ok(a) => self.alg = Some(a),
                    Err(e) => return Err(json::fail(strict.reason, e)),
                }
            }
            "typ" => self.typ = Some(json::typed(map, strict.reason, bad)?),
            "kid" => self.kid = Some(json::typed(map, strict.reason, bad)?),
            "cty" => self.cty = Some(json::typed(map, strict.reason, bad)?),
            // RFC 7515 §4.1.11: we implement no extensions, so any `crit` is refused.
            "crit" => return Err(json::fail(strict.reason, Error::UnsupportedCritical)),
            // RFC 7797 unencoded payloads are not supported.
            "b64" => {
                let v: bool = json::typed(map, strict.reason, bad)?;
                if !v {
                    return Err(json::fail(strict.reason, Error::UnsupportedCritical));
                }
            }
            "jwk" | "jku" | "x5u" | "x5c" => {
                self.embedded_key = true;
                return Ok(false);
            }
            _ => return Ok(false),
        }
        Ok(true)
    }
}

#[derive(Serialize)]
struct OutHeader<'a> {
    alg: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    typ: Option<&'a str>,
    kid: &'a str,
}

/// The header [`crate::encode`] writes with a key for an access token (`typ` is
/// `at+jwt`): its base64url text, and that text's parse.
#[derive(Debug)]
pub(crate) struct KnownHeader {
    pub(crate) b64: String,
    pub(crate) header: Header,
}

/// The [`KnownHeader`] of a key with this algorithm and `kid`.
pub(crate) fn known_header(alg: Algorithm, kid: &str) -> Option<Arc<KnownHeader>> {
    let json = header_json(alg, Some(ACCESS_TOKEN_TYP), kid).ok()?;
    let header = Header::parse(&json, 1).ok()?;
    Some(Arc::new(KnownHeader {
        b64: b64::encode(&json),
        header,
    }))
}

pub(crate) fn header_json(alg: Algorithm, typ: Option<&str>, kid: &str) -> Result<Vec<u8>> {
    serde_json::to_vec(&OutHeader {
        alg: alg.as_str(),
        typ,
        kid,
    })
    .map_err(|e| Error::json("header does not serialize", &e))
}
