//! Registered claims (RFC 7519 §4.1) and their validation.

use crate::error::Error;
use crate::header::{Header, Limits, ACCESS_TOKEN_TYP};
use crate::json::{self, Fields, Strict};
use serde::de::{self, MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, Serialize};
use std::fmt;

/// The `aud` claim: one string or an array of strings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Audience {
    /// A single audience.
    One(String),
    /// Several audiences.
    Many(Vec<String>),
}

impl Audience {
    /// True if `aud` is among the audiences.
    pub fn contains(&self, aud: &str) -> bool {
        match self {
            Audience::One(a) => a == aud,
            Audience::Many(v) => v.iter().any(|a| a == aud),
        }
    }

    /// The audiences as a slice-like iterator.
    pub fn iter(&self) -> impl Iterator<Item = &str> {
        let (one, many): (Option<&String>, &[String]) = match self {
            Audience::One(a) => (Some(a), &[]),
            Audience::Many(v) => (None, v.as_slice()),
        };
        one.into_iter().chain(many.iter()).map(String::as_str)
    }
}

/// The registered claims, type-checked while the payload is parsed.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RegisteredClaims {
    /// Issuer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iss: Option<String>,
    /// Subject.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sub: Option<String>,
    /// Audience.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub aud: Option<Audience>,
    /// Expiry (seconds since the epoch).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exp: Option<i64>,
    /// Not before.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nbf: Option<i64>,
    /// Issued at.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iat: Option<i64>,
    /// Token id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jti: Option<String>,
}

impl RegisteredClaims {
    /// Parses the registered claims of a payload in one strict pass that also
    /// refuses duplicate members and deep nesting anywhere in the payload.
    pub(crate) fn parse(payload: &[u8], max_depth: usize) -> Result<Self, Error> {
        json::parse_object(payload, RegisteredClaims::default(), max_depth, "payload")
    }
}

impl<'de> Fields<'de> for RegisteredClaims {
    fn field<A: MapAccess<'de>>(
        &mut self,
        key: &str,
        map: &mut A,
        strict: Strict<'_>,
    ) -> Result<bool, A::Error> {
        let r = strict.reason;
        match key {
            "iss" => self.iss = Some(json::typed(map, r, Error::InvalidClaim("iss"))?),
            "sub" => self.sub = Some(json::typed(map, r, Error::InvalidClaim("sub"))?),
            "jti" => self.jti = Some(json::typed(map, r, Error::InvalidClaim("jti"))?),
            "aud" => {
                self.aud = Some(
                    map.next_value_seed(AudSeed(strict))
                        .map_err(|_| json::fail::<A::Error>(r, Error::InvalidClaim("aud")))?,
                )
            }
            "exp" => self.exp = Some(numeric_date(map, r, "exp")?),
            "nbf" => self.nbf = Some(numeric_date(map, r, "nbf")?),
            "iat" => self.iat = Some(numeric_date(map, r, "iat")?),
            _ => return Ok(false),
        }
        Ok(true)
    }
}

fn numeric_date<'de, A: MapAccess<'de>>(
    map: &mut A,
    reason: json::Reason<'_>,
    name: &'static str,
) -> Result<i64, A::Error> {
    map.next_value_seed(NumericDate)
        .map_err(|_| json::fail(reason, Error::InvalidClaim(name)))
}

/// A NumericDate: a JSON number of seconds; fractions are truncated toward −∞.
struct NumericDate;

impl<'de> de::DeserializeSeed<'de> for NumericDate {
    type Value = i64;
    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<i64, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for NumericDate {
    type Value = i64;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a NumericDate")
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<i64, E> {
        Ok(v)
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<i64, E> {
        i64::try_from(v).map_err(|_| E::custom("out of range"))
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<i64, E> {
        // `as` saturates; the range check refuses values beyond i64.
        if v.is_finite() && v.abs() < 9.0e18 {
            Ok(v.floor() as i64)
        } else {
            Err(E::custom("out of range"))
        }
    }
}

/// The `aud` claim, whose array form is one more level of nesting under the
/// same cap as any other value.
struct AudSeed<'r>(Strict<'r>);

impl<'de> de::DeserializeSeed<'de> for AudSeed<'_> {
    type Value = Audience;
    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<Audience, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for AudSeed<'_> {
    type Value = Audience;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a string or an array of strings")
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Audience, E> {
        Ok(Audience::One(v.to_owned()))
    }
    fn visit_seq<S: SeqAccess<'de>>(self, mut seq: S) -> Result<Audience, S::Error> {
        self.0.nested::<S::Error>()?;
        let mut v = Vec::new();
        while let Some(a) = seq.next_element::<String>()? {
            v.push(a);
        }
        Ok(Audience::Many(v))
    }
}

/// What a verified token must also satisfy.
///
/// `iss` and `aud` are always required. By default `exp` is required, the
/// header `typ` must be `at+jwt` (RFC 9068 access tokens), and the leeway is
/// 30 seconds.
///
/// ```
/// use tessera_jose::Validation;
/// let v = Validation::new("https://auth.example", "api")
///     .with_leeway(10)
///     .with_max_age(3600);
/// assert_eq!(v.leeway(), 10);
/// ```
#[derive(Debug, Clone)]
pub struct Validation {
    issuers: Vec<String>,
    audiences: Vec<String>,
    typ: Option<String>,
    leeway: i64,
    max_age: Option<i64>,
    require_exp: bool,
    require_kid: bool,
    required: Vec<&'static str>,
    /// Size and nesting caps applied before any other work.
    pub limits: Limits,
}

