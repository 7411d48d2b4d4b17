//! Guarded requests per second, with and without the verified-token cache.
//!
//! `cargo bench -p tessera-guard --bench guard`
//!
//! Each iteration sends one `GET /api/hello` with a Bearer ES256 token
//! through the whole axum router (`tower::ServiceExt::oneshot`): header
//! parsing, the guard layer, the `Claims<T>` extractor and the handler. The
//! keys are static, so no network is involved; `verify/*` rows time the
//! guard alone.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use axum::body::Body;
use axum::routing::get;
use axum::{Json, Router};
use criterion::{black_box, criterion_group, criterion_main, Criterion};
use http::Request;
use serde_json::{json, Value};
use std::sync::Arc;
use std::time::Duration;
use tessera_guard::{Claims, Guard};
use tessera_jose::{encode, Algorithm, KeySet, ManualClock, SigningKey};
use tower::ServiceExt;

const NOW: i64 = 1_800_000_000;

fn claims() -> Value {
    json!({
        "iss": "https://auth.example.com", "sub": "0f8c1a52-6a1d-4d53-9a59-2c5b1b0d8e11",
        "aud": "tessera", "exp": NOW + 900, "iat": NOW, "jti": "5b1e0c2a9f7d4e3b8c6a1d2e3f4a5b6c",
        "sid": "c2a9f7d4e3b8c6a1", "roles": ["user", "billing"],
    })
}

fn make_guard(rt: &tokio::runtime::Runtime, keys: KeySet, capacity: usize) -> Guard {
    rt.block_on(
        Guard::builder("https://auth.example.com", "tessera")
            .keys(keys)
            .clock(Arc::new(ManualClock::new(NOW)))
            .cache_capacity(capacity)
            .build(),
    )
    .unwrap()
}

fn router(g: &Guard) -> Router {
    Router::new()
        .route(
            "/api/hello",
            get(|Claims(c): Claims<Value>| async move { Json(c["sub"].clone()) }),
        )
        .layer(g.layer())
}

fn benches(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let key = SigningKey::generate(Algorithm::ES256).unwrap();
    let keys: KeySet = [key.verifying_key().clone()].into_iter().collect();
    let token = encode(&key, Some("at+jwt"), &claims()).unwrap();
    let bearer = format!("Bearer {token}");

    let mut g = c.benchmark_group("guard");
    for (name, capacity) in [("cached", 10_000), ("uncached", 0)] {
        let guard = make_guard(&rt, keys.clone(), capacity);
        let app = router(&guard);
        g.bench_function(format!("request/{name}"), |b| {
            b.iter(|| {
                let req = Request::get("/api/hello")
                    .header("authorization", &bearer)
                    .body(Body::empty())
                    .unwrap();
                let res = rt.block_on(app.clone().oneshot(req)).unwrap();
                assert_eq!(res.status(), 200);
            })
        });
        g.bench_function(format!("verify/{name}"), |b| {
            b.iter(|| rt.block_on(guard.verify(black_box(&token))).unwrap())
        });
    }
    g.finish();
}

fn config() -> Criterion {
    Criterion::default()
        .measurement_time(Duration::from_secs(3))
        .warm_up_time(Duration::from_secs(1))
        .sample_size(50)
}

criterion_group! { name = guard; config = config(); targets = benches }
criterion_main!(guard);
