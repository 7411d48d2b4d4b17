//! Multi-factor authentication over HTTP (issue 17): enrolment under the
//! recent-authentication rule, `mfa_required` on login and the password
//! grant, `/v1/auth/mfa` in bearer and cookie mode, its clear 4xx answers,
//! required enrolment, the operator's reset, and the notices mailed.

use crate::lifecycle::mails;
use crate::support::{claims, send, Resp, TestServer, Tokens, PASSWORD};
use reqwest::Method;
use serde_json::{json, Value};
use tessera_core::mfa::totp;

async fn post_auth(t: &TestServer, path: &str, token: &str, body: &Value) -> Resp {
    send(t.req(Method::POST, path).bearer_auth(token).json(body)).await
}

fn now(t: &TestServer) -> i64 {
    tessera_jose::Clock::now(&*t.clock)
}

/// Enrols TOTP with the session's token; the secret and recovery codes.
pub(crate) async fn enrol(t: &TestServer, tokens: &Tokens) -> (Vec<u8>, Vec<String>) {
    let r = post_auth(t, "/v1/account/mfa/totp", &tokens.access, &json!({}))
        .await
        .expect(200);
    assert_eq!(r.header("cache-control"), "no-store");
    assert!(r.str("otpauth_uri").starts_with("otpauth://totp/Tessera:"));
    assert!(r.str("qr_svg").contains("<svg"));
    let secret = totp::base32_decode(r.str("secret")).unwrap();
    // Nothing counts yet.
    let st = t
        .get_auth("/v1/account/mfa", &tokens.access)
        .await
        .expect(200);
    assert_eq!(st.body["totp"], false);
    let code = totp::code_at(&secret, now(t));
    let r = post_auth(
        t,
        "/v1/account/mfa/totp/confirm",
        &tokens.access,
        &json!({ "code": code }),
    )
    .await
    .expect(200);
    let codes: Vec<String> = serde_json::from_value(r.body["recovery_codes"].clone()).unwrap();
    assert_eq!(codes.len(), 10);
    (secret, codes)
}

async fn mfa_required(t: &TestServer, email: &str, cookie: bool) -> String {
    let r = t
        .post(
            "/v1/auth/login",
            &json!({ "email": email, "password": PASSWORD, "cookie": cookie }),
        )
        .await
        .expect(403);
    assert_eq!(r.str("error"), "mfa_required");
    assert_eq!(r.body["methods"], json!(["totp", "recovery_code"]));
    assert_eq!(r.body["expires_in"], 300);
    assert!(r.body.get("access_token").is_none());
    r.str("mfa_token").to_owned()
}

#[tokio::test]
async fn enrol_then_sign_in_with_a_code() {
    let t = TestServer::start().await;
    let u = t.user("ada@example.com").await;
    assert_eq!(claims(&u.tokens.access)["amr"], json!(["pwd"]));
    let (secret, codes) = enrol(&t, &u.tokens).await;
    let st = t
        .get_auth("/v1/account/mfa", &u.tokens.access)
        .await
        .expect(200);
    assert_eq!(
        st.body,
        json!({"totp": true, "recovery_codes_left": 10, "passkeys": 0, "methods": ["totp", "recovery_code"]})
    );
    t.advance(60);
    let token = mfa_required(&t, "ada@example.com", false).await;
    let code = totp::code_at(&secret, now(&t));
    let r = t
        .post("/v1/auth/mfa", &json!({ "mfa_token": token, "totp": code }))
        .await
        .expect(200);
    assert_eq!(r.header("cache-control"), "no-store");
    let c = claims(r.str("access_token"));
    assert_eq!(c["amr"], json!(["pwd", "otp", "mfa"]));
    assert_eq!(c["auth_time"], now(&t));
    // Refresh keeps amr and auth_time.
    t.advance(100);
    let next = t.refresh_ok(r.str("refresh_token")).await;
    assert_eq!(claims(&next.access)["amr"], json!(["pwd", "otp", "mfa"]));
    assert_eq!(claims(&next.access)["auth_time"], c["auth_time"]);
    // The token is spent.
    t.post(
        "/v1/auth/mfa",
        &json!({ "mfa_token": token, "recovery_code": codes[0] }),
    )
    .await
    .expect_error(401, "invalid_mfa_token");
    // A recovery code works once, and mails a notice.
    let token = mfa_required(&t, "ada@example.com", false).await;
    t.post(
        "/v1/auth/mfa",
        &json!({ "mfa_token": token, "recovery_code": codes[0] }),
    )
    .await
    .expect(200);
    let token = mfa_required(&t, "ada@example.com", false).await;
    t.post(
        "/v1/auth/mfa",
        &json!({ "mfa_token": token, "recovery_code": codes[0] }),
    )
    .await
    .expect_error(401, "invalid_mfa_code");
    let sent = mails(&t).await;
    assert!(
        sent.iter()
            .any(|(n, _)| n.starts_with("recovery_code_used")),
        "{sent:?}"
    );
    assert!(
        sent.iter().any(|(n, _)| n.starts_with("mfa_changed")),
        "{sent:?}"
    );
}

