//! Passkeys over HTTP: the refusals. Every bad input is a JSON 4xx: junk
//! credentials, unknown, reused, expired or someone else's ceremonies,
//! passkeys of nobody. (The ceremonies with a real authenticator run in
//! Chromium: web/test/browser/passkey.test.js.)

use crate::support::{assert_error_shape, TestServer};
use serde_json::{json, Value};

/// A server whose relying party is `localhost` (no IP address can be one).
async fn server() -> TestServer {
    TestServer::start_with(|c| {
        c.webauthn_rp_id = Some("localhost".into());
        c.webauthn_origins =
            serde_json::from_value(json!(["http://localhost:8080"])).expect("origins");
    })
    .await
}

/// An assertion that parses as a `PublicKeyCredential` but was made by no
/// authenticator.
fn junk_assertion() -> Value {
    let b = |s: &str| tessera_jose::b64::encode(s.as_bytes());
    json!({
        "id": b("credential"),
        "rawId": b("credential"),
        "type": "public-key",
        "response": {
            "authenticatorData": b("authenticator data"),
            "clientDataJSON": b("{}"),
            "signature": b("signature"),
            "userHandle": tessera_jose::b64::encode(&[1u8; 16]),
        },
        "extensions": {},
    })
}

#[tokio::test]
async fn the_options_name_the_relying_party_and_a_single_use_ceremony() {
    let t = server().await;
    let u = t.user("ada@example.com").await;
    let a = &u.tokens;
    let r = t
        .post_auth("/v1/account/passkeys/options", &a.access)
        .await
        .expect(200);
    let o: Value = serde_json::from_str(&r.text).unwrap();
    assert_eq!(o["publicKey"]["rp"]["id"], "localhost");
    assert_eq!(
        o["publicKey"]["authenticatorSelection"]["residentKey"],
        "required"
    );
    assert_eq!(
        o["publicKey"]["authenticatorSelection"]["userVerification"],
        "required"
    );
    assert_eq!(o["ceremony"].as_str().unwrap().len(), 43);
    assert_eq!(r.header("cache-control"), "no-store");
    // The user handle is not the account id.
    let handle = o["publicKey"]["user"]["id"].as_str().unwrap();
    assert_ne!(handle, tessera_jose::b64::encode(u.id.as_bytes()));

    let s = t
        .post("/v1/auth/passkey/options", &json!({}))
        .await
        .expect(200);
    let o: Value = serde_json::from_str(&s.text).unwrap();
    assert_eq!(o["publicKey"]["rpId"], "localhost");
    assert_eq!(o["publicKey"]["userVerification"], "required");
    assert!(o.get("mediation").is_none());
}

#[tokio::test]
async fn junk_unknown_reused_and_expired_ceremonies_are_4xx() {
    let t = server().await;
    let o: Value = serde_json::from_str(
        &t.post("/v1/auth/passkey/options", &json!({}))
            .await
            .expect(200)
            .text,
    )
    .unwrap();
    let ceremony = o["ceremony"].as_str().unwrap().to_owned();

    // A credential that is not WebAuthn JSON: 400, and the ceremony survives.
    for bad in [
        json!({}),
        json!("x"),
        json!({"id": 1}),
        json!(null),
        json!([]),
    ] {
        let r = t
            .post(
                "/v1/auth/passkey",
                &json!({"ceremony": ceremony, "credential": bad}),
            )
            .await
            .expect(400);
        assert_error_shape(&r);
        assert!(
            r.str("error_description").contains("credential"),
            "{}",
            r.text
        );
    }
    // Not JSON at all, or the wrong shape.
    t.post("/v1/auth/passkey", &json!({"ceremony": ceremony}))
        .await
        .expect(400);
    t.post("/v1/auth/passkey", &json!({"credential": junk_assertion()}))
        .await
        .expect(400);

    // An unknown ceremony id (well-formed or not).
    for unknown in ["A".repeat(43), "short".into(), "\0".repeat(43)] {
        let r = t
            .post(
                "/v1/auth/passkey",
                &json!({"ceremony": unknown, "credential": junk_assertion()}),
            )
            .await
            .expect(400);
        assert!(
            r.str("error_description").contains("ceremony"),
            "{}",
            r.text
        );
    }

    // A parseable assertion of no registered passkey: 401, like a bad
    // password, and the ceremony is spent.
    let r = t
        .post(
            "/v1/auth/passkey",
            &json!({"ceremony": ceremony, "credential": junk_assertion()}),
        )
        .await
        .expect_error(401, "invalid_credentials");
    assert_error_shape(&r);
    let r = t
        .post(
            "/v1/auth/passkey",
            &json!({"ceremony": ceremony, "credential": junk_assertion()}),
        )
        .await
        .expect(400);
    assert!(
        r.str("error_description").contains("ceremony"),
        "reused: {}",
        r.text
    );

    // A ceremony expires after five minutes.
    let o: Value = serde_json::from_str(
        &t.post("/v1/auth/passkey/options", &json!({}))
            .await
            .expect(200)
            .text,
    )
    .unwrap();
    t.advance(301);
    let r = t
        .post(
            "/v1/auth/passkey",
            &json!({"ceremony": o["ceremony"], "credential": junk_assertion()}),
        )
        .await
        .expect(400);
    assert!(
        r.str("error_description").contains("ceremony"),
        "expired: {}",
        r.text
    );
}

