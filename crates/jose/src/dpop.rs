//! DPoP proofs (RFC 9449): parsing and checking a proof JWT, the `htu`
//! normalisation of §4.3, the `ath` hash and signing a proof (for clients
//! and tests). No I/O: the replay cache and server nonces belong to the
//! caller, which gets the proof's `jti` and `nonce` back.
//!
//! What [`verify`] checks (RFC 9449 §4.3): one compact JWS within the size
//! cap; `typ` is `dpop+jwt`; `alg` is one of [`ALGORITHMS`] (so never
//! `none` nor an HMAC); the header carries a public `jwk` (no private or
//! symmetric members) that fits the `alg` (the key owns its algorithm, so
//! an ES256 header with an RSA key is refused); the signature verifies with
//! that key; the claims `jti`, `htm`, `htu` and `iat` are present, `htm`
//! and `htu` match the request, `iat` is inside the window, and `ath` is
//! the hash of the access token when one is presented.

use crate::alg::{Algorithm, Family};
use crate::b64;
use crate::error::{Error, Result};
use crate::header::Limits;
use crate::json;
use crate::jwk::Jwk;
use crate::jws::{split, UnverifiedToken};
use crate::key::SigningKey;
use crate::key::VerifyingKey;
use serde::{Deserialize, Serialize};

/// The `typ` of a DPoP proof.
pub const TYP: &str = "dpop+jwt";

/// The proof algorithms accepted (`dpop_signing_alg_values_supported`).
pub const ALGORITHMS: [Algorithm; 4] = [
    Algorithm::ES256,
    Algorithm::EdDSA,
    Algorithm::RS256,
    Algorithm::PS256,
];

/// The longest `jti` accepted, in bytes (a replay cache stores it).
pub const MAX_JTI_LEN: usize = 256;

/// What a proof is checked against.
#[derive(Debug, Clone, Copy)]
pub struct Expect<'a> {
    /// The request method (`POST`, `GET`, ...), compared case-sensitively.
    pub method: &'a str,
    /// The request URL as the server knows itself (never from a `Host`
    /// header an attacker chose); normalised before comparison.
    pub url: &'a str,
    /// The access token presented with the proof, if any; `ath` must then be
    /// its hash. `None` at the token endpoint, where `ath` is not used.
    pub access_token: Option<&'a str>,
    /// Now, in seconds since the epoch (from the caller's clock).
    pub now: i64,
    /// How far in the past `iat` may lie, in seconds.
    pub max_age: i64,
    /// How far in the future `iat` may lie, in seconds (clock skew).
    pub leeway: i64,
}

/// A checked proof.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Proof {
    /// The RFC 7638 SHA-256 thumbprint of the proof's key (`cnf.jkt`).
    pub jkt: String,
    /// The proof's unique id, for the caller's replay cache.
    pub jti: String,
    /// `iat`, seconds since the epoch.
    pub iat: i64,
    /// The server nonce the proof carries, if any; the caller checks it.
    pub nonce: Option<String>,
    /// The algorithm the proof was signed with.
    pub alg: Algorithm,
}

#[derive(Deserialize)]
struct ProofHeader {
    typ: Option<String>,
    alg: Option<String>,
    jwk: Option<Jwk>,
}

#[derive(Deserialize)]
struct ProofClaims {
    jti: Option<String>,
    htm: Option<String>,
    htu: Option<String>,
    iat: Option<serde_json::Number>,
    ath: Option<String>,
    nonce: Option<String>,
}

/// `base64url(SHA-256(access_token))`, the `ath` claim.
pub fn ath(access_token: &str) -> String {
    b64::encode(&crate::provider::sha256(access_token.as_bytes()))
}

/// The RFC 7638 SHA-256 thumbprint of a public JWK (base64url).
pub fn thumbprint(jwk: &Jwk) -> Result<String> {
    jwk.thumbprint()
}

