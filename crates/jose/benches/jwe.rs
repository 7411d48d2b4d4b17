#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]
//! Criterion benchmarks for tessera-jose's JWE: encrypt and decrypt of an
//! access-token-sized plaintext for representative `alg`/`enc` pairs, and a
//! nested JWT (ES256 signed, then encrypted) both ways.
//!
//! Run with `cargo bench -p tessera-jose --bench jwe`.

use criterion::{black_box, criterion_group, criterion_main, Criterion};
use serde_json::{json, Value};
use std::time::Duration;
use tessera_jose::jwe::{
    self, ContentAlgorithm as Enc, DecryptionKey, EncryptOptions, KeyAlgorithm,
};
use tessera_jose::{Algorithm, KeySet, Limits, ManualClock, SigningKey, Validation};

const ISS: &str = "https://auth.example.com";
const AUD: &str = "https://api.example.com";

fn claims() -> Value {
    json!({
        "iss": ISS, "sub": "usr_01HZX3K9M2Q7V5T8", "aud": AUD,
        "exp": 1_700_000_900, "iat": 1_700_000_000, "nbf": 1_700_000_000,
        "jti": "01HZX3KA0000000000000000", "sid": "ses_01HZX3K9M2Q7V5T8",
        "roles": ["admin", "billing"], "scope": "openid profile email read write",
        "tenant": "acme", "email_verified": true,
    })
}

fn pairs() -> Vec<(&'static str, DecryptionKey, Enc)> {
    vec![
        (
            "dir+A256GCM",
            DecryptionKey::from_secret(KeyAlgorithm::Dir, &[7u8; 32]).unwrap(),
            Enc::A256Gcm,
        ),
        (
            "A256KW+A256GCM",
            DecryptionKey::generate(KeyAlgorithm::A256Kw).unwrap(),
            Enc::A256Gcm,
        ),
        (
            "A128KW+A128CBC-HS256",
            DecryptionKey::generate(KeyAlgorithm::A128Kw).unwrap(),
            Enc::A128CbcHs256,
        ),
        (
            "ECDH-ES(P-256)+A256GCM",
            DecryptionKey::generate_ecdh(KeyAlgorithm::EcdhEs, "P-256").unwrap(),
            Enc::A256Gcm,
        ),
        (
            "ECDH-ES+A256KW(X25519)+A256GCM",
            DecryptionKey::generate_ecdh(KeyAlgorithm::EcdhEsA256Kw, "X25519").unwrap(),
            Enc::A256Gcm,
        ),
        (
            "ECDH-ES+A128KW(P-384)+A256CBC-HS512",
            DecryptionKey::generate_ecdh(KeyAlgorithm::EcdhEsA128Kw, "P-384").unwrap(),
            Enc::A256CbcHs512,
        ),
        (
            "RSA-OAEP-256(2048)+A256GCM",
            DecryptionKey::generate(KeyAlgorithm::RsaOaep256).unwrap(),
            Enc::A256Gcm,
        ),
    ]
}

fn benches(c: &mut Criterion) {
    let plaintext = serde_json::to_vec(&claims()).unwrap();
    let limits = Limits::default();
    let opts = EncryptOptions::default();
    for (name, key, enc) in pairs() {
        let to = key.encryption_key();
        let token = jwe::encrypt(&plaintext, &to, enc, &opts).unwrap();
        assert_eq!(
            jwe::decrypt(&token, &key, enc, &limits)
                .unwrap()
                .plaintext(),
            &plaintext[..]
        );
        println!("{name}: token {} bytes", token.len());
        c.bench_function(&format!("jwe encrypt {name}"), |b| {
            b.iter(|| jwe::encrypt(black_box(&plaintext), &to, enc, &opts).unwrap())
        });
        c.bench_function(&format!("jwe decrypt {name}"), |b| {
            b.iter(|| jwe::decrypt(black_box(&token), &key, enc, &limits).unwrap())
        });
    }

    // Nested: ES256 inside ECDH-ES+A256KW on P-256 with A256GCM.
    let signer = SigningKey::generate(Algorithm::ES256).unwrap();
    let keys: KeySet = [signer.verifying_key().clone()].into_iter().collect();
    let key = DecryptionKey::generate(KeyAlgorithm::EcdhEsA256Kw).unwrap();
    let to = key.encryption_key();
    let claims = claims();
    let validation = Validation::new(ISS, AUD);
    let clock = ManualClock::new(1_700_000_100);
    let token = jwe::encode_encrypted(&signer, Some("at+jwt"), &claims, &to, Enc::A256Gcm).unwrap();
    println!(
        "nested ES256 in ECDH-ES+A256KW(P-256)+A256GCM: token {} bytes",
        token.len()
    );
    c.bench_function(
        "jwe nested encode ES256 + ECDH-ES+A256KW(P-256)+A256GCM",
        |b| {
            b.iter(|| {
                jwe::encode_encrypted(
                    &signer,
                    Some("at+jwt"),
                    black_box(&claims),
                    &to,
                    Enc::A256Gcm,
                )
                .unwrap()
            })
        },
    );
    c.bench_function(
        "jwe nested decode ES256 + ECDH-ES+A256KW(P-256)+A256GCM",
        |b| {
            b.iter(|| {
                jwe::decode_encrypted::<Value>(
                    black_box(&token),
                    &key,
                    Enc::A256Gcm,
                    &keys,
                    &validation,
                    &clock,
                )
                .unwrap()
            })
        },
    );
}

fn config() -> Criterion {
    Criterion::default()
        .measurement_time(Duration::from_secs(3))
        .warm_up_time(Duration::from_secs(1))
        .sample_size(50)
}

criterion_group! {
    name = jwe_benches;
    config = config();
    targets = benches
}
criterion_main!(jwe_benches);