#[tokio::test]
async fn registration_refuses_junk_and_other_ceremonies() {
    let t = server().await;
    t.register("ada@example.com").await;
    t.register("bob@example.com").await;
    let ada = t.login("ada@example.com").await;
    let bob = t.login("bob@example.com").await;
    let opts = |tok: String| {
        let t = &t;
        async move {
            let r = t
                .post_auth("/v1/account/passkeys/options", &tok)
                .await
                .expect(200);
            serde_json::from_str::<Value>(&r.text).unwrap()["ceremony"]
                .as_str()
                .unwrap()
                .to_owned()
        }
    };
    let post = |tok: String, body: Value| {
        let t = &t;
        async move {
            crate::support::send(
                t.req(reqwest::Method::POST, "/v1/account/passkeys")
                    .bearer_auth(tok)
                    .json(&body),
            )
            .await
        }
    };
    let c = opts(ada.access.clone()).await;
    // Junk credential, an over-long name, an unknown ceremony.
    let r = post(
        ada.access.clone(),
        json!({"ceremony": c, "credential": {"id": "x"}}),
    )
    .await;
    assert_error_shape(&r.expect(400));
    let long = "n".repeat(65);
    let r = post(
        ada.access.clone(),
        json!({"ceremony": c, "credential": {}, "name": long}),
    )
    .await;
    assert!(r.expect(400).str("error_description").contains("64"));
    // Bob cannot finish Ada's ceremony; and it is spent for Ada after that.
    let cred = json!({
        "id": "eA", "rawId": "eA", "type": "public-key",
        "response": {"attestationObject": "eA", "clientDataJSON": "e30"},
        "extensions": {}
    });
    let r = post(
        bob.access.clone(),
        json!({"ceremony": c, "credential": cred}),
    )
    .await;
    assert!(r.expect(400).str("error_description").contains("ceremony"));
    let r = post(
        ada.access.clone(),
        json!({"ceremony": c, "credential": cred}),
    )
    .await;
    assert!(r.expect(400).str("error_description").contains("ceremony"));
    // Ada's own fresh ceremony with an attestation that does not verify.
    let c = opts(ada.access.clone()).await;
    let r = post(
        ada.access.clone(),
        json!({"ceremony": c, "credential": cred}),
    )
    .await;
    assert!(r
        .expect(400)
        .str("error_description")
        .contains("credential"));

    // Nothing was registered; removing what does not exist is 404.
    let r = t
        .get_auth("/v1/account/passkeys", &ada.access)
        .await
        .expect(200);
    assert_eq!(
        serde_json::from_str::<Value>(&r.text).unwrap(),
        json!({"passkeys": []})
    );
    t.delete_auth("/v1/account/passkeys/nope", &ada.access)
        .await
        .expect(404);
    // Without a token: 401.
    t.post("/v1/account/passkeys/options", &json!({}))
        .await
        .expect(401);
}

#[tokio::test]
async fn passkeys_are_off_when_the_issuer_is_an_ip_address() {
    let t = TestServer::start().await;
    let r = t
        .post("/v1/auth/passkey/options", &json!({}))
        .await
        .expect(403);
    assert_error_shape(&r);
    assert!(
        r.str("error_description").contains("webauthn_rp_id"),
        "{}",
        r.text
    );
    // The rest of the server works as before.
    let a = t.user("ada@example.com").await.tokens;
    t.post_auth("/v1/account/passkeys/options", &a.access)
        .await
        .expect(403);
    t.get_auth("/v1/account/passkeys", &a.access)
        .await
        .expect(200);
}

#[tokio::test]
async fn a_bad_relying_party_stops_start_up() {
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = crate::support::base_config(&dir);
    cfg.webauthn_rp_id = Some("example.com".into());
    cfg.webauthn_origins = serde_json::from_value(json!(["https://auth.other.org"])).unwrap();
    let clock = std::sync::Arc::new(tessera_jose::ManualClock::new(1_800_000_000));
    let e = tessera_server::build_state(cfg, clock)
        .await
        .err()
        .expect("refused");
    assert!(e.to_string().contains("webauthn_rp_id"), "{e}");
}

#[tokio::test]
async fn passwordless_sign_ins_started_are_rate_limited_per_address() {
    let t = TestServer::start_with(|c| {
        c.webauthn_rp_id = Some("localhost".into());
        c.webauthn_origins =
            serde_json::from_value(json!(["http://localhost:8080"])).expect("origins");
        c.passkey_rate_per_minute = 2;
    })
    .await;
    for _ in 0..2 {
        t.post("/v1/auth/passkey/options", &json!({}))
            .await
            .expect(200);
    }
    let r = t
        .post("/v1/auth/passkey/options", &json!({}))
        .await
        .expect(429);
    assert_error_shape(&r);
    let wait: u64 = r.header("retry-after").parse().expect("Retry-After");
    assert!((1..=60).contains(&wait), "{wait}");
    // The bucket refills with time.
    t.advance(60);
    t.post("/v1/auth/passkey/options", &json!({}))
        .await
        .expect(200);
}