/// Normalises a URL for `htu` comparison (RFC 9449 §4.3, RFC 3986 §6.2.2 and
/// §6.2.3): query and fragment dropped, scheme and host lower-cased, the
/// default port removed, an empty path made `/`. Only `http` and `https`
/// absolute URLs without user information are accepted.
pub fn normalize_htu(url: &str) -> Result<String> {
    const BAD: Error = Error::InvalidClaim("htu");
    let url = url.split(['#', '?']).next().unwrap_or_default();
    let (scheme, rest) = url.split_once("://").ok_or(BAD)?;
    let scheme = scheme.to_ascii_lowercase();
    let default_port = match scheme.as_str() {
        "https" => ":443",
        "http" => ":80",
        _ => return Err(BAD),
    };
    let (authority, path) = match rest.find('/') {
        Some(i) => rest.split_at(i),
        None => (rest, "/"),
    };
    if authority.is_empty() || authority.contains('@') || authority.contains(char::is_whitespace) {
        return Err(BAD);
    }
    let mut host = authority.to_ascii_lowercase();
    if host.ends_with(default_port) {
        host.truncate(host.len() - default_port.len());
    }
    if host.ends_with(':') {
        host.pop();
    }
    Ok(format!("{scheme}://{host}{path}"))
}

fn header_of(proof: &str, limits: &Limits) -> Result<ProofHeader> {
    let (h, _, _) = split(proof)?;
    let bytes = b64::decode(h.as_bytes(), "header is not base64url")?;
    json::check(&bytes, limits.max_depth)?;
    serde_json::from_slice(&bytes).map_err(|_| Error::Malformed("DPoP header"))
}

/// The key a proof header names, after the header's own checks: `typ`, an
/// allowed asymmetric `alg`, and a public `jwk` that fits that `alg`.
fn proof_key(header: ProofHeader) -> Result<(VerifyingKey, Jwk)> {
    if header.typ.as_deref() != Some(TYP) {
        return Err(Error::InvalidType);
    }
    let alg: Algorithm = header
        .alg
        .as_deref()
        .ok_or(Error::UnsupportedAlgorithm)?
        .parse()?;
    if !ALGORITHMS.contains(&alg) {
        return Err(Error::UnsupportedAlgorithm);
    }
    let jwk = header
        .jwk
        .ok_or(Error::InvalidKey("DPoP proof has no jwk"))?;
    let private = [&jwk.d, &jwk.p, &jwk.q, &jwk.dp, &jwk.dq, &jwk.qi, &jwk.k];
    if private.iter().any(|m| m.is_some()) || jwk.kty == "oct" {
        return Err(Error::InvalidKey(
            "DPoP jwk holds private or symmetric material",
        ));
    }
    if alg.family() == Family::Hmac {
        return Err(Error::UnsupportedAlgorithm);
    }
    let key = VerifyingKey::from_jwk(&jwk, Some(alg))?;
    Ok((key, jwk))
}

fn claims_of(payload: &[u8], max_depth: usize) -> Result<ProofClaims> {
    json::check(payload, max_depth)?;
    serde_json::from_slice(payload).map_err(|_| Error::Malformed("DPoP claims"))
}

