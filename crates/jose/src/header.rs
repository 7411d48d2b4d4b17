//! The JOSE header of a compact JWS.

use crate::alg::Algorithm;
use crate::error::Error;
use crate::json::{self, CowStr, Fields, Strict};
use serde::de::MapAccess;

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
