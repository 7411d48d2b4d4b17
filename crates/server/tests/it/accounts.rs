//! Registration and login.

use crate::support::{claims, kid, TestServer, PASSWORD, T0};
use serde_json::json;
use tessera_server::config::Registration;

#[tokio::test]
async fn register_returns_the_user() {
    let t = TestServer::start().await;
    let r = t
        .post(
            "/v1/auth/register",
            &json!({ "email": "ada@example.org", "password": PASSWORD }),
        )
        .await
        .expect(201);
    assert!(r.header("content-type").starts_with("application/json"));
    assert_eq!(r.str("email"), "ada@example.org");
    assert_eq!(r.body["roles"], json!([]));
    assert!(r.str("id").len() >= 16, "{}", r.text);
    assert!(
        r.body.get("password").is_none() && r.body.get("password_hash").is_none(),
        "{}",
        r.text
    );
    // The id is the one the token and /v1/me report.
    let tokens = t.login("ada@example.org").await;
    assert_eq!(claims(&tokens.access)["sub"], r.body["id"]);
    let me = t.me(&tokens.access).await.expect(200);
    assert_eq!(me.body["id"], r.body["id"]);
}

#[tokio::test]
async fn emails_are_trimmed_and_case_insensitive() {
    let t = TestServer::start().await;
    let r = t
        .post(
            "/v1/auth/register",
            &json!({ "email": " Ada@X.io ", "password": PASSWORD }),
        )
        .await
        .expect(201);
    assert_eq!(r.str("email"), "ada@x.io");
    for dup in ["ada@x.io", "ADA@X.IO", "  ada@x.io\t"] {
        let r = t
            .post(
                "/v1/auth/register",
                &json!({ "email": dup, "password": "another password" }),
            )
            .await
            .expect_error(409, "email_taken");
        assert!(!r.str("error_description").is_empty());
    }
    // Login accepts any spelling of the same address.
    for spelling in ["ada@x.io", " ADA@x.IO "] {
        t.post(
            "/v1/auth/login",
            &json!({ "email": spelling, "password": PASSWORD }),
        )
        .await
        .expect(200);
    }
}

#[tokio::test]
async fn password_length_is_8_to_1024_characters() {
    let t = TestServer::start().await;
    // A non-dictionary password of `n` characters.
    let pw = |n: usize| "Tq7#mZ2p".chars().cycle().take(n).collect::<String>();
    let cases = [
        ("short@x.io", pw(7), 400),
        ("empty@x.io", String::new(), 400),
        ("eight@x.io", pw(8), 201),
        ("max@x.io", pw(1024), 201),
        ("long@x.io", pw(1025), 400),
        // Characters, not bytes: 8 two-byte characters are enough.
        ("utf8@x.io", "é".repeat(8), 201),
        ("utf8short@x.io", "é".repeat(7), 400),
    ];
    for (email, pw, status) in cases {
        let r = t
            .post(
                "/v1/auth/register",
                &json!({ "email": email, "password": pw }),
            )
            .await
            .expect(status);
        if status == 400 {
            assert_eq!(r.str("error"), "invalid_request");
            assert!(
                r.str("error_description").contains("password"),
                "{}",
                r.text
            );
        }
    }
    // A refused registration created nothing.
    t.post(
        "/v1/auth/register",
        &json!({ "email": "short@x.io", "password": PASSWORD }),
    )
    .await
    .expect(201);
}

#[tokio::test]
async fn common_breached_passwords_are_refused() {
    let t = TestServer::start().await;
    for common in ["password", "Password123", "xxxxxxxx"] {
        let r = t
            .post(
                "/v1/auth/register",
                &json!({ "email": "ada@x.io", "password": common }),
            )
            .await
            .expect_error(400, "invalid_request");
        assert!(r.str("error_description").contains("common"), "{}", r.text);
    }
    t.register("ada@x.io").await;
}

#[tokio::test]
async fn malformed_emails_are_refused() {
    let t = TestServer::start().await;
    for email in [
        "",
        "   ",
        "no-at-sign",
        "@x.io",
        "ada@",
        "ada@.io",
        "ada@x.",
        "a da@x.io",
    ] {
        let r = t
            .post(
                "/v1/auth/register",
                &json!({ "email": email, "password": PASSWORD }),
            )
            .await
            .expect_error(400, "invalid_request");
        assert!(
            r.str("error_description").contains("email"),
            "{email}: {}",
            r.text
        );
    }
    let long = format!("{}@x.io", "a".repeat(250));
    t.post(
        "/v1/auth/register",
        &json!({ "email": long, "password": PASSWORD }),
    )
    .await
    .expect_error(400, "invalid_request");
}

#[tokio::test]
async fn closed_registration_is_403() {
    let t = TestServer::start_with(|c| c.registration = Registration::Closed).await;
    let r = t
        .post(
            "/v1/auth/register",
            &json!({ "email": "ada@x.io", "password": PASSWORD }),
        )
        .await
        .expect_error(403, "registration_closed");
    assert!(!r.str("error_description").is_empty());
    // Operators can still create users through the core, and they can log in.
    t.server()
        .state()
        .app
        .accounts
        .create_user("ada@x.io", PASSWORD, &[])
        .await
        .unwrap();
    t.login("ada@x.io").await;
}

