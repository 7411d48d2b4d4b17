//! The shared-secret mode (`signing_alg = "HS256"`, issue 18): tokens
//! signed with `hs_secret`, earlier secrets verifying during a rotation,
//! nothing secret published, and no HS/RS confusion in either mode.

use crate::support::{base_config, kid, send, TestServer};
use reqwest::Method;
use serde_json::{json, Value};
use tessera_jose::{b64, crypto, Algorithm, KeySet, SigningKey, Validation, VerifyingKey};

fn secret(byte: u8) -> Vec<u8> {
    vec![byte; 32]
}

fn hs(cfg: &mut tessera_server::config::Config, current: &[u8], previous: &[&[u8]]) {
    cfg.signing_alg = "HS256".into();
    cfg.hs_secret = Some(b64::encode(current));
    cfg.hs_previous_secrets.0 = previous.iter().map(|p| b64::encode(p)).collect();
}

/// Verifies `token` as a resource server holding only the shared secret.
async fn verify_with_secret(
    t: &TestServer,
    token: &str,
    secret: &[u8],
) -> tessera_jose::Result<tessera_jose::TokenData<Value>> {
    let keys: KeySet = [VerifyingKey::from_hmac_secret(Algorithm::HS256, secret).unwrap()]
        .into_iter()
        .collect();
    let validation = Validation::new(t.issuer().await, t.cfg.audience.clone()).require("sub");
    tessera_jose::decode::<Value>(token, &keys, &validation, &*t.clock)
}

/// `header.payload.HMAC-SHA256(key)`, with `payload` copied from a genuine token.
fn mac_token(header: &Value, genuine: &str, key: &[u8]) -> String {
    let payload = genuine.split('.').nth(1).unwrap();
    let input = format!("{}.{payload}", b64::encode(header.to_string().as_bytes()));
    let mac = crypto::hmac_sha256(key, input.as_bytes());
    format!("{input}.{}", b64::encode(&mac))
}

#[tokio::test]
async fn hs256_tokens_verify_with_the_secret_and_nothing_is_published() {
    let t = TestServer::start_with(|c| hs(c, &secret(1), &[])).await;
    let user = t.user("ada@x.io").await;
    let token = &user.tokens.access;
    let data = verify_with_secret(&t, token, &secret(1)).await.unwrap();
    assert_eq!(data.header.alg(), Algorithm::HS256);
    // The kid is the RFC 7638 thumbprint of the secret as an `oct` JWK.
    let oct = SigningKey::from_hmac_secret(Algorithm::HS256, &secret(1))
        .unwrap()
        .to_private_jwk()
        .unwrap();
    assert_eq!(kid(token), oct.thumbprint().unwrap());
    assert!(verify_with_secret(&t, token, &secret(2)).await.is_err());
    t.me(token).await.expect(200);

    // The JWKS never holds the secret; discovery says HS256.
    let r = t.get("/.well-known/jwks.json").await.expect(200);
    assert_eq!(r.body, json!({"keys": []}), "{}", r.text);
    assert!(!r.text.contains(&b64::encode(&secret(1))));
    let d = t.get("/.well-known/openid-configuration").await.expect(200);
    assert_eq!(
        d.body["access_token_signing_alg_values_supported"],
        json!(["HS256"])
    );
    // Clients could not verify HS ID tokens: no OpenID Connect here (the
    // plain code flow stays), and `openid` is refused.
    for absent in ["userinfo_endpoint", "id_token_signing_alg_values_supported"] {
        assert!(d.body.get(absent).is_none(), "{absent}: {}", d.text);
    }
    assert!(!d.text.contains("\"openid\""), "{}", d.text);
    let app = &t.server().state().app;
    let mut spa = tessera_core::oauth::ClientSpec::new("spa");
    spa.public = true;
    spa.redirect_uris = vec!["https://app.example/cb".into()];
    app.clients.register(&spa).await.unwrap();
    let ch = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";
    let p = [
        ("response_type", "code"),
        ("client_id", "spa"),
        ("scope", "openid"),
        ("code_challenge", ch),
        ("code_challenge_method", "S256"),
    ];
    let p = tessera_core::oidc::AuthorizeParams::from_lookup(|n| {
        p.iter().find(|(k, _)| *k == n).map(|(_, v)| *v)
    });
    let e = app.oidc.validate_authorize(&p).await.unwrap_err();
    assert_eq!(e.code(), "invalid_scope");

    // Keys come from configuration: rotation is refused, clearly.
    let admin = t.admin("root@x.io").await;
    let r = send(
        t.req(Method::POST, "/v1/admin/keys/rotate")
            .bearer_auth(&admin.tokens.access),
    )
    .await
    .expect_error(400, "invalid_request");
    assert!(
        r.str("error_description").contains("hs_previous_secrets"),
        "{}",
        r.text
    );
}

