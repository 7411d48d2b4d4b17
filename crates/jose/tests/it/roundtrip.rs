//! Sign → verify, and key import/export round trips, for every algorithm.

use serde_json::{json, Value};
use tessera_jose::{
    decode, encode, Algorithm, Error, Family, Jwk, KeySet, ManualClock, SigningKey, Validation,
    VerifyingKey,
};

const NOW: i64 = 1_700_000_000;

fn claims() -> Value {
    json!({"iss": "https://auth.example", "aud": ["api", "other"], "sub": "u1", "exp": NOW + 900, "iat": NOW})
}

fn validation() -> Validation {
    Validation::new("https://auth.example", "api")
}

#[test]
fn every_algorithm_round_trips_through_pem_and_jwk() {
    let clock = ManualClock::new(NOW);
    for alg in Algorithm::ALL {
        let key = SigningKey::generate(alg).unwrap();
        assert_eq!(key.algorithm(), alg);
        let token = encode(&key, Some("at+jwt"), &claims()).unwrap();
        let keys: KeySet = [key.verifying_key().clone()].into_iter().collect();
        let data = decode::<Value>(&token, &keys, &validation(), &clock).unwrap();
        assert_eq!(data.registered.sub.as_deref(), Some("u1"), "{alg}");

        // Private JWK round trip signs tokens the original verifies.
        let jwk = key.to_private_jwk().unwrap();
        assert!(jwk.is_private());
        let again = SigningKey::from_jwk(&Jwk::from_json(&jwk.to_json()).unwrap(), None).unwrap();
        assert_eq!(again.kid(), key.kid());
        let t2 = encode(&again, Some("at+jwt"), &claims()).unwrap();
        decode::<Value>(&t2, &keys, &validation(), &clock).unwrap();

        if alg.family() == Family::Hmac {
            assert!(key.verifying_key().to_jwk().is_err());
            assert!(key.to_pkcs8_pem().is_err());
            continue;
        }
        // Public JWK and SPKI PEM give a verifier for the same tokens, same kid.
        let pub_jwk = key.verifying_key().to_jwk().unwrap();
        assert!(!pub_jwk.is_private());
        assert_eq!(pub_jwk.kid.as_deref(), Some(key.kid()));
        assert_eq!(pub_jwk.thumbprint().unwrap(), key.kid());
        let v = VerifyingKey::from_jwk(&pub_jwk, None).unwrap();
        let ks: KeySet = [v].into_iter().collect();
        decode::<Value>(&token, &ks, &validation(), &clock).unwrap();

        let pem = key.verifying_key().to_spki_pem().unwrap();
        let v = VerifyingKey::from_pem(alg, &pem).unwrap();
        assert_eq!(
            v.kid(),
            key.kid(),
            "thumbprint kid is stable across formats"
        );
        let ks: KeySet = [v].into_iter().collect();
        decode::<Value>(&token, &ks, &validation(), &clock).unwrap();

        let priv_pem = key.to_pkcs8_pem().unwrap();
        let k2 = SigningKey::from_pem(alg, &priv_pem).unwrap();
        assert_eq!(k2.kid(), key.kid());
        let dbg = format!("{key:?} {k2:?} {jwk:?}");
        assert!(!dbg.contains(jwk.d.as_deref().unwrap()), "Debug leaks d");
    }
}

#[test]
fn key_refuses_a_header_naming_another_algorithm() {
    let es = SigningKey::generate(Algorithm::ES256).unwrap();
    let es384 = SigningKey::generate(Algorithm::ES384)
        .unwrap()
        .with_kid(es.kid());
    let token = encode(&es384, Some("at+jwt"), &claims()).unwrap();
    let keys: KeySet = [es.verifying_key().clone()].into_iter().collect();
    let err = decode::<Value>(&token, &keys, &validation(), &ManualClock::new(NOW)).unwrap_err();
    assert_eq!(err, Error::AlgorithmMismatch);
}
