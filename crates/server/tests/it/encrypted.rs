//! Encrypted access tokens (`access_token_encryption_jwk`, issue 18): nested
//! JWTs a resource server decrypts, then verifies against the JWKS; the
//! server reads its own.

use crate::support::{send, TestServer};
use reqwest::Method;
use serde_json::Value;
use tessera_jose::jwe::{ContentAlgorithm, DecryptionKey, KeyAlgorithm};
use tessera_jose::{KeySet, Validation};

fn key_file(t: &tempfile::TempDir, key: &DecryptionKey) -> std::path::PathBuf {
    let path = t.path().join("enc.jwk");
    std::fs::write(&path, key.to_private_jwk().unwrap().to_json()).unwrap();
    path
}

#[tokio::test]
async fn access_tokens_are_encrypted_and_the_server_reads_its_own() {
    let dir = tempfile::tempdir().unwrap();
    let key = DecryptionKey::generate_ecdh(KeyAlgorithm::EcdhEsA256Kw, "P-256").unwrap();
    let path = key_file(&dir, &key);
    let t = TestServer::start_with(|c| c.access_token_encryption_jwk = Some(path)).await;
    let user = t.user("ada@x.io").await;
    let token = &user.tokens.access;
    // Five parts: clients see ciphertext, not claims.
    assert_eq!(token.split('.').count(), 5, "{token}");
    let header = tessera_jose::jwe::peek_header(token, &Default::default()).unwrap();
    assert_eq!(header.cty(), Some("JWT"));
    assert!(!token.contains(&tessera_jose::b64::encode(user.id.as_bytes())));
    // The server's own Bearer check and introspection read it.
    t.me(token).await.expect(200);
    // A resource server decrypts, then verifies against the JWKS.
    let keys = KeySet::from_jwks(&t.jwks().await);
    let validation = Validation::new(t.issuer().await, t.cfg.audience.clone()).require("sub");
    let data = tessera_jose::jwe::decode_encrypted::<Value>(
        token,
        &key,
        ContentAlgorithm::A256Gcm,
        &keys,
        &validation,
        &*t.clock,
    )
    .unwrap();
    assert_eq!(data.claims["sub"], user.id.as_str());
    // Another key cannot read it, and a tampered ciphertext is refused.
    let other = DecryptionKey::generate_ecdh(KeyAlgorithm::EcdhEsA256Kw, "P-256").unwrap();
    assert!(tessera_jose::jwe::decrypt(
        token,
        &other,
        ContentAlgorithm::A256Gcm,
        &Default::default()
    )
    .is_err());
    let mut parts: Vec<String> = token.split('.').map(str::to_owned).collect();
    let last = parts[3].pop().unwrap();
    parts[3].push(if last == 'A' { 'B' } else { 'A' });
    t.me(&parts.join(".")).await.expect_invalid_token();
}

#[tokio::test]
async fn a_public_only_or_alg_less_key_stops_start_up() {
    let dir = tempfile::tempdir().unwrap();
    let key = DecryptionKey::generate(KeyAlgorithm::RsaOaep256).unwrap();
    let public = key.encryption_key().to_jwk().unwrap();
    let mut no_alg = key.to_private_jwk().unwrap();
    no_alg.alg = None;
    // A `dir` key of 16 bytes cannot serve the default A256GCM (32 bytes).
    let dir16 = DecryptionKey::from_secret(KeyAlgorithm::Dir, &[4u8; 16])
        .unwrap()
        .to_private_jwk()
        .unwrap();
    let clock = std::sync::Arc::new(tessera_jose::ManualClock::new(crate::support::T0));
    for (jwk, says) in [
        (public, "private"),
        (no_alg, "alg"),
        (dir16, "cannot encrypt"),
    ] {
        let path = dir.path().join("k.jwk");
        std::fs::write(&path, jwk.to_json()).unwrap();
        let mut cfg = crate::support::base_config(&dir);
        cfg.access_token_encryption_jwk = Some(path);
        let err = tessera_server::spawn(cfg, clock.clone())
            .await
            .err()
            .unwrap()
            .to_string();
        assert!(
            err.contains("access_token_encryption_jwk") && err.contains(says),
            "{err}"
        );
    }
}

#[tokio::test]
async fn introspection_and_revocation_read_encrypted_tokens() {
    let dir = tempfile::tempdir().unwrap();
    let key = DecryptionKey::generate(KeyAlgorithm::A256Kw).unwrap();
    let path = key_file(&dir, &key);
    let t = TestServer::start_with(|c| c.access_token_encryption_jwk = Some(path)).await;
    let secret = "rs-secret-0123456789abcdefghijklmnopqrstuvwxyz";
    let grants = ["client_credentials".into(), "introspect".into()];
    let app = &t.server().state().app;
    app.clients
        .create("rs", secret, &[], &grants)
        .await
        .unwrap();
    let post = |path: &str, params: Vec<(&'static str, String)>| {
        send(
            t.req(Method::POST, path)
                .form(&params)
                .basic_auth("rs", Some(secret)),
        )
    };
    let r = post(
        "/oauth2/token",
        vec![("grant_type", "client_credentials".into())],
    )
    .await
    .expect(200);
    let token = r.str("access_token").to_owned();
    assert_eq!(token.split('.').count(), 5);
    let r = post("/oauth2/introspect", vec![("token", token.clone())])
        .await
        .expect(200);
    assert_eq!(r.body["active"], true, "{}", r.text);
    assert_eq!(r.body["client_id"], "rs", "{}", r.text);
    post("/oauth2/revoke", vec![("token", token.clone())])
        .await
        .expect(200);
    let r = post("/oauth2/introspect", vec![("token", token)])
        .await
        .expect(200);
    assert_eq!(r.body["active"], false, "{}", r.text);
}