#[tokio::test]
async fn a_previous_secret_keeps_old_tokens_valid_during_a_rotation() {
    let mut t = TestServer::start_with(|c| hs(c, &secret(1), &[])).await;
    let old = t.user("ada@x.io").await.tokens.access;

    hs(&mut t.cfg, &secret(2), &[&secret(1)]);
    t.restart().await;
    t.me(&old).await.expect(200);
    let new = t.login("ada@x.io").await.access;
    assert_ne!(kid(&new), kid(&old));
    verify_with_secret(&t, &new, &secret(2)).await.unwrap();
    assert!(verify_with_secret(&t, &new, &secret(1)).await.is_err());

    // Once the old secret is dropped, its tokens stop verifying.
    hs(&mut t.cfg, &secret(2), &[]);
    t.restart().await;
    t.me(&old).await.expect_invalid_token();
    t.me(&new).await.expect(200);
}

#[tokio::test]
async fn a_missing_or_short_secret_stops_start_up() {
    let clock = std::sync::Arc::new(tessera_jose::ManualClock::new(crate::support::T0));
    for (alg, len) in [("HS256", 31), ("HS384", 47), ("HS512", 63)] {
        let dir = tempfile::tempdir().unwrap();
        let mut cfg = base_config(&dir);
        cfg.signing_alg = alg.into();
        cfg.hs_secret = Some(b64::encode(&vec![3u8; len]));
        let err = tessera_server::spawn(cfg.clone(), clock.clone())
            .await
            .err()
            .unwrap();
        assert!(err.to_string().contains("hs_secret"), "{err}");
        cfg.hs_secret = None;
        let err = tessera_server::spawn(cfg, clock.clone())
            .await
            .err()
            .unwrap();
        assert!(err.to_string().contains("required"), "{err}");
    }
}

/// HS/RS confusion, both modes: an HS256 token MACed with the published
/// public key is refused by the asymmetric server; after the switch to HS
/// mode, the old public key is still no HMAC key, and a token whose header
/// names an asymmetric algorithm is refused even when MACed with the secret.
#[tokio::test]
async fn hs_and_asymmetric_algorithms_are_never_confused() {
    let mut t = TestServer::start().await;
    let genuine = t.user("ada@x.io").await.tokens.access;
    let jwks = t.jwks().await;
    let public = VerifyingKey::from_jwk(&jwks.keys[0], None).unwrap();
    let forms = [
        public.to_spki_pem().unwrap().into_bytes(),
        public.to_spki_der().unwrap(),
        jwks.keys[0].to_json().into_bytes(),
    ];
    let es_kid = kid(&genuine);
    for key in &forms {
        for h in [
            json!({"alg": "HS256", "typ": "at+jwt", "kid": es_kid}),
            json!({"alg": "HS256", "typ": "at+jwt"}),
        ] {
            t.me(&mac_token(&h, &genuine, key))
                .await
                .expect_invalid_token();
        }
    }

    hs(&mut t.cfg, &secret(5), &[]);
    t.restart().await;
    let genuine = t.login("ada@x.io").await.access;
    let hs_kid = kid(&genuine);
    // Control: the same construction with the real secret and header is accepted.
    let ok = json!({"alg": "HS256", "typ": "at+jwt", "kid": hs_kid});
    t.me(&mac_token(&ok, &genuine, &secret(5)))
        .await
        .expect(200);
    for key in &forms {
        for k in [&hs_kid, &es_kid] {
            let h = json!({"alg": "HS256", "typ": "at+jwt", "kid": k});
            t.me(&mac_token(&h, &genuine, key))
                .await
                .expect_invalid_token();
        }
    }
    for alg in ["RS256", "ES256", "PS256", "EdDSA"] {
        let h = json!({"alg": alg, "typ": "at+jwt", "kid": hs_kid});
        t.me(&mac_token(&h, &genuine, &secret(5)))
            .await
            .expect_invalid_token();
    }
    // A token the old ES key signed is refused in HS mode (its key is no longer trusted).
    let es = SigningKey::generate(Algorithm::ES256)
        .unwrap()
        .with_kid(hs_kid.clone());
    let claims = crate::support::claims(&genuine);
    let forged = tessera_jose::encode(&es, Some(tessera_jose::ACCESS_TOKEN_TYP), &claims).unwrap();
    t.me(&forged).await.expect_invalid_token();
}