#[tokio::test]
async fn the_second_step_answers_clear_errors() {
    let t = TestServer::start().await;
    let u = t.user("ada@example.com").await;
    let (secret, _) = enrol(&t, &u.tokens).await;
    let token = mfa_required(&t, "ada@example.com", false).await;
    t.post("/v1/auth/mfa", &json!({ "mfa_token": token }))
        .await
        .expect_error(400, "invalid_request");
    t.post(
        "/v1/auth/mfa",
        &json!({ "mfa_token": token, "totp": "123456", "recovery_code": "abcde-fghij" }),
    )
    .await
    .expect_error(400, "invalid_request");
    let r = t
        .post(
            "/v1/auth/mfa",
            &json!({ "mfa_token": token, "passkey": {"id": "x"} }),
        )
        .await
        .expect_error(400, "invalid_request");
    assert!(r.str("error_description").contains("passkey"));
    t.post(
        "/v1/auth/mfa",
        &json!({ "mfa_token": "nope", "totp": "123456" }),
    )
    .await
    .expect_error(401, "invalid_mfa_token");
    t.post(
        "/v1/auth/mfa",
        &json!({ "mfa_token": token, "totp": "000000" }),
    )
    .await
    .expect_error(401, "invalid_mfa_code");
    // Cookie mode must match the login's.
    let code = totp::code_at(&secret, now(&t));
    t.post(
        "/v1/auth/mfa",
        &json!({ "mfa_token": token, "totp": code, "cookie": true }),
    )
    .await
    .expect_error(400, "invalid_request");
    // Expired after five minutes.
    t.advance(301);
    let code = totp::code_at(&secret, now(&t));
    let r = t
        .post("/v1/auth/mfa", &json!({ "mfa_token": token, "totp": code }))
        .await
        .expect_error(401, "invalid_mfa_token");
    assert!(r.str("error_description").contains("expired"));
    // Junk bodies are 4xx.
    for body in [
        json!({}),
        json!([]),
        json!({"mfa_token": 5}),
        json!({"mfa_token": "a", "x": 1}),
    ] {
        let r = t.post("/v1/auth/mfa", &body).await;
        assert!(r.status.is_client_error(), "{body}: {}", r.text);
    }
}

#[tokio::test]
async fn cookie_mode_and_the_password_grant() {
    let t = TestServer::start().await;
    let u = t.user("ada@example.com").await;
    let (secret, _) = enrol(&t, &u.tokens).await;
    t.advance(30);
    let token = mfa_required(&t, "ada@example.com", true).await;
    let code = totp::code_at(&secret, now(&t));
    let r = t
        .post(
            "/v1/auth/mfa",
            &json!({ "mfa_token": token, "totp": code, "cookie": true }),
        )
        .await
        .expect(200);
    assert!(r.body.get("refresh_token").is_none());
    assert!(r.header("set-cookie").contains("tessera_refresh"));
    // The password grant answers mfa_required too, with no tokens.
    let r = send(t.req(Method::POST, "/oauth2/token").form(&[
        ("grant_type", "password"),
        ("username", "ada@example.com"),
        ("password", PASSWORD),
    ]))
    .await
    .expect(403);
    assert_eq!(r.str("error"), "mfa_required");
    assert!(r.body.get("access_token").is_none());
    let token = r.str("mfa_token").to_owned();
    t.advance(30);
    let code = totp::code_at(&secret, now(&t));
    t.post("/v1/auth/mfa", &json!({ "mfa_token": token, "totp": code }))
        .await
        .expect(200);
}

