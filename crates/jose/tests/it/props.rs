//! Property tests: tampering is always detected, every algorithm round-trips
//! arbitrary claims, and no input makes a parser panic.

// Test helpers outside `#[test]` functions unwrap too.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use proptest::collection::{btree_map, vec};
use proptest::prelude::*;
use serde_json::{json, Value};
use std::sync::OnceLock;
use tessera_jose::{
    b64, dangerous, decode, encode, Algorithm, Error, Family, Jwk, Jwks, KeySet, Limits,
    ManualClock, SigningKey, UnverifiedToken, Validation, VerifyingKey,
};

const NOW: i64 = 1_700_000_000;
const ISS: &str = "https://auth.example";
const AUD: &str = "api";

/// One key per algorithm, generated once. The six RSA algorithms share one
/// 2048-bit key (generation is slow), and `Ed25519` shares the `EdDSA` key.
fn keys() -> &'static [SigningKey] {
    static KEYS: OnceLock<Vec<SigningKey>> = OnceLock::new();
    KEYS.get_or_init(|| {
        let rsa = SigningKey::generate(Algorithm::RS256).unwrap();
        let rsa_der = rsa.to_pkcs8_der().unwrap();
        let ed = SigningKey::generate(Algorithm::EdDSA).unwrap();
        let ed_der = ed.to_pkcs8_der().unwrap();
        Algorithm::ALL
            .iter()
            .map(|&alg| {
                match alg.family() {
                    Family::Rsa => SigningKey::from_der(alg, &rsa_der),
                    Family::Okp => SigningKey::from_der(alg, &ed_der),
                    _ => SigningKey::generate(alg),
                }
                .unwrap()
            })
            .collect()
    })
}

fn key(alg: Algorithm) -> &'static SigningKey {
    keys().iter().find(|k| k.algorithm() == alg).unwrap()
}

fn set(key: &SigningKey) -> KeySet {
    [key.verifying_key().clone()].into_iter().collect()
}

fn validation() -> Validation {
    Validation::new(ISS, AUD)
}

fn base_claims() -> Value {
    json!({"iss": ISS, "aud": AUD, "sub": "user-1", "exp": NOW + 900, "iat": NOW})
}

fn check(token: &str, keys: &KeySet) -> Result<Value, Error> {
    decode::<Value>(token, keys, &validation(), &ManualClock::new(NOW)).map(|d| d.claims)
}

/// A valid token per tamper-tested family, with its key set.
fn tamper_targets() -> &'static [(Algorithm, String, KeySet)] {
    static T: OnceLock<Vec<(Algorithm, String, KeySet)>> = OnceLock::new();
    T.get_or_init(|| {
        [
            Algorithm::HS256,
            Algorithm::RS256,
            Algorithm::PS256,
            Algorithm::ES256,
            Algorithm::EdDSA,
        ]
        .into_iter()
        .map(|alg| {
            let k = key(alg);
            let token = encode(k, Some("at+jwt"), &base_claims()).unwrap();
            let ks = set(k);
            check(&token, &ks).expect("control token verifies");
            (alg, token, ks)
        })
        .collect()
    })
}

