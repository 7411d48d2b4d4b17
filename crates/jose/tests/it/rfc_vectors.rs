//! Known-answer tests from the RFC texts: RFC 7515 Appendix A, RFC 7520 §4,
//! RFC 8037 Appendix A and RFC 7638 §3.1.
//!
//! The vectors live as JSON data files under `tests/vectors/`, transcribed by
//! hand from the RFCs. Where the RFC's signature scheme is deterministic
//! (HMAC, RSASSA-PKCS1-v1_5, Ed25519) the test also signs the RFC's signing
//! input with the RFC's private key and compares the bytes, which pins every
//! transcribed key member, not just the public ones.

// Test helpers: a failed unwrap or panic here is a failed test, with its message.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use serde_json::Value;
use std::path::PathBuf;
use tessera_jose::dangerous::decode_unverified;
use tessera_jose::{
    b64, crypto, decode, Algorithm, Clock, Error, Jwk, KeySet, Limits, ManualClock, SigningKey,
    UnverifiedToken, Validation, VerifyingKey,
};

const PRIVATE_MEMBERS: [&str; 7] = ["d", "p", "q", "dp", "dq", "qi", "k"];

fn vectors(name: &str) -> Value {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/vectors")
        .join(name);
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("parsing {}: {e}", path.display()))
}

fn text<'a>(v: &'a Value, member: &str) -> &'a str {
    v[member]
        .as_str()
        .unwrap_or_else(|| panic!("vector has no string member `{member}`"))
}

/// Parses a JWK through the library's strict parser.
fn jwk(v: &Value) -> Jwk {
    Jwk::from_json(&v.to_string()).unwrap()
}

/// The same JWK with every private member removed.
fn public_jwk(v: &Value) -> Jwk {
    let mut v = v.clone();
    let obj = v.as_object_mut().unwrap();
    for m in PRIVATE_MEMBERS {
        obj.remove(m);
    }
    let j = jwk(&v);
    assert!(!j.is_private());
    j
}

fn signing_input(token: &str) -> &str {
    &token[..token.rfind('.').unwrap()]
}

fn signature(token: &str) -> Vec<u8> {
    let sig = &token[token.rfind('.').unwrap() + 1..];
    b64::decode(sig.as_bytes(), "signature").unwrap()
}

/// Flips one character of the payload segment (keeping it base64url).
fn tamper_payload(token: &str) -> String {
    let start = token.find('.').unwrap() + 1;
    let mut bytes = token.as_bytes().to_vec();
    bytes[start] = if bytes[start] == b'A' { b'B' } else { b'A' };
    String::from_utf8(bytes).unwrap()
}

fn verify_payload(token: &str, key: &VerifyingKey) -> Result<Vec<u8>, Error> {
    UnverifiedToken::parse(token, &Limits::default())?
        .verify(key)
        .map(|v| v.payload().to_vec())
}

#[test]
fn rfc7515_a1_hs256_verifies_but_has_no_audience() {
    let v = &vectors("rfc7515_appendix_a.json")["a1_hs256"];
    let token = text(v, "token");
    let exp = v["exp"].as_i64().unwrap();

    let key = SigningKey::from_jwk(&jwk(&v["jwk"]), Some(Algorithm::HS256)).unwrap();
    assert_eq!(key.algorithm(), Algorithm::HS256);
    // HMAC is deterministic: our MAC over the RFC's signing input is the RFC's.
    assert_eq!(
        key.sign(signing_input(token).as_bytes()).unwrap(),
        signature(token)
    );

    // Signature verification succeeds and yields the exact payload bytes (with CRLFs).
    let parsed = UnverifiedToken::parse(token, &Limits::default()).unwrap();
    assert_eq!(parsed.header().alg(), Algorithm::HS256);
    assert_eq!(parsed.header().typ(), Some("JWT"));
    let verified = parsed.verify(key.verifying_key()).unwrap();
    assert_eq!(verified.payload(), text(v, "payload").as_bytes());

    // Full validation, before `exp`, with the right issuer: refused, because
    // the example carries no `aud` and an audience is always required.
    let validation = Validation::new(text(v, "iss"), "https://api.example").with_typ(Some("JWT"));
    let clock = ManualClock::new(exp - 60);
    let err = verified
        .validate::<Value>(&validation, clock.now())
        .unwrap_err();
    assert_eq!(err, Error::MissingClaim("aud"));
    let keys: KeySet = [key.verifying_key().clone()].into_iter().collect();
    assert_eq!(
        decode::<Value>(token, &keys, &validation, &clock).unwrap_err(),
        Error::MissingClaim("aud")
    );
    // After `exp` (and the leeway) the same token is expired first.
    clock.set(exp + 3600);
    assert_eq!(
        decode::<Value>(token, &keys, &validation, &clock).unwrap_err(),
        Error::Expired
    );
    // The wrong issuer is named as such once `exp` is satisfied.
    clock.set(exp - 60);
    let other_issuer = Validation::new("not-joe", "https://api.example").with_typ(Some("JWT"));
    assert_eq!(
        decode::<Value>(token, &keys, &other_issuer, &clock).unwrap_err(),
        Error::InvalidIssuer
    );

    // What the unverified decoder shows matches the RFC's claims.
    let parts = decode_unverified(token, &Limits::default()).unwrap();
    assert_eq!(parts.payload["iss"], "joe");
    assert_eq!(parts.payload["exp"], exp);
    assert_eq!(parts.payload["http://example.com/is_root"], true);

    // A modified payload fails; a key owning another HMAC algorithm refuses the token.
    assert_eq!(
        verify_payload(&tamper_payload(token), key.verifying_key()).unwrap_err(),
        Error::InvalidSignature
    );
    let hs384 = SigningKey::from_jwk(&jwk(&v["jwk"]), Some(Algorithm::HS384)).unwrap();
    assert_eq!(
        verify_payload(token, hs384.verifying_key()).unwrap_err(),
        Error::AlgorithmMismatch
    );
}

