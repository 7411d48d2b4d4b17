//! Compact JWS: strict parsing, the `Unverified` → `Verified` typestate,
//! signing, and the one-call [`decode`].

use crate::b64;
use crate::claims::{RegisteredClaims, Validation};
use crate::clock::Clock;
use crate::error::{Error, Result};
use crate::header::{header_json, Header, Limits, ACCESS_TOKEN_TYP};
use crate::key::{KeySet, SigningKey, VerifyingKey};
use serde::de::DeserializeOwned;
use serde::Serialize;

/// A compact JWS that has been parsed but **not verified**.
///
/// Only the header is readable; the payload is reachable only through
/// [`UnverifiedToken::verify`].
#[derive(Debug)]
pub struct UnverifiedToken<'a> {
    header: Header,
    signing_input: &'a str,
    /// The decoded payload, unreadable until verification; `None` when its
    /// base64url is non-canonical, which is reported after verification.
    payload: Option<Vec<u8>>,
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
    const BAD: Error = Error::Malformed("a compact JWS has exactly three segments");
    let (h, rest) = token.split_once('.').ok_or(BAD)?;
    let (p, s) = rest.split_once('.').ok_or(BAD)?;
    if s.contains('.') {
        return Err(BAD);
    }
    Ok((h, p, s))
}

impl<'a> UnverifiedToken<'a> {
    /// Parses a compact JWS strictly: the size cap first, then exactly three
    /// segments, canonical base64url, and a strict JSON object header.
    pub fn parse(token: &'a str, limits: &Limits) -> Result<Self> {
        Self::parse_known(token, limits, None)
    }

    /// [`UnverifiedToken::parse`], where a header segment that is exactly the
    /// access-token header of a key in `keys` is not decoded and parsed again:
    /// that key already holds its parse.
    fn parse_known(token: &'a str, limits: &Limits, keys: Option<&KeySet>) -> Result<Self> {
        if token.len() > limits.max_token_len {
            return Err(Error::TooLarge);
        }
        let (h, p, s) = split(token)?;
        if h.is_empty() {
            return Err(Error::Malformed("empty header"));
        }
        // A known header is a flat object: any depth cap of 1 or more accepts it.
        let known = keys
            .filter(|_| limits.max_depth >= 1)
            .and_then(|keys| keys.known_header(h));
        let header = match known {
            Some(header) => header.clone(),
            None => b64::with_decoded(h.as_bytes(), "header is not base64url", |json| {
                Header::parse(json, limits.max_depth)
            })?,
        };
        // Decode the payload now, in the same pass that validates its
        // encoding, so that a bad token fails the same way whatever the key.
        // It stays unreadable until verification. A payload of base64url
        // characters that is merely non-canonical is refused after
        // verification, as when it was decoded there.
        let payload = match b64::decode(p.as_bytes(), "payload is not base64url") {
            Ok(payload) => Some(payload),
            Err(_) if b64::is_alphabet(p.as_bytes()) => None,
            Err(e) => return Err(e),
        };
        let signature = b64::decode(s.as_bytes(), "signature is not base64url")?;
        let signing_input = token
            .get(..h.len() + 1 + p.len())
            .ok_or(Error::Malformed("token"))?;
        Ok(UnverifiedToken {
            header,
            signing_input,
            payload,
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
        let payload = self
            .payload
            .ok_or(Error::Malformed("payload is not base64url"))?;
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
        // Two passes: the strict one (duplicate members and the depth cap
        // anywhere in the payload, registered claims type-checked), then
        // plain `serde_json` into the caller's type over the same bytes.
        let registered = RegisteredClaims::parse(&self.payload, self.max_depth)?;
        validation.check(&self.header, &registered, now)?;
        let claims = serde_json::from_slice(&self.payload)
            .map_err(|e| Error::claims("claims do not match the expected type", &e))?;
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
    UnverifiedToken::parse_known(token, &validation.limits, Some(keys))?
        .verify_with(keys)?
        .validate(validation, clock.now())
}

/// An upper bound on the base64url length of `n` bytes that cannot overflow
/// for any `n` an allocation can hold (`n * 4` could, on 32-bit targets).
fn b64_len(n: usize) -> usize {
    n / 3 * 4 + 4
}

/// Signs `claims` as a compact JWS with `key`'s algorithm and `kid`, and the
/// given header `typ` (use `Some("at+jwt")` for access tokens).
pub fn encode<T: Serialize + ?Sized>(
    key: &SigningKey,
    typ: Option<&str>,
    claims: &T,
) -> Result<String> {
    let payload =
        serde_json::to_vec(claims).map_err(|e| Error::claims("claims do not serialize", &e))?;
    let known = key
        .verifying_key()
        .known_header()
        .filter(|_| typ == Some(ACCESS_TOKEN_TYP));
    let mut out;
    match known {
        Some(known) => {
            out = String::with_capacity(known.b64.len() + b64_len(payload.len()) + 700);
            out.push_str(&known.b64);
        }
        None => {
            let header = header_json(key.algorithm(), typ, key.kid())?;
            out = String::with_capacity(b64_len(header.len()) + b64_len(payload.len()) + 700);
            b64::encode_into(&header, &mut out);
        }
    }
    out.push('.');
    b64::encode_into(&payload, &mut out);
    let sig = key.sign(out.as_bytes())?;
    out.push('.');
    b64::encode_into(&sig, &mut out);
    Ok(out)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::alg::Algorithm;
    use crate::clock::ManualClock;
    use serde_json::{json, Value};

    /// A header recognised from a key's cache parses exactly as the parser
    /// would parse it, follows `with_kid`, and yields to the depth cap.
    #[test]
    fn known_headers_equal_their_parse() {
        let clock = ManualClock::new(1_000);
        let claims = json!({"iss": "i", "aud": "a", "exp": 2_000});
        for alg in [Algorithm::HS256, Algorithm::ES256, Algorithm::EdDSA] {
            for key in [
                SigningKey::generate(alg).unwrap(),
                SigningKey::generate(alg)
                    .unwrap()
                    .with_kid("k\"1\\\u{e9}\u{1}"),
            ] {
                let keys: KeySet = [key.verifying_key().clone()].into_iter().collect();
                let token = encode(&key, Some(ACCESS_TOKEN_TYP), &claims).unwrap();
                let (h, _, _) = split(&token).unwrap();
                assert!(keys.known_header(h).is_some());
                let parsed = UnverifiedToken::parse(&token, &Limits::default()).unwrap();
                assert_eq!(parsed.header().kid(), Some(key.kid()));
                let v = Validation::new("i", "a");
                let data = decode::<Value>(&token, &keys, &v, &clock).unwrap();
                assert_eq!(&data.header, parsed.header());
                // Other `typ`s are not cached, and still round-trip.
                let other = encode(&key, Some("JWT"), &claims).unwrap();
                assert!(keys.known_header(split(&other).unwrap().0).is_none());
                let v = v.clone().with_typ(Some("JWT"));
                assert!(decode::<Value>(&other, &keys, &v, &clock).is_ok());
                // The depth cap still applies to a known header.
                let flat = Limits {
                    max_depth: 0,
                    ..Limits::default()
                };
                let v = Validation::new("i", "a").with_limits(flat);
                assert_eq!(
                    decode::<Value>(&token, &keys, &v, &clock).unwrap_err(),
                    UnverifiedToken::parse(&token, &flat).unwrap_err()
                );
            }
        }
    }
}