#[tokio::test]
async fn factor_changes_need_a_recent_sign_in() {
    let t = TestServer::start().await;
    let u = t.user("ada@example.com").await;
    t.advance(601);
    post_auth(&t, "/v1/account/mfa/totp", &u.tokens.access, &json!({}))
        .await
        .expect_error(403, "reauthentication_required");
    post_auth(
        &t,
        "/v1/account/mfa/totp",
        &u.tokens.access,
        &json!({ "current_password": "not the password" }),
    )
    .await
    .expect_error(401, "invalid_credentials");
    post_auth(
        &t,
        "/v1/account/mfa/totp",
        &u.tokens.access,
        &json!({ "current_password": PASSWORD }),
    )
    .await
    .expect(200);
    post_auth(
        &t,
        "/v1/account/mfa/recovery-codes",
        &u.tokens.access,
        &json!({}),
    )
    .await
    .expect_error(403, "reauthentication_required");
    post_auth(
        &t,
        "/v1/account/mfa/recovery-codes",
        &u.tokens.access,
        &json!({ "current_password": PASSWORD }),
    )
    .await
    .expect_error(404, "not_found");
    // A pending enrolment refuses a wrong code.
    post_auth(
        &t,
        "/v1/account/mfa/totp/confirm",
        &u.tokens.access,
        &json!({"code": "123456"}),
    )
    .await
    .expect_error(401, "invalid_mfa_code");
    // Nothing pending to confirm, nothing to remove.
    let bob = t.user("bob@example.com").await;
    post_auth(
        &t,
        "/v1/account/mfa/totp/confirm",
        &bob.tokens.access,
        &json!({"code": "123456"}),
    )
    .await
    .expect_error(404, "not_found");
    send(
        t.req(Method::DELETE, "/v1/account/mfa/totp")
            .bearer_auth(&bob.tokens.access)
            .json(&json!({})),
    )
    .await
    .expect_error(404, "not_found");
}

#[tokio::test]
async fn remove_regenerate_and_the_operators_reset() {
    let t = TestServer::start().await;
    let admin = t.admin("root@example.com").await;
    let u = t.user("ada@example.com").await;
    let (secret, old) = enrol(&t, &u.tokens).await;
    let r = post_auth(
        &t,
        "/v1/account/mfa/recovery-codes",
        &u.tokens.access,
        &json!({}),
    )
    .await
    .expect(200);
    let new: Vec<String> = serde_json::from_value(r.body["recovery_codes"].clone()).unwrap();
    assert_eq!(new.len(), 10);
    let token = mfa_required(&t, "ada@example.com", false).await;
    t.post(
        "/v1/auth/mfa",
        &json!({ "mfa_token": token, "recovery_code": old[1] }),
    )
    .await
    .expect_error(401, "invalid_mfa_code");
    // Remove with a code.
    t.advance(30);
    let code = totp::code_at(&secret, now(&t));
    send(
        t.req(Method::DELETE, "/v1/account/mfa/totp")
            .bearer_auth(&u.tokens.access)
            .json(&json!({ "code": code })),
    )
    .await
    .expect(204);
    t.login("ada@example.com").await;
    // Enrol again; the operator resets it.
    let fresh = t.login("ada@example.com").await;
    enrol(&t, &fresh).await;
    mfa_required(&t, "ada@example.com", false).await;
    let list = t
        .get_auth("/v1/admin/users", &admin.tokens.access)
        .await
        .expect(200);
    let users = list.body["users"].as_array().unwrap();
    let ada = users.iter().find(|v| v["id"] == u.id.as_str()).unwrap();
    assert_eq!(ada["mfa"], json!(["totp"]));
    let root = users.iter().find(|v| v["id"] == admin.id.as_str()).unwrap();
    assert_eq!(root["mfa"], json!([]));
    let path = format!("/v1/admin/users/{}/mfa/reset", u.id);
    t.post_auth(&path, &u.tokens.access)
        .await
        .expect_error(403, "insufficient_scope");
    t.post_auth(&path, &admin.tokens.access).await.expect(204);
    t.login("ada@example.com").await;
    let list = t
        .get_auth("/v1/admin/users", &admin.tokens.access)
        .await
        .expect(200);
    let users = list.body["users"].as_array().unwrap();
    let ada = users.iter().find(|v| v["id"] == u.id.as_str()).unwrap();
    assert_eq!(ada["mfa"], json!([]));
    // Enrolment again: no body, or a JSON null, is an empty request.
    t.post_auth("/v1/account/mfa/totp", &u.tokens.access)
        .await
        .expect(200);
    send(
        t.req(Method::POST, "/v1/account/mfa/totp")
            .bearer_auth(&u.tokens.access)
            .header("content-type", "application/json")
            .body("null"),
    )
    .await
    .expect(200);
    t.post_auth("/v1/admin/users/nobody/mfa/reset", &admin.tokens.access)
        .await
        .expect_error(404, "not_found");
    let audit = t
        .get_auth("/v1/admin/audit?limit=100", &admin.tokens.access)
        .await
        .expect(200);
    let text = audit.text;
    for e in [
        "mfa.enrolled",
        "mfa.removed",
        "mfa.reset",
        "mfa.recovery_codes_regenerated",
    ] {
        assert!(text.contains(e), "{e}");
    }
}