#[test]
fn rfc7515_a2_rs256() {
    let v = &vectors("rfc7515_appendix_a.json")["a2_rs256"];
    let token = text(v, "token");

    let private = SigningKey::from_jwk(&jwk(&v["jwk"]), Some(Algorithm::RS256)).unwrap();
    // RSASSA-PKCS1-v1_5 is deterministic: this pins n, e, d, p, q, dp, dq and qi.
    assert_eq!(
        private.sign(signing_input(token).as_bytes()).unwrap(),
        signature(token)
    );

    let public = VerifyingKey::from_jwk(&public_jwk(&v["jwk"]), Some(Algorithm::RS256)).unwrap();
    assert_eq!(
        public.thumbprint().unwrap(),
        private.verifying_key().thumbprint().unwrap()
    );
    assert_eq!(
        verify_payload(token, &public).unwrap(),
        text(v, "payload").as_bytes()
    );
    assert_eq!(
        verify_payload(&tamper_payload(token), &public).unwrap_err(),
        Error::InvalidSignature
    );

    // The same RSA key owned by PS256 refuses an RS256 token before any crypto.
    let pss = VerifyingKey::from_jwk(&public_jwk(&v["jwk"]), Some(Algorithm::PS256)).unwrap();
    assert_eq!(
        verify_payload(token, &pss).unwrap_err(),
        Error::AlgorithmMismatch
    );
}

#[test]
fn rfc7515_a3_es256() {
    let v = &vectors("rfc7515_appendix_a.json")["a3_es256"];
    let token = text(v, "token");
    assert_eq!(signature(token).len(), 64, "ES256 signatures are r||s");

    // With no `alg` member, a P-256 JWK implies ES256.
    let public = VerifyingKey::from_jwk(&public_jwk(&v["jwk"]), None).unwrap();
    assert_eq!(public.algorithm(), Algorithm::ES256);
    assert_eq!(
        verify_payload(token, &public).unwrap(),
        text(v, "payload").as_bytes()
    );
    assert_eq!(
        verify_payload(&tamper_payload(token), &public).unwrap_err(),
        Error::InvalidSignature
    );

    // The private key is the RFC's: its public half verifies the RFC token, and
    // (ECDSA being randomized) a fresh signature of ours verifies with the public JWK.
    let private = SigningKey::from_jwk(&jwk(&v["jwk"]), None).unwrap();
    assert_eq!(
        verify_payload(token, private.verifying_key()).unwrap(),
        text(v, "payload").as_bytes()
    );
    let ours = private.sign(signing_input(token).as_bytes()).unwrap();
    public
        .verify(signing_input(token).as_bytes(), &ours)
        .unwrap();

    // An ES384 key refuses the ES256 header.
    let es384 = SigningKey::generate(Algorithm::ES384).unwrap();
    assert_eq!(
        verify_payload(token, es384.verifying_key()).unwrap_err(),
        Error::AlgorithmMismatch
    );
}

