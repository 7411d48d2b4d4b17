//! The cost of a DPoP proof check next to a plain Bearer check (issue 19).
//!
//! `cargo bench -p tessera-guard --bench dpop`
//!
//! `guard/*` rows time `Guard::verify_request` (the guard layer's work for
//! one request, without the router): a Bearer token; a DPoP-bound token with
//! a fresh proof (ES256 or EdDSA), which adds parsing the proof, verifying
//! its signature with the embedded key, the `htm`/`htu`/`ath`/`iat` checks,
//! the thumbprint and the replay cache. The access token's own verification
//! is cached in every row (as in production after the first request), so
//! the difference is the proof. `jose/*` rows time the proof check alone and
//! an uncached access-token verification for scale. Proofs are signed in
//! criterion's untimed setup.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use criterion::{black_box, criterion_group, criterion_main, BatchSize, Criterion};
use http::{HeaderMap, HeaderValue, Method, Uri};
use serde_json::{json, Value};
use std::sync::Arc;
use std::time::Duration;
use tessera_guard::Guard;
use tessera_jose::dpop::{self, Claims, Expect};
use tessera_jose::{encode, Algorithm, KeySet, ManualClock, SigningKey, Validation};

const NOW: i64 = 1_800_000_000;
const API: &str = "https://api.example.com";

fn claims(jkt: Option<&str>) -> Value {
    let mut c = json!({
        "iss": "https://auth.example.com", "sub": "0f8c1a52-6a1d-4d53-9a59-2c5b1b0d8e11",
        "aud": "tessera", "exp": NOW + 900, "iat": NOW, "jti": "5b1e0c2a9f7d4e3b8c6a1d2e3f4a5b6c",
        "sid": "c2a9f7d4e3b8c6a1", "roles": ["user", "billing"],
    });
    if let Some(jkt) = jkt {
        c["cnf"] = json!({ "jkt": jkt });
    }
    c
}

fn proof(key: &SigningKey, n: u64, token: &str) -> String {
    let jti = format!("{n:016x}");
    dpop::sign(
        key,
        &Claims {
            jti: &jti,
            htm: "GET",
            htu: &format!("{API}/api/hello"),
            iat: NOW,
            ath: Some(dpop::ath(token)),
            nonce: None,
        },
    )
    .unwrap()
}

fn headers(scheme: &str, token: &str, proof: Option<&str>) -> HeaderMap {
    let mut h = HeaderMap::new();
    let auth = HeaderValue::from_str(&format!("{scheme} {token}")).unwrap();
    h.insert(http::header::AUTHORIZATION, auth);
    if let Some(p) = proof {
        h.insert("dpop", HeaderValue::from_str(p).unwrap());
    }
    h
}

fn benches(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let issuer = SigningKey::generate(Algorithm::ES256).unwrap();
    let keys: KeySet = [issuer.verifying_key().clone()].into_iter().collect();
    let guard = rt
        .block_on(
            Guard::builder("https://auth.example.com", "tessera")
                .keys(keys.clone())
                .clock(Arc::new(ManualClock::new(NOW)))
                .dpop_public_url(API)
                .dpop_replay_capacity(50_000_000)
                .build(),
        )
        .unwrap();
    let (method, uri) = (Method::GET, Uri::from_static("/api/hello"));
    let mut g = c.benchmark_group("dpop");

    let bearer = encode(&issuer, Some("at+jwt"), &claims(None)).unwrap();
    let h = headers("Bearer", &bearer, None);
    g.bench_function("guard/bearer", |b| {
        b.iter(|| {
            rt.block_on(guard.verify_request(&method, &uri, black_box(&h)))
                .unwrap()
        })
    });

    let mut n = 0u64;
    for alg in [Algorithm::ES256, Algorithm::EdDSA] {
        let key = SigningKey::generate(alg).unwrap();
        let jkt = key.verifying_key().thumbprint().unwrap();
        let bound = encode(&issuer, Some("at+jwt"), &claims(Some(&jkt))).unwrap();
        g.bench_function(format!("guard/dpop_{alg}"), |b| {
            b.iter_batched(
                || {
                    n += 1;
                    headers("DPoP", &bound, Some(&proof(&key, n, &bound)))
                },
                |h| {
                    rt.block_on(guard.verify_request(&method, &uri, &h))
                        .unwrap()
                },
                BatchSize::SmallInput,
            )
        });
        let url = format!("{API}/api/hello");
        g.bench_function(format!("jose/proof_{alg}"), |b| {
            b.iter_batched(
                || {
                    n += 1;
                    proof(&key, n, &bound)
                },
                |p| {
                    let expect = Expect {
                        method: "GET",
                        url: &url,
                        access_token: Some(&bound),
                        now: NOW,
                        max_age: 60,
                        leeway: 30,
                    };
                    dpop::verify(black_box(&p), &expect).unwrap()
                },
                BatchSize::SmallInput,
            )
        });
    }
    let validation = Validation::new("https://auth.example.com", "tessera");
    let clock = ManualClock::new(NOW);
    g.bench_function("jose/access_token_ES256_uncached", |b| {
        b.iter(|| {
            tessera_jose::decode::<Value>(black_box(&bearer), &keys, &validation, &clock).unwrap()
        })
    });
    g.finish();
}

fn config() -> Criterion {
    Criterion::default()
        .measurement_time(Duration::from_secs(3))
        .warm_up_time(Duration::from_secs(1))
        .sample_size(50)
}

criterion_group! { name = dpop_benches; config = config(); targets = benches }
criterion_main!(dpop_benches);