#[tokio::test]
async fn required_mfa_enrols_at_the_next_login() {
    let t = TestServer::start_with(|c| c.require_mfa = tessera_server::config::Flag(true)).await;
    t.register("ada@example.com").await;
    let r = t
        .post(
            "/v1/auth/login",
            &json!({ "email": "ada@example.com", "password": PASSWORD }),
        )
        .await
        .expect(403);
    assert_eq!(r.str("error"), "mfa_enrollment_required");
    let token = r.str("mfa_token").to_owned();
    t.post(
        "/v1/auth/mfa",
        &json!({ "mfa_token": token, "totp": "123456" }),
    )
    .await
    .expect_error(401, "invalid_mfa_token");
    let e = t
        .post("/v1/auth/mfa/totp", &json!({ "mfa_token": token }))
        .await
        .expect(200);
    let secret = totp::base32_decode(e.str("secret")).unwrap();
    let code = totp::code_at(&secret, now(&t));
    let r = t
        .post(
            "/v1/auth/mfa/totp/confirm",
            &json!({ "mfa_token": token, "code": code }),
        )
        .await
        .expect(200);
    assert_eq!(r.body["recovery_codes"].as_array().unwrap().len(), 10);
    assert_eq!(
        claims(r.str("access_token"))["amr"],
        json!(["pwd", "otp", "mfa"])
    );
    assert!(r.body["refresh_token"].is_string());
    mfa_required(&t, "ada@example.com", false).await;
}

/// A confidential client's password grant answered `mfa_required` is
/// completed at the token endpoint with the mfa grant, by that client only.
#[tokio::test]
async fn a_confidential_client_completes_the_password_grant_with_the_mfa_grant() {
    const MFA_GRANT: &str = "urn:tessera:params:oauth:grant-type:mfa";
    let t = TestServer::start().await;
    let u = t.user("ada@example.com").await;
    let (secret, codes) = enrol(&t, &u.tokens).await;
    let app = &t.server().state().app;
    let grants = ["password".to_owned(), "refresh_token".to_owned()];
    let cs = "c".repeat(32);
    app.clients.create("app", &cs, &[], &grants).await.unwrap();
    app.clients
        .create("other", &cs, &[], &grants)
        .await
        .unwrap();
    let basic = |id: &str, params: &[(&str, &str)]| {
        send(
            t.req(Method::POST, "/oauth2/token")
                .basic_auth(id, Some(&cs))
                .form(params),
        )
    };
    // Discovery lists the grant.
    let d = t
        .get("/.well-known/oauth-authorization-server")
        .await
        .expect(200);
    assert!(d.body["grant_types_supported"]
        .as_array()
        .unwrap()
        .contains(&json!(MFA_GRANT)));
    let login = [
        ("grant_type", "password"),
        ("username", "ada@example.com"),
        ("password", PASSWORD),
    ];
    let r = basic("app", &login).await.expect(403);
    assert_eq!(r.str("error"), "mfa_required");
    let token = r.str("mfa_token").to_owned();
    t.advance(30);
    let code = totp::code_at(&secret, now(&t));
    // Another client, or none, cannot spend it: the token is bound to `app`.
    let r = basic(
        "other",
        &[
            ("grant_type", MFA_GRANT),
            ("mfa_token", &token),
            ("otp", &code),
        ],
    )
    .await
    .expect(400);
    assert_eq!(r.str("error"), "invalid_request");
    t.post("/v1/auth/mfa", &json!({ "mfa_token": token, "totp": code }))
        .await
        .expect(400);
    // A wrong code is invalid_grant; a missing factor is invalid_request.
    let r = basic(
        "app",
        &[
            ("grant_type", MFA_GRANT),
            ("mfa_token", &token),
            ("otp", "000000"),
        ],
    )
    .await
    .expect(400);
    assert_eq!(r.str("error"), "invalid_grant");
    let r = basic("app", &[("grant_type", MFA_GRANT), ("mfa_token", &token)])
        .await
        .expect(400);
    assert_eq!(r.str("error"), "invalid_request");
    // The right client and code: the pair, with amr [pwd, otp, mfa].
    let r = basic(
        "app",
        &[
            ("grant_type", MFA_GRANT),
            ("mfa_token", &token),
            ("otp", &code),
        ],
    )
    .await
    .expect(200);
    assert!(r.body["refresh_token"].is_string());
    let c = claims(r.str("access_token"));
    assert_eq!(c["amr"], json!(["pwd", "otp", "mfa"]));
    // Spent: a replay is invalid_grant.
    let r = basic(
        "app",
        &[
            ("grant_type", MFA_GRANT),
            ("mfa_token", &token),
            ("otp", &code),
        ],
    )
    .await
    .expect(400);
    assert_eq!(r.str("error"), "invalid_grant");
    // A recovery code completes a new login the same way.
    let r = basic("app", &login).await.expect(403);
    let token = r.str("mfa_token").to_owned();
    basic(
        "app",
        &[
            ("grant_type", MFA_GRANT),
            ("mfa_token", &token),
            ("recovery_code", &codes[0]),
        ],
    )
    .await
    .expect(200);
}