#[test]
fn rfc7515_a4_es512_is_refused() {
    let v = &vectors("rfc7515_appendix_a.json")["a4_es512"];
    let token = text(v, "token");

    assert_eq!(
        text(v, "alg").parse::<Algorithm>().unwrap_err(),
        Error::UnsupportedAlgorithm
    );
    assert_eq!(
        UnverifiedToken::parse(token, &Limits::default()).unwrap_err(),
        Error::UnsupportedAlgorithm
    );
    assert_eq!(
        decode_unverified(token, &Limits::default()).unwrap_err(),
        Error::UnsupportedAlgorithm
    );
    // The P-521 key is refused whatever algorithm it is offered for.
    assert!(matches!(
        VerifyingKey::from_jwk(&public_jwk(&v["jwk"]), None),
        Err(Error::InvalidKey(_))
    ));
    assert!(matches!(
        VerifyingKey::from_jwk(&public_jwk(&v["jwk"]), Some(Algorithm::ES384)),
        Err(Error::InvalidKey(_))
    ));
    assert!(matches!(
        SigningKey::from_jwk(&jwk(&v["jwk"]), Some(Algorithm::ES256)),
        Err(Error::InvalidKey(_))
    ));
}

#[test]
fn rfc7515_a5_unsecured_jws_is_refused() {
    let v = &vectors("rfc7515_appendix_a.json")["a5_none"];
    let token = text(v, "token");
    assert!(
        token.ends_with('.'),
        "an unsecured JWS has an empty signature"
    );

    assert_eq!(
        UnverifiedToken::parse(token, &Limits::default()).unwrap_err(),
        Error::UnsupportedAlgorithm
    );
    assert_eq!(
        decode_unverified(token, &Limits::default()).unwrap_err(),
        Error::UnsupportedAlgorithm
    );
    // Even with a key set that would verify A.1's claims, `none` never passes.
    let a1 = &vectors("rfc7515_appendix_a.json")["a1_hs256"];
    let key = SigningKey::from_jwk(&jwk(&a1["jwk"]), Some(Algorithm::HS256)).unwrap();
    let keys: KeySet = [key.verifying_key().clone()].into_iter().collect();
    let validation = Validation::new("joe", "https://api.example").with_typ(None);
    let clock = ManualClock::new(1_300_819_000);
    assert_eq!(
        decode::<Value>(token, &keys, &validation, &clock).unwrap_err(),
        Error::UnsupportedAlgorithm
    );
}

#[test]
fn rfc7520_section4_signatures() {
    let file = vectors("rfc7520_section4.json");
    let payload = text(&file, "payload").as_bytes();
    let keys = &file["keys"];
    let ex = &file["examples"];
    let rsa = &keys["rsa_private"];

    // 4.1 RS256: the RFC's RSA key has no `alg`, so the caller names it.
    let v = &ex["4_1_rs256"];
    let token = text(v, "token");
    let rs256 = SigningKey::from_jwk(&jwk(rsa), Some(Algorithm::RS256)).unwrap();
    assert_eq!(
        rs256.kid(),
        "bilbo.baggins@hobbiton.example",
        "the JWK kid is kept"
    );
    assert_eq!(
        rs256.sign(signing_input(token).as_bytes()).unwrap(),
        signature(token)
    );
    let rs256_pub = VerifyingKey::from_jwk(&public_jwk(rsa), Some(Algorithm::RS256)).unwrap();
    assert_eq!(verify_payload(token, &rs256_pub).unwrap(), payload);
    // Selected by the header's kid from a key set.
    let set: KeySet = [rs256_pub.clone()].into_iter().collect();
    let verified = UnverifiedToken::parse(token, &Limits::default())
        .unwrap()
        .verify_with(&set)
        .unwrap();
    assert_eq!(
        verified.header().kid(),
        Some("bilbo.baggins@hobbiton.example")
    );
    assert_eq!(verified.payload(), payload);

    // 4.2 PS384 with the same RSA key (PSS is randomized: verify the RFC's
    // signature, then check that a fresh one of ours verifies too).
    let v = &ex["4_2_ps384"];
    let token = text(v, "token");
    let ps384_pub = VerifyingKey::from_jwk(&public_jwk(rsa), Some(Algorithm::PS384)).unwrap();
    assert_eq!(verify_payload(token, &ps384_pub).unwrap(), payload);
    assert_eq!(
        verify_payload(&tamper_payload(token), &ps384_pub).unwrap_err(),
        Error::InvalidSignature
    );
    let ps384 = SigningKey::from_jwk(&jwk(rsa), Some(Algorithm::PS384)).unwrap();
    let ours = ps384.sign(signing_input(token).as_bytes()).unwrap();
    ps384_pub
        .verify(signing_input(token).as_bytes(), &ours)
        .unwrap();
    // Keys own their algorithms: neither RSA key accepts the other's token.
    assert_eq!(
        verify_payload(token, &rs256_pub).unwrap_err(),
        Error::AlgorithmMismatch
    );
    assert_eq!(
        verify_payload(text(&ex["4_1_rs256"], "token"), &ps384_pub).unwrap_err(),
        Error::AlgorithmMismatch
    );

    // 4.3 ES512 (P-521): unsupported by design.
    let v = &ex["4_3_es512"];
    let token = text(v, "token");
    assert_eq!(
        UnverifiedToken::parse(token, &Limits::default()).unwrap_err(),
        Error::UnsupportedAlgorithm
    );
    assert!(matches!(
        VerifyingKey::from_jwk(&public_jwk(&keys["ec_p521_private"]), None),
        Err(Error::InvalidKey(_))
    ));

    // 4.4 HS256: the symmetric JWK names its algorithm itself.
    let v = &ex["4_4_hs256"];
    let token = text(v, "token");
    let hmac = SigningKey::from_jwk(&jwk(&keys["hmac"]), None).unwrap();
    assert_eq!(hmac.algorithm(), Algorithm::HS256);
    assert_eq!(
        hmac.sign(signing_input(token).as_bytes()).unwrap(),
        signature(token)
    );
    assert_eq!(
        verify_payload(token, hmac.verifying_key()).unwrap(),
        payload
    );
    // A symmetric JWK is never accepted as a public key.
    assert!(matches!(
        VerifyingKey::from_jwk(&jwk(&keys["hmac"]), None),
        Err(Error::InvalidKey(_))
    ));

    // Every example's protected header is what the RFC shows.
    for name in ["4_1_rs256", "4_2_ps384", "4_3_es512", "4_4_hs256"] {
        let v = &ex[name];
        let h = text(v, "token").split('.').next().unwrap();
        assert_eq!(
            b64::decode(h.as_bytes(), "header").unwrap(),
            text(v, "protected_header").as_bytes(),
            "{name}"
        );
    }
}