impl Validation {
    /// Requires this issuer and this audience.
    pub fn new(issuer: impl Into<String>, audience: impl Into<String>) -> Self {
        Validation {
            issuers: vec![issuer.into()],
            audiences: vec![audience.into()],
            typ: Some(ACCESS_TOKEN_TYP.to_owned()),
            leeway: 30,
            max_age: None,
            require_exp: true,
            require_kid: false,
            required: Vec::new(),
            limits: Limits::default(),
        }
    }

    /// Also accepts this issuer.
    pub fn also_issuer(mut self, issuer: impl Into<String>) -> Self {
        self.issuers.push(issuer.into());
        self
    }

    /// Also accepts this audience.
    pub fn also_audience(mut self, audience: impl Into<String>) -> Self {
        self.audiences.push(audience.into());
        self
    }

    /// Requires this header `typ` (compared case-insensitively, with an
    /// optional `application/` prefix), or none at all with `None`.
    pub fn with_typ(mut self, typ: Option<&str>) -> Self {
        self.typ = typ.map(str::to_owned);
        self
    }

    /// Clock-skew allowance in seconds for `exp`, `nbf`, `iat` and max age.
    pub fn with_leeway(mut self, secs: u64) -> Self {
        self.leeway = i64::try_from(secs).unwrap_or(i64::MAX);
        self
    }

    /// Refuses tokens whose `iat` is older than this many seconds (and then requires `iat`).
    pub fn with_max_age(mut self, secs: u64) -> Self {
        self.max_age = Some(i64::try_from(secs).unwrap_or(i64::MAX));
        self
    }

    /// Whether `exp` must be present (default: yes).
    pub fn require_exp(mut self, yes: bool) -> Self {
        self.require_exp = yes;
        self
    }

    /// Whether the header must name its key (`kid`; default: no). An issuer
    /// that always sets one should require it: a token without a `kid`
    /// would otherwise verify against whichever key is alone in the set,
    /// and stay tied to no key when keys change (a revoked key's tokens
    /// must name it to be refused).
    pub fn require_kid(mut self, yes: bool) -> Self {
        self.require_kid = yes;
        self
    }

    /// Also requires `sub`, `jti`, `iat` or `nbf` to be present.
    pub fn require(mut self, claim: &'static str) -> Self {
        self.required.push(claim);
        self
    }

    /// Replaces the size caps.
    pub fn with_limits(mut self, limits: Limits) -> Self {
        self.limits = limits;
        self
    }

    /// The leeway in seconds.
    pub fn leeway(&self) -> u64 {
        u64::try_from(self.leeway).unwrap_or(0)
    }

    /// Checks a verified header and claims against this validation at `now`
    /// (seconds since the epoch).
    pub fn check(&self, header: &Header, c: &RegisteredClaims, now: i64) -> Result<(), Error> {
        if self.require_kid && header.kid().is_none() {
            return Err(Error::MissingKeyId);
        }
        if let Some(want) = &self.typ {
            match header.typ() {
                Some(got) if typ_matches(got, want) => {}
                _ => return Err(Error::InvalidType),
            }
        }
        match c.exp {
            Some(exp) if now >= exp.saturating_add(self.leeway) => return Err(Error::Expired),
            None if self.require_exp => return Err(Error::MissingClaim("exp")),
            _ => {}
        }
        if let Some(nbf) = c.nbf {
            if now.saturating_add(self.leeway) < nbf {
                return Err(Error::NotYetValid);
            }
        }
        if let Some(iat) = c.iat {
            if iat > now.saturating_add(self.leeway) {
                return Err(Error::IssuedInFuture);
            }
        }
        if let Some(max_age) = self.max_age {
            let iat = c.iat.ok_or(Error::MissingClaim("iat"))?;
            if now.saturating_sub(iat) > max_age.saturating_add(self.leeway) {
                return Err(Error::TooOld);
            }
        }
        match &c.iss {
            None => return Err(Error::MissingClaim("iss")),
            Some(iss) if !self.issuers.iter().any(|i| i == iss) => {
                return Err(Error::InvalidIssuer)
            }
            _ => {}
        }
        match &c.aud {
            None => return Err(Error::MissingClaim("aud")),
            Some(aud) if !self.audiences.iter().any(|a| aud.contains(a)) => {
                return Err(Error::InvalidAudience)
            }
            _ => {}
        }
        for claim in &self.required {
            let present = match *claim {
                "sub" => c.sub.is_some(),
                "jti" => c.jti.is_some(),
                "iat" => c.iat.is_some(),
                "nbf" => c.nbf.is_some(),
                _ => true,
            };
            if !present {
                return Err(Error::MissingClaim(claim));
            }
        }
        Ok(())
    }
}

/// Media-type comparison for `typ` (RFC 7515 §4.1.9).
fn typ_matches(got: &str, want: &str) -> bool {
    fn strip(s: &str) -> &str {
        match s.get(..12) {
            Some(p) if p.eq_ignore_ascii_case("application/") => s.get(12..).unwrap_or(s),
            _ => s,
        }
    }
    strip(got).eq_ignore_ascii_case(strip(want))
}