/// Parses and checks a DPoP proof against `expect`. The caller still checks
/// the `jti` against its replay cache and, when it issues nonces, the nonce.
pub fn verify(proof: &str, expect: &Expect<'_>) -> Result<Proof> {
    let limits = Limits::default();
    if proof.len() > limits.max_token_len {
        return Err(Error::TooLarge);
    }
    let (key, jwk) = proof_key(header_of(proof, &limits)?)?;
    let alg = key.algorithm();
    let verified = UnverifiedToken::parse(proof, &limits)?.verify(&key)?;
    let c = claims_of(verified.payload(), limits.max_depth)?;
    let jti = c.jti.ok_or(Error::MissingClaim("jti"))?;
    if jti.is_empty() || jti.len() > MAX_JTI_LEN {
        return Err(Error::InvalidClaim("jti"));
    }
    if c.htm.ok_or(Error::MissingClaim("htm"))? != expect.method {
        return Err(Error::InvalidClaim("htm"));
    }
    let htu = c.htu.ok_or(Error::MissingClaim("htu"))?;
    if normalize_htu(&htu)? != normalize_htu(expect.url)? {
        return Err(Error::InvalidClaim("htu"));
    }
    let iat = c.iat.ok_or(Error::MissingClaim("iat"))?;
    let iat = iat
        .as_i64()
        .or_else(|| iat.as_f64().filter(|f| f.is_finite()).map(|f| f as i64))
        .ok_or(Error::InvalidClaim("iat"))?;
    if iat > expect.now.saturating_add(expect.leeway) {
        return Err(Error::IssuedInFuture);
    }
    if iat < expect.now.saturating_sub(expect.max_age) {
        return Err(Error::TooOld);
    }
    if let Some(token) = expect.access_token {
        let got = c.ath.ok_or(Error::MissingClaim("ath"))?;
        if !crate::provider::ct_eq(got.as_bytes(), ath(token).as_bytes()) {
            return Err(Error::InvalidClaim("ath"));
        }
    }
    Ok(Proof {
        jkt: jwk.thumbprint()?,
        jti,
        iat,
        nonce: c.nonce,
        alg,
    })
}

/// The claims of a proof [`sign`] writes.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Claims<'a> {
    /// Unique id.
    pub jti: &'a str,
    /// HTTP method.
    pub htm: &'a str,
    /// HTTP URL (without query and fragment).
    pub htu: &'a str,
    /// Issued at.
    pub iat: i64,
    /// Hash of the access token, for resource requests.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ath: Option<String>,
    /// Server nonce.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub nonce: Option<&'a str>,
}

#[derive(Serialize)]
struct OutHeader<'a> {
    typ: &'a str,
    alg: &'a str,
    jwk: &'a Jwk,
}

/// Signs a proof with `key` (which must be asymmetric), embedding its
/// public JWK. For clients, tests and benchmarks.
pub fn sign(key: &SigningKey, claims: &Claims<'_>) -> Result<String> {
    let mut jwk = key.verifying_key().to_jwk()?;
    jwk.kid = None;
    jwk.key_use = None;
    jwk.alg = None;
    let header = OutHeader {
        typ: TYP,
        alg: key.algorithm().as_str(),
        jwk: &jwk,
    };
    sign_raw(key, &header, claims)
}

/// Signs any header and claims with `key`: for attack tests that need a
/// proof the library would never write (a private `jwk`, another `typ`).
pub fn sign_raw<H: Serialize, C: Serialize>(
    key: &SigningKey,
    header: &H,
    claims: &C,
) -> Result<String> {
    let h = serde_json::to_vec(header).map_err(|e| Error::json("DPoP header", &e))?;
    let c = serde_json::to_vec(claims).map_err(|e| Error::claims("DPoP claims", &e))?;
    let mut out = b64::encode(&h);
    out.push('.');
    b64::encode_into(&c, &mut out);
    let sig = key.sign(out.as_bytes())?;
    out.push('.');
    b64::encode_into(&sig, &mut out);
    Ok(out)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn htu_normalisation() {
        let n = |u| normalize_htu(u).unwrap();
        assert_eq!(
            n("HTTPS://Server.Example.COM:443/token?x=1#f"),
            "https://server.example.com/token"
        );
        assert_eq!(n("http://a.example:80"), "http://a.example/");
        assert_eq!(n("http://a.example:8080/x"), "http://a.example:8080/x");
        // The path is case-sensitive.
        assert_ne!(n("https://a.example/Token"), n("https://a.example/token"));
        for bad in [
            "ftp://a/x",
            "/token",
            "https://u@a.example/",
            "https:///x",
            "",
        ] {
            assert!(normalize_htu(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn ath_is_sha256_base64url() {
        // RFC 9449 §7.1 example: the access token and its ath.
        assert_eq!(
            ath("Kz~8mXK1EalYznwH-LC-1fBAo.4Ljp~zsPE_NeO.gxU"),
            "fUHyO2r2Z3DZ53EsNrWBb0xWXoaNy59IiKCAqksmQEo"
        );
    }
}