#[test]
fn rfc8037_ed25519() {
    let v = vectors("rfc8037_appendix_a.json");
    let token = text(&v, "a4_token");
    let thumbprint = text(&v, "a3_thumbprint");

    // A.1/A.3: the key and its RFC 7638 thumbprint.
    let public_jwk = jwk(&v["a2_public_jwk"]);
    assert_eq!(public_jwk.thumbprint().unwrap(), thumbprint);
    assert_eq!(
        b64::encode(&crypto::sha256(
            text(&v, "a3_thumbprint_canonical").as_bytes()
        )),
        thumbprint
    );
    let public = VerifyingKey::from_jwk(&public_jwk, None).unwrap();
    assert_eq!(public.algorithm(), Algorithm::EdDSA);
    assert_eq!(public.thumbprint().unwrap(), thumbprint);
    assert_eq!(
        public.kid(),
        thumbprint,
        "a JWK without kid gets its thumbprint"
    );

    // A.4: Ed25519 is deterministic, so our signature is the RFC's.
    let private = SigningKey::from_jwk(&jwk(&v["a1_private_jwk"]), None).unwrap();
    assert_eq!(private.verifying_key().thumbprint().unwrap(), thumbprint);
    assert_eq!(signing_input(token), text(&v, "a4_signing_input"));
    assert_eq!(
        private.sign(signing_input(token).as_bytes()).unwrap(),
        signature(token)
    );

    // A.5: verification.
    assert_eq!(
        verify_payload(token, &public).unwrap(),
        text(&v, "a4_payload").as_bytes()
    );
    assert_eq!(
        verify_payload(&tamper_payload(token), &public).unwrap_err(),
        Error::InvalidSignature
    );
    // A key owned by the fully specified name `Ed25519` accepts the `EdDSA` header.
    let fully_specified = VerifyingKey::from_jwk(&public_jwk, Some(Algorithm::Ed25519)).unwrap();
    assert_eq!(fully_specified.algorithm(), Algorithm::Ed25519);
    assert_eq!(
        verify_payload(token, &fully_specified).unwrap(),
        text(&v, "a4_payload").as_bytes()
    );
}

#[test]
fn rfc7638_thumbprint() {
    let v = vectors("rfc7638_section3_1.json");
    let expected = text(&v, "thumbprint");
    let j = jwk(&v["jwk"]);
    assert_eq!(j.thumbprint().unwrap(), expected);
    // The canonical form the RFC shows hashes to the same value.
    assert_eq!(
        b64::encode(&crypto::sha256(text(&v, "canonical").as_bytes())),
        expected
    );
    // As a verification key: alg and kid come from the JWK; the thumbprint
    // ignores them.
    let key = VerifyingKey::from_jwk(&j, None).unwrap();
    assert_eq!(key.algorithm(), Algorithm::RS256);
    assert_eq!(key.kid(), "2011-04-29");
    assert_eq!(key.thumbprint().unwrap(), expected);
    assert_eq!(key.to_jwk().unwrap().thumbprint().unwrap(), expected);
    // Changing the modulus changes the thumbprint.
    let mut other = j.clone();
    other.n = Some(other.n.unwrap().replacen('0', "1", 1));
    assert_ne!(other.thumbprint().unwrap(), expected);
}
