//! The DPoP proof check as core runs it: the `jti` replay cache is shared by
//! every instance on the same store, entries expire with the `iat` window,
//! and nonces are the same on every instance.

use crate::{app_with, cfg, env, env_with, secret, T0};
use tessera_core::{DpopRefused, Error};
use tessera_jose::dpop::{self, Claims};
use tessera_jose::{Algorithm, SigningKey};

const URL: &str = "https://auth.example/v1/auth/login";

fn proof(key: &SigningKey, jti: &str, iat: i64, nonce: Option<&str>) -> String {
    dpop::sign(
        key,
        &Claims {
            jti,
            htm: "POST",
            htu: URL,
            iat,
            ath: None,
            nonce,
        },
    )
    .unwrap()
}

#[tokio::test]
async fn a_proof_is_accepted_once_across_instances_on_one_store() {
    let e = env().await;
    let other = app_with(e.store.clone(), secret(), cfg(), e.clock.clone())
        .await
        .unwrap();
    let key = SigningKey::generate(Algorithm::ES256).unwrap();
    let p = proof(&key, "j1", T0, None);
    let jkt = e.auth.dpop.check(&p, "POST", URL, None).await.unwrap();
    assert_eq!(jkt, key.verifying_key().thumbprint().unwrap());
    for app in [&e.auth, &other] {
        let err = app.dpop.check(&p, "POST", URL, None).await.unwrap_err();
        assert!(
            matches!(err, Error::InvalidDpopProof(DpopRefused::Replayed)),
            "{err}"
        );
    }
    // The same jti from another key is another proof.
    let k2 = SigningKey::generate(Algorithm::EdDSA).unwrap();
    other
        .dpop
        .check(&proof(&k2, "j1", T0, None), "POST", URL, None)
        .await
        .unwrap();
}

#[tokio::test]
async fn nonces_are_required_when_on_and_shared_by_instances() {
    let mut c = cfg();
    c.dpop.nonce = true;
    let e = env_with(c.clone()).await;
    let other = app_with(e.store.clone(), secret(), c, e.clock.clone())
        .await
        .unwrap();
    let key = SigningKey::generate(Algorithm::ES256).unwrap();
    let err = e
        .auth
        .dpop
        .check(&proof(&key, "a", T0, None), "POST", URL, None)
        .await
        .unwrap_err();
    let Error::UseDpopNonce(nonce) = err else {
        panic!("{err}")
    };
    assert_eq!(e.auth.dpop.nonce().as_deref(), Some(nonce.as_str()));
    other
        .dpop
        .check(&proof(&key, "b", T0, Some(&nonce)), "POST", URL, None)
        .await
        .unwrap();
}

#[tokio::test]
async fn with_redis_the_replay_cache_is_shared_without_a_shared_database() {
    let Ok(url) = std::env::var("TESSERA_TEST_REDIS_URL") else {
        eprintln!("skipped: DPoP replay cache in Redis (set TESSERA_TEST_REDIS_URL to run it)");
        return;
    };
    let clock = std::sync::Arc::new(tessera_jose::ManualClock::new(T0));
    let (d1, d2) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let mut apps = Vec::new();
    for d in [&d1, &d2] {
        let mut c = tessera_core::AppConfig::new(d.path());
        c.auth = cfg();
        c.redis_url = Some(url.clone());
        apps.push(tessera_core::App::open(c, clock.clone()).await.unwrap());
    }
    let key = SigningKey::generate(Algorithm::ES256).unwrap();
    // A jti unique to this run (Redis outlives it).
    let jti = tessera_jose::b64::encode(&tessera_jose::crypto::random_bytes(12).unwrap());
    let p = proof(&key, &jti, T0, None);
    apps[0].dpop.check(&p, "POST", URL, None).await.unwrap();
    let err = apps[1].dpop.check(&p, "POST", URL, None).await.unwrap_err();
    assert!(
        matches!(err, Error::InvalidDpopProof(DpopRefused::Replayed)),
        "{err}"
    );
}
