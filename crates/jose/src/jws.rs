//! Compact JWS: strict parsing, the `Unverified` → `Verified` typestate,
//! signing, and the one-call [`decode`].

use crate::b64;
use crate::claims::{RegisteredClaims, Validation};
use crate::clock::Clock;
use crate::error::{Error, Result};
use crate::header::Header;
use crate::key::{KeySet, SigningKey, VerifyingKey};
use serde::de::DeserializeOwned;
use serde::Serialize;

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

/// A compact JWS that has been parsed but **not verified**.
///
/// Only the header is readable; the payload is reachable only through
/// [`UnverifiedToken::verify`].
#[derive(Debug)]
pub struct UnverifiedToken<'a> {
    header: Header,
    signing_input: &'a str,
    payload_b64: &'a str,
    signature: Vec<u8>,
    max_depth: usize,
}

/// A token whose signature has been verified with a key that owns the
/// token's algorithm. Its claims still have to pass a [`Validation`].
#[derive(Debug)]
pub struct VerifiedToken {
    header: Header,
    payload: Vec<u8>,
    max_depth: usize,
}

/// The header and claims of a verified, validated token.
#[derive(Debug, Clone)]
pub struct TokenData<T> {
    /// The header.
    pub header: Header,
    /// The registered claims, type-checked.
    pub registered: RegisteredClaims,
    /// The claims as the caller's type (which may repeat registered claims).
    pub claims: T,
}

/// Splits `token` into exactly three segments.
pub(crate) fn split(token: &str) -> Result<(&str, &str, &str)> {
    let mut parts = token.splitn(4, '.');
    match (parts.next(), parts.next(), parts.next(), parts.next()) {
        (Some(h), Some(p), Some(s), None) => Ok((h, p, s)),
        _ => Err(Error::Malformed("a compact JWS has exactly three segments")),
    }
}

impl<'a> UnverifiedToken<'a> {
    /// Parses a compact JWS strictly: the size cap first, then exactly three
    /// segments, canonical base64url, and a strict JSON object header.
    pub fn parse(token: &'a str, limits: &Limits) -> Result<Self> {
        if token.len() > limits.max_token_len {
            return Err(Error::TooLarge);
        }
        let (h, p, s) = split(token)?;
        if h.is_empty() {
            return Err(Error::Malformed("empty header"));
        }
        let header_json = b64::decode(h.as_bytes(), "header is not base64url")?;
        let header = Header::parse(&header_json, limits.max_depth)?;
        // Validate the payload's encoding now, so that a bad token fails the
        // same way whatever the key.
        if !p
            .bytes()
            .all(|c| c.is_ascii_alphanumeric() || c == b'-' || c == b'_')
        {
            return Err(Error::Malformed("payload is not base64url"));
        }
        let signature = b64::decode(s.as_bytes(), "signature is not base64url")?;
        let signing_input = token
            .get(..h.len() + 1 + p.len())
            .ok_or(Error::Malformed("token"))?;
        Ok(UnverifiedToken {
            header,
            signing_input,
            payload_b64: p,
            signature,
            max_depth: limits.max_depth,
        })
    }

    /// The header (safe to read before verification: it only selects a key).
    pub fn header(&self) -> &Header {
        &self.header
    }

    /// Verifies with `key`. The header's `alg` must be the key's own
    /// algorithm; it never chooses one.
    pub fn verify(self, key: &VerifyingKey) -> Result<VerifiedToken> {
        if !key.algorithm().accepts(self.header.alg()) {
            return Err(Error::AlgorithmMismatch);
        }
        key.verify(self.signing_input.as_bytes(), &self.signature)?;
        let payload = b64::decode(self.payload_b64.as_bytes(), "payload is not base64url")?;
        Ok(VerifiedToken {
            header: self.header,
            payload,
            max_depth: self.max_depth,
        })
    }

    /// Verifies with the key named by the token's `kid` (or the only key in
    /// the set when the token has no `kid`).
    pub fn verify_with(self, keys: &KeySet) -> Result<VerifiedToken> {
        let key = keys.select(self.header.kid())?;
        self.verify(key)
    }
}

impl VerifiedToken {
    /// The header.
    pub fn header(&self) -> &Header {
        &self.header
    }

    /// The raw payload bytes (verified, but not validated).
    pub fn payload(&self) -> &[u8] {
        &self.payload
    }

    /// Validates the claims at `now` (seconds since the epoch) and returns them.
    pub fn validate<T: DeserializeOwned>(
        self,
        validation: &Validation,
        now: i64,
    ) -> Result<TokenData<T>> {
        let registered = RegisteredClaims::parse(&self.payload, self.max_depth)?;
        validation.check(&self.header, &registered, now)?;
        let claims = serde_json::from_slice(&self.payload)
            .map_err(|_| Error::InvalidClaim("claims do not match the expected type"))?;
        Ok(TokenData {
            header: self.header,
            registered,
            claims,
        })
    }
}

/// Parses, verifies and validates a token in one call.
///
/// ```
/// use tessera_jose::{decode, encode, Algorithm, KeySet, ManualClock, SigningKey, Validation};
/// use serde_json::{json, Value};
///
/// let key = SigningKey::generate(Algorithm::ES256)?;
/// let token = encode(&key, Some("at+jwt"), &json!({
///     "iss": "https://auth.example", "aud": "api", "sub": "u1", "exp": 2_000_000_000,
/// }))?;
/// let keys: KeySet = [key.verifying_key().clone()].into_iter().collect();
/// let clock = ManualClock::new(1_900_000_000);
/// let data = decode::<Value>(&token, &keys, &Validation::new("https://auth.example", "api"), &clock)?;
/// assert_eq!(data.registered.sub.as_deref(), Some("u1"));
/// # Ok::<(), tessera_jose::Error>(())
/// ```
pub fn decode<T: DeserializeOwned>(
    token: &str,
    keys: &KeySet,
    validation: &Validation,
    clock: &dyn Clock,
) -> Result<TokenData<T>> {
    UnverifiedToken::parse(token, &validation.limits)?
        .verify_with(keys)?
        .validate(validation, clock.now())
}

#[derive(Serialize)]
struct OutHeader<'a> {
    alg: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    typ: Option<&'a str>,
    kid: &'a str,
}

/// Signs `claims` as a compact JWS with `key`'s algorithm and `kid`, and the
/// given header `typ` (use `Some("at+jwt")` for access tokens).
pub fn encode<T: Serialize + ?Sized>(
    key: &SigningKey,
    typ: Option<&str>,
    claims: &T,
) -> Result<String> {
    let header = serde_json::to_vec(&OutHeader {
        alg: key.algorithm().as_str(),
        typ,
        kid: key.kid(),
    })
    .map_err(|_| Error::Malformed("header does not serialize"))?;
    let payload =
        serde_json::to_vec(claims).map_err(|_| Error::InvalidClaim("claims do not serialize"))?;
    let mut out = String::with_capacity((header.len() + payload.len()) * 4 / 3 + 360);
    b64::encode_into(&header, &mut out);
    out.push('.');
    b64::encode_into(&payload, &mut out);
    let sig = key.sign(out.as_bytes())?;
    out.push('.');
    b64::encode_into(&sig, &mut out);
    Ok(out)
}