fn config(cases: u32) -> ProptestConfig {
    ProptestConfig {
        cases,
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

proptest! {
    #![proptest_config(config(256))]

    /// Replacing any one byte of a valid token with any other byte is detected.
    #[test]
    fn any_byte_replacement_is_rejected(target in 0usize..5, pos in any::<prop::sample::Index>(), byte in any::<u8>()) {
        let (alg, token, ks) = &tamper_targets()[target];
        let mut bytes = token.clone().into_bytes();
        let i = pos.index(bytes.len());
        prop_assume!(bytes[i] != byte);
        bytes[i] = byte;
        let mutated = String::from_utf8_lossy(&bytes).into_owned();
        prop_assert_ne!(&mutated, token);
        prop_assert!(check(&mutated, ks).is_err(), "{} accepted a changed byte at {}", alg, i);
    }

    /// Flipping any one bit of a valid token is detected.
    #[test]
    fn any_bit_flip_is_rejected(target in 0usize..5, pos in any::<prop::sample::Index>(), bit in 0u8..8) {
        let (alg, token, ks) = &tamper_targets()[target];
        let mut bytes = token.clone().into_bytes();
        let i = pos.index(bytes.len());
        bytes[i] ^= 1 << bit;
        let mutated = String::from_utf8_lossy(&bytes).into_owned();
        prop_assert!(check(&mutated, ks).is_err(), "{} accepted bit {} flipped at {}", alg, bit, i);
    }
}

/// Arbitrary JSON values of bounded size and depth (no floats: they need
/// not survive a round trip bit for bit).
fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        ".{0,24}".prop_map(Value::String),
    ];
    leaf.prop_recursive(4, 24, 6, |inner| {
        prop_oneof![
            vec(inner.clone(), 0..6).prop_map(Value::Array),
            btree_map(".{0,12}", inner, 0..6).prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

proptest! {
    #![proptest_config(config(64))]

    /// Every algorithm signs arbitrary claims that the same key verifies back unchanged.
    #[test]
    fn every_algorithm_round_trips_arbitrary_claims(
        sub in ".{0,40}",
        jti in proptest::option::of("[A-Za-z0-9_-]{1,40}"),
        extra in json_value(),
        roles in vec(".{0,16}", 0..6),
        exp_offset in 1i64..1_000_000_000,
        aud_many in any::<bool>(),
    ) {
        let mut c = base_claims();
        c["sub"] = json!(sub);
        c["exp"] = json!(NOW + exp_offset);
        c["ext"] = extra;
        c["roles"] = json!(roles);
        if let Some(j) = &jti {
            c["jti"] = json!(j);
        }
        if aud_many {
            c["aud"] = json!(["other", AUD]);
        }
        for alg in Algorithm::ALL {
            let k = key(alg);
            let token = encode(k, Some("at+jwt"), &c).unwrap();
            let data = decode::<Value>(&token, &set(k), &validation(), &ManualClock::new(NOW));
            let data = match data {
                Ok(d) => d,
                Err(e) => return Err(TestCaseError::fail(format!("{alg}: {e}"))),
            };
            prop_assert_eq!(&data.claims, &c, "{}", alg);
            prop_assert_eq!(data.header.alg(), alg);
            prop_assert_eq!(data.header.kid(), Some(k.kid()));
            prop_assert_eq!(data.registered.sub.as_deref(), Some(sub.as_str()));
            prop_assert_eq!(data.registered.jti.as_deref(), jti.as_deref());
            prop_assert_eq!(data.registered.exp, Some(NOW + exp_offset));
            // What the dangerous reader shows is what was signed.
            let parts = dangerous::decode_unverified(&token, &Limits::default()).unwrap();
            prop_assert_eq!(&parts.payload, &c);
        }
    }
}

/// Token-shaped strings: three dot-separated segments that are base64url of
/// JSON-ish text, random base64url, or arbitrary text.
fn token_like() -> impl Strategy<Value = String> {
    let segment = prop_oneof![
        json_value().prop_map(|v| b64::encode(v.to_string().as_bytes())),
        json_value().prop_map(|v| {
            // Header-like objects with a plausible alg, so parsing goes deeper.
            let mut h = json!({"alg": "ES256", "typ": "at+jwt"});
            h["x"] = v;
            b64::encode(h.to_string().as_bytes())
        }),
        vec(any::<u8>(), 0..96).prop_map(|b| b64::encode(&b)),
        "[A-Za-z0-9_=+/ -]{0,64}",
        ".{0,32}",
    ];
    (segment.clone(), segment.clone(), segment).prop_map(|(h, p, s)| format!("{h}.{p}.{s}"))
}

fn any_text() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<String>(),
        vec(any::<u8>(), 0..512).prop_map(|b| String::from_utf8_lossy(&b).into_owned()),
        token_like(),
        json_value().prop_map(|v| v.to_string()),
    ]
}

/// The fixed keys the no-panic properties decode against.
fn fixed_keys() -> &'static KeySet {
    static K: OnceLock<KeySet> = OnceLock::new();
    K.get_or_init(|| keys().iter().map(|k| k.verifying_key().clone()).collect())
}

proptest! {
    #![proptest_config(config(256))]

    /// Arbitrary input never panics the token parsers, never verifies, and
    /// the dangerous reader is never more lenient than the parser.
    #[test]
    fn token_parsers_never_panic(text in any_text()) {
        let parsed = UnverifiedToken::parse(&text, &Limits::default());
        let unverified = dangerous::decode_unverified(&text, &Limits::default());
        if unverified.is_ok() {
            prop_assert!(parsed.is_ok(), "decode_unverified accepted what parse refused");
        }
        if let Ok(t) = parsed {
            prop_assert!(t.verify_with(fixed_keys()).is_err());
        }
        prop_assert!(check(&text, fixed_keys()).is_err());
    }

    /// Arbitrary text never panics JWK, JWKS or PEM import; a JWK that parses
    /// survives a serialization round trip.
    #[test]
    fn key_parsers_never_panic(text in any_text(), alg in prop::sample::select(Algorithm::ALL.to_vec())) {
        if let Ok(jwk) = Jwk::from_json(&text) {
            prop_assert_eq!(Jwk::from_json(&jwk.to_json()).unwrap(), jwk.clone());
            let _ = VerifyingKey::from_jwk(&jwk, None);
            let _ = VerifyingKey::from_jwk(&jwk, Some(alg));
            let _ = SigningKey::from_jwk(&jwk, Some(alg));
        }
        if let Ok(jwks) = Jwks::from_json(&text) {
            prop_assert_eq!(Jwks::from_json(&jwks.to_json()).unwrap(), jwks.clone());
            let _ = KeySet::from_jwks(&jwks);
        }
        if let Err(e) = VerifyingKey::from_pem(alg, &text) {
            prop_assert!(matches!(e, Error::InvalidKey(_)), "{:?}", e);
        }
        let _ = SigningKey::from_pem(alg, &text);
    }

    /// JWK-shaped objects with random members never panic key import.
    #[test]
    fn jwk_shaped_input_never_panics(
        kty in prop::sample::select(vec!["RSA", "EC", "OKP", "oct", "rsa", ""]),
        crv in proptest::option::of(prop::sample::select(vec!["P-256", "P-384", "P-521", "Ed25519", "X25519"])),
        alg in proptest::option::of(prop::sample::select(vec!["RS256", "PS512", "ES256", "ES384", "EdDSA", "Ed25519", "HS256", "none"])),
        members in btree_map(
            prop::sample::select(vec!["n", "e", "x", "y", "d", "p", "q", "dp", "dq", "qi", "k"]),
            vec(any::<u8>(), 0..300).prop_map(|b| b64::encode(&b)),
            0..8,
        ),
    ) {
        let mut v = json!({"kty": kty});
        if let Some(c) = crv { v["crv"] = json!(c); }
        if let Some(a) = alg { v["alg"] = json!(a); }
        for (name, value) in &members { v[*name] = json!(value); }
        let text = v.to_string();
        let jwk = Jwk::from_json(&text).unwrap();
        let pubkey = VerifyingKey::from_jwk(&jwk, None);
        let _ = SigningKey::from_jwk(&jwk, None);
        // Random bytes are (overwhelmingly) not a valid public key; if one
        // imports anyway, it must not verify a token it did not sign.
        if let Ok(k) = pubkey {
            let ks: KeySet = [k].into_iter().collect();
            let token = encode(key(Algorithm::ES256), Some("at+jwt"), &base_claims()).unwrap();
            prop_assert!(check(&token, &ks).is_err());
        }
        let jwks = format!(r#"{{"keys":[{text},{text}]}}"#);
        let _ = KeySet::from_jwks(&Jwks::from_json(&jwks).unwrap());
    }

    /// PEM armour around random DER never panics import.
    #[test]
    fn pem_armoured_garbage_never_panics(
        der in vec(any::<u8>(), 0..400),
        label in prop::sample::select(vec!["PUBLIC KEY", "RSA PUBLIC KEY", "PRIVATE KEY", "EC PRIVATE KEY", "CERTIFICATE"]),
        alg in prop::sample::select(Algorithm::ALL.to_vec()),
    ) {
        let pem = tessera_jose::pem::encode(label, &der);
        if let Err(e) = VerifyingKey::from_pem(alg, &pem) {
            prop_assert!(matches!(e, Error::InvalidKey(_)), "{:?}", e);
        }
        let _ = SigningKey::from_pem(alg, &pem);
        let _ = VerifyingKey::from_der(alg, &der);
        let _ = SigningKey::from_der(alg, &der);
    }
}

/// A freshly generated HMAC key is random, so it can never be "public key
/// material"; generation must not fail when the random secret happens to
/// start with `{` (about one key in 256), and the key must re-import.
#[test]
fn hmac_key_generation_never_fails() {
    for alg in [Algorithm::HS256, Algorithm::HS384, Algorithm::HS512] {
        for i in 0..2000 {
            let key = match SigningKey::generate(alg) {
                Ok(k) => k,
                Err(e) => panic!("{alg} generation #{i} failed: {e}"),
            };
            // And the secret can be exported and imported again.
            let jwk = key.to_private_jwk().unwrap();
            if let Err(e) = SigningKey::from_jwk(&jwk, None) {
                panic!("{alg} key #{i} does not re-import: {e}");
            }
        }
    }
}