#[tokio::test]
async fn login_returns_a_token_pair_that_is_never_cached() {
    let t = TestServer::start().await;
    t.register("ada@x.io").await;
    let r = t
        .post(
            "/v1/auth/login",
            &json!({ "email": "ada@x.io", "password": PASSWORD }),
        )
        .await
        .expect(200);
    assert_eq!(r.header("cache-control"), "no-store");
    assert_eq!(r.header("pragma"), "no-cache");
    let b = &r.body;
    assert_eq!(b.as_object().unwrap().len(), 5, "{}", r.text);
    assert_eq!(b["token_type"], "Bearer");
    assert_eq!(b["expires_in"], 900);
    assert_eq!(b["refresh_token_expires_in"], 7 * 86_400, "idle ttl first");
    let rt = r.str("refresh_token");
    assert!(rt.starts_with("tsr_"), "{rt}");
    assert_eq!(rt.len(), 4 + 75);
    assert_eq!(r.str("access_token").split('.').count(), 3);
    // Each login is a new session with new tokens.
    let again = t.login("ada@x.io").await;
    assert_ne!(again.refresh, rt);
    assert_ne!(again.sid(), claims(r.str("access_token"))["sid"]);
}

#[tokio::test]
async fn wrong_password_and_unknown_email_look_identical() {
    let t = TestServer::start().await;
    t.register("ada@x.io").await;
    let wrong = t
        .post(
            "/v1/auth/login",
            &json!({ "email": "ada@x.io", "password": "not the password" }),
        )
        .await
        .expect_error(401, "invalid_credentials");
    let unknown = t
        .post(
            "/v1/auth/login",
            &json!({ "email": "nobody@x.io", "password": "not the password" }),
        )
        .await
        .expect_error(401, "invalid_credentials");
    let malformed = t
        .post(
            "/v1/auth/login",
            &json!({ "email": "not an email", "password": "not the password" }),
        )
        .await
        .expect_error(401, "invalid_credentials");
    assert_eq!(wrong.text, unknown.text);
    assert_eq!(wrong.text, malformed.text);
    assert_eq!(wrong.headers.get("www-authenticate"), None);
    assert_eq!(
        unknown.headers.get("www-authenticate"),
        wrong.headers.get("www-authenticate")
    );
    assert_eq!(wrong.header("cache-control"), "no-store");
    // A short password at login is just a wrong password, not a 400.
    t.post(
        "/v1/auth/login",
        &json!({ "email": "ada@x.io", "password": "x" }),
    )
    .await
    .expect_error(401, "invalid_credentials");
}

#[tokio::test]
async fn repeated_login_failures_are_throttled_per_account() {
    let t = TestServer::start().await;
    t.register("ada@x.io").await;
    let bad = json!({ "email": "ada@x.io", "password": "not the password" });
    for _ in 0..5 {
        t.post("/v1/auth/login", &bad)
            .await
            .expect_error(401, "invalid_credentials");
    }
    // The sixth failure starts the backoff; then even the right password waits.
    t.post("/v1/auth/login", &bad)
        .await
        .expect_error(401, "invalid_credentials");
    let r = t
        .post(
            "/v1/auth/login",
            &json!({ "email": "ada@x.io", "password": PASSWORD }),
        )
        .await
        .expect_error(429, "too_many_requests");
    assert_eq!(
        r.header("retry-after"),
        "1",
        "the first delay is login_backoff_base"
    );
    // An unknown account is not slowed down by another account's failures.
    t.post(
        "/v1/auth/login",
        &json!({ "email": "nobody@x.io", "password": "not the password" }),
    )
    .await
    .expect_error(401, "invalid_credentials");
    t.advance(1);
    t.login("ada@x.io").await;
}

#[tokio::test]
async fn access_token_header_and_claims() {
    let t = TestServer::start().await;
    let reg = t.register("ada@x.io").await;
    let tokens = t.login("ada@x.io").await;
    let p = crate::support::parts(&tokens.access);
    assert_eq!(p.header_json["typ"], "at+jwt");
    assert_eq!(p.header_json["alg"], "ES256");
    let k = kid(&tokens.access);
    assert!(!k.is_empty());
    let jwks = t.jwks().await;
    let jwk = jwks.find(&k).expect("the token's kid is in the JWKS");
    assert_eq!(jwk.alg.as_deref(), Some("ES256"));

    let c = &p.payload;
    assert_eq!(c["iss"], t.issuer().await);
    assert_eq!(c["sub"], reg["id"]);
    assert_eq!(c["aud"], "tessera");
    assert_eq!(c["iat"], T0);
    assert_eq!(c["exp"], T0 + 900);
    assert!(c["jti"].as_str().unwrap().len() >= 16);
    assert_eq!(c["sid"].as_str().unwrap(), tokens.sid());
    assert_eq!(c["roles"], json!([]));
    assert!(c.get("scope").is_none() && c.get("client_id").is_none());

    // Properly verified against the live JWKS.
    let data = t.verify(&tokens.access).await.unwrap();
    assert_eq!(data.header.typ(), Some("at+jwt"));
    assert_eq!(data.header.kid(), Some(k.as_str()));
    assert_eq!(data.claims, *c);
    assert_eq!(data.registered.sub.as_deref(), reg["id"].as_str());

    // A token signed by another server's key is refused.
    let other = TestServer::start().await;
    other.register("ada@x.io").await;
    let foreign = other.login("ada@x.io").await;
    assert!(t.verify(&foreign.access).await.is_err());
    t.me(&foreign.access).await.expect_invalid_token();

    // Two logins get distinct token ids.
    let again = t.login("ada@x.io").await;
    assert_ne!(claims(&again.access)["jti"], c["jti"]);
}

#[tokio::test]
async fn registration_is_rate_limited_per_ip() {
    let t = TestServer::start_with(|c| c.register_rate_per_minute = 2).await;
    t.register("a@x.io").await;
    t.register("b@x.io").await;
    let r = t
        .post(
            "/v1/auth/register",
            &json!({ "email": "c@x.io", "password": PASSWORD }),
        )
        .await
        .expect_error(429, "too_many_requests");
    assert_eq!(r.header("retry-after"), "30");
    t.advance(30);
    t.register("c@x.io").await;
}
